/// The part of an RTMP connection both ends share once the handshake is done: chunking in
/// both directions plus the protocol control messages that need no decision from the
/// application — acknowledgements when the peer's window is passed, ping responses, the
/// peer's chunk size, window and bandwidth. Other messages are handed up.
struct RTMPMessageLayer: Sendable {
    var reader: RTMPChunkReader
    var writer = RTMPChunkWriter()
    private(set) var bytesReceived: UInt64 = 0
    private var lastAcknowledged: UInt64 = 0
    private(set) var peerWindowAckSize: UInt32 = 0
    private(set) var peerBandwidth: UInt32 = 0

    init(limits: RTMPChunkReader.Limits = .init()) {
        reader = RTMPChunkReader(limits: limits)
    }

    mutating func send(_ message: RTMPMessage, into out: inout [UInt8]) {
        writer.write(message, into: &out)
    }

    /// Sends Set Chunk Size and switches the writer to it.
    mutating func sendChunkSize(_ size: Int, into out: inout [UInt8]) {
        writer.write(RTMPControl.setChunkSize(UInt32(size)), into: &out)
        writer.setChunkSize(size)
    }

    /// Feeds received bytes; control replies go to `out`, application messages are returned.
    mutating func receive<C: Collection>(_ bytes: C, replies out: inout [UInt8]) throws(RTMPError) -> [RTMPMessage] where C.Element == UInt8 {
        bytesReceived += UInt64(bytes.count)
        let messages = try reader.feed(bytes)
        var upward: [RTMPMessage] = []
        for message in messages {
            switch message.typeID {
            case RTMPMessageType.setChunkSize, RTMPMessageType.abort, RTMPMessageType.acknowledgement:
                break  // chunk size and abort were applied by the reader; acks need no answer
            case RTMPMessageType.windowAckSize:
                if let size = RTMPControl.readBE32(message.payload) { peerWindowAckSize = size }
            case RTMPMessageType.setPeerBandwidth:
                if let size = RTMPControl.readBE32(message.payload) { peerBandwidth = size }
            case RTMPMessageType.userControl:
                var c = ByteCursor(message.payload)
                if let event = c.u16(), event == RTMPControl.UserControlEvent.pingRequest, let value = c.u32() {
                    writer.write(RTMPControl.userControl(event: RTMPControl.UserControlEvent.pingResponse, value: value), into: &out)
                } else {
                    upward.append(message)
                }
            default:
                upward.append(message)
            }
        }
        // Acknowledge once the bytes since the last acknowledgement pass the peer's window.
        if peerWindowAckSize > 0, bytesReceived - lastAcknowledged >= UInt64(peerWindowAckSize) {
            lastAcknowledged = bytesReceived
            writer.write(RTMPControl.acknowledgement(UInt32(truncatingIfNeeded: bytesReceived)), into: &out)
        }
        return upward
    }
}

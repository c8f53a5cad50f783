/// One RTMP message, before chunking / after reassembly.
public struct RTMPMessage: Sendable, Equatable {
    public var chunkStreamID: UInt32
    public var timestamp: UInt32
    public var typeID: UInt8
    public var messageStreamID: UInt32
    public var payload: [UInt8]

    public init(chunkStreamID: UInt32, timestamp: UInt32, typeID: UInt8, messageStreamID: UInt32, payload: [UInt8]) {
        self.chunkStreamID = chunkStreamID
        self.timestamp = timestamp
        self.typeID = typeID
        self.messageStreamID = messageStreamID
        self.payload = payload
    }
}

/// Message type ids (RTMP spec section 5.4 and 7.1).
public enum RTMPMessageType {
    public static let setChunkSize: UInt8 = 1
    public static let abort: UInt8 = 2
    public static let acknowledgement: UInt8 = 3
    public static let userControl: UInt8 = 4
    public static let windowAckSize: UInt8 = 5
    public static let setPeerBandwidth: UInt8 = 6
    public static let audio: UInt8 = 8
    public static let video: UInt8 = 9
    public static let dataAMF3: UInt8 = 15
    public static let commandAMF3: UInt8 = 17
    public static let dataAMF0: UInt8 = 18
    public static let commandAMF0: UInt8 = 20
}

/// The chunk stream ids this implementation sends on (any 2…65599 is legal).
public enum RTMPChunkStream {
    public static let control: UInt32 = 2
    public static let command: UInt32 = 3
    public static let audio: UInt32 = 4
    public static let streamCommand: UInt32 = 5
    public static let video: UInt32 = 6
}

/// Protocol control and user control messages (RTMP spec 5.4, 6.2), built and parsed.
public enum RTMPControl {
    public static func setChunkSize(_ size: UInt32) -> RTMPMessage {
        control(RTMPMessageType.setChunkSize, be32(size & 0x7FFF_FFFF))
    }
    public static func acknowledgement(_ sequence: UInt32) -> RTMPMessage {
        control(RTMPMessageType.acknowledgement, be32(sequence))
    }
    public static func windowAckSize(_ size: UInt32) -> RTMPMessage {
        control(RTMPMessageType.windowAckSize, be32(size))
    }
    /// limitType: 0 hard, 1 soft, 2 dynamic.
    public static func setPeerBandwidth(_ size: UInt32, limitType: UInt8 = 2) -> RTMPMessage {
        control(RTMPMessageType.setPeerBandwidth, be32(size) + [limitType])
    }
    public static func userControl(event: UInt16, value: UInt32) -> RTMPMessage {
        var payload: [UInt8] = []
        payload.appendBE16(event); payload.appendBE32(value)
        return control(RTMPMessageType.userControl, payload)
    }

    public enum UserControlEvent {
        public static let streamBegin: UInt16 = 0
        public static let streamEOF: UInt16 = 1
        public static let pingRequest: UInt16 = 6
        public static let pingResponse: UInt16 = 7
    }

    static func control(_ type: UInt8, _ payload: [UInt8]) -> RTMPMessage {
        RTMPMessage(chunkStreamID: RTMPChunkStream.control, timestamp: 0, typeID: type, messageStreamID: 0, payload: payload)
    }

    static func be32(_ v: UInt32) -> [UInt8] { var a: [UInt8] = []; a.appendBE32(v); return a }

    static func readBE32(_ payload: [UInt8]) -> UInt32? {
        var c = ByteCursor(payload)
        return c.u32()
    }
}

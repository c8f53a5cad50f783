/// Splits RTMP messages into chunks. Chooses the smallest correct message header per chunk
/// stream: fmt 0 for the first message (or when the message stream changes or time goes
/// back), fmt 1 when length or type changed, fmt 2 when only the timestamp moved; fmt 3 for
/// continuation chunks. Timestamps (or deltas) ≥ 0xFFFFFF use the extended field, which is
/// repeated on fmt 3 continuation chunks as FFmpeg and librtmp expect.
public struct RTMPChunkWriter: Sendable {
    public private(set) var chunkSize: Int = 128

    private struct Previous {
        var timestamp: UInt32
        var length: Int
        var typeID: UInt8
        var messageStreamID: UInt32
    }
    private var previous: [UInt32: Previous] = [:]

    public init() {}

    /// Changes the size used for chunks written from now on. Send `RTMPControl.setChunkSize`
    /// with the same value *before* calling this (the peer must learn it first).
    public mutating func setChunkSize(_ size: Int) {
        chunkSize = max(1, min(size, 0x7FFF_FFFF))
    }

    public mutating func write(_ message: RTMPMessage, into out: inout [UInt8]) {
        let csid = message.chunkStreamID
        let length = message.payload.count
        var fmt: UInt8 = 0
        var timeField = message.timestamp
        if let prev = previous[csid], prev.messageStreamID == message.messageStreamID, message.timestamp >= prev.timestamp {
            timeField = message.timestamp - prev.timestamp
            fmt = (prev.length == length && prev.typeID == message.typeID) ? 2 : 1
        }
        let extended = timeField >= 0xFFFFFF
        previous[csid] = Previous(timestamp: message.timestamp, length: length, typeID: message.typeID, messageStreamID: message.messageStreamID)

        out.reserveCapacity(out.count + length + 18 + (length / chunkSize) * (extended ? 7 : 3))
        Self.basicHeader(fmt: fmt, csid: csid, into: &out)
        out.appendBE24(extended ? 0xFFFFFF : timeField)
        if fmt <= 1 {
            out.appendBE24(UInt32(length))
            out.append(message.typeID)
        }
        if fmt == 0 { out.appendLE32(message.messageStreamID) }
        if extended { out.appendBE32(timeField) }

        var offset = 0
        repeat {
            let n = min(chunkSize, length - offset)
            out.append(contentsOf: message.payload[offset..<offset + n])
            offset += n
            if offset < length {
                Self.basicHeader(fmt: 3, csid: csid, into: &out)
                if extended { out.appendBE32(timeField) }
            }
        } while offset < length
    }

    public mutating func write(_ message: RTMPMessage) -> [UInt8] {
        var out: [UInt8] = []
        write(message, into: &out)
        return out
    }

    static func basicHeader(fmt: UInt8, csid: UInt32, into out: inout [UInt8]) {
        switch csid {
        case 2...63:
            out.append(fmt << 6 | UInt8(csid))
        case 64...319:
            out.append(fmt << 6); out.append(UInt8(csid - 64))
        default:
            let v = max(64, min(csid, 65599)) - 64
            out.append(fmt << 6 | 1); out.append(UInt8(v & 0xFF)); out.append(UInt8(v >> 8))
        }
    }
}

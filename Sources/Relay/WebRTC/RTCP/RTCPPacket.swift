/// An RTCP packet type relayd does not interpret, kept so it can be skipped or forwarded as is.
public struct RTCPUnknownPacket: Sendable, Equatable {
    public var packetType: UInt8
    /// The 5-bit count / feedback message type field.
    public var count: UInt8
    /// The bytes after the 4-byte common header, without padding.
    public var body: [UInt8]

    public init(packetType: UInt8, count: UInt8, body: [UInt8]) {
        self.packetType = packetType
        self.count = count
        self.body = body
    }

    public func write(to out: inout [UInt8]) {
        RTCPWriter.packet(count: count, type: packetType, to: &out) { $0.append(contentsOf: body) }
    }
}

/// One packet of a compound RTCP packet, typed.
public enum RTCPPacket: Sendable, Equatable {
    case senderReport(RTCPSenderReport)
    case receiverReport(RTCPReceiverReport)
    case sourceDescription(RTCPSourceDescription)
    case bye(RTCPBye)
    case genericNACK(RTCPGenericNACK)
    case transportWideFeedback(RTCPTransportWideFeedback)
    case pictureLossIndication(RTCPPictureLossIndication)
    case fullIntraRequest(RTCPFullIntraRequest)
    case receiverEstimatedMaxBitrate(RTCPReceiverEstimatedMaxBitrate)
    case unknown(RTCPUnknownPacket)

    public func write(to out: inout [UInt8]) {
        switch self {
        case .senderReport(let p): p.write(to: &out)
        case .receiverReport(let p): p.write(to: &out)
        case .sourceDescription(let p): p.write(to: &out)
        case .bye(let p): p.write(to: &out)
        case .genericNACK(let p): p.write(to: &out)
        case .transportWideFeedback(let p): p.write(to: &out)
        case .pictureLossIndication(let p): p.write(to: &out)
        case .fullIntraRequest(let p): p.write(to: &out)
        case .receiverEstimatedMaxBitrate(let p): p.write(to: &out)
        case .unknown(let p): p.write(to: &out)
        }
    }

    public func serialize() -> [UInt8] {
        var out: [UInt8] = []
        write(to: &out)
        return out
    }

    /// Position in a compound packet: reports first (RFC 3550 §6.1), then SDES, then
    /// feedback and anything else, BYE last.
    var compoundRank: Int {
        switch self {
        case .senderReport, .receiverReport: return 0
        case .sourceDescription: return 1
        case .bye: return 3
        default: return 2
        }
    }
}

/// Parses and assembles compound RTCP packets (after SRTCP unprotect).
public enum RTCPCompound {
    /// Every packet in `bytes`, in order. Unknown packet types (and application-layer feedback
    /// other than REMB) come back as `.unknown`, skipped by their length. Any framing error
    /// fails the whole compound: its length fields can no longer be trusted.
    public static func parse(_ bytes: [UInt8]) throws(RTCPParseError) -> [RTCPPacket] {
        let result = bytes.withUnsafeBytes { b in Result { () throws(RTCPParseError) in try parse(b) } }
        return try result.get()
    }

    public static func parse(_ b: UnsafeRawBufferPointer) throws(RTCPParseError) -> [RTCPPacket] {
        var packets: [RTCPPacket] = []
        var offset = 0
        while offset < b.count {
            guard b.count - offset >= 4 else { throw .tooShort(offset: offset, available: b.count - offset) }
            let first = b[offset]
            guard first >> 6 == 2 else { throw .badVersion(offset: offset, version: first >> 6) }
            let count = first & 0x1F
            let type = b[offset + 1]
            let length = 4 * (Int(RTPBytes.u16(b, offset + 2)) + 1)
            guard length <= b.count - offset else {
                throw .lengthBeyondBuffer(offset: offset, declared: length, available: b.count - offset)
            }
            var bodyEnd = offset + length
            if first & 0x20 != 0 {
                let padding = Int(b[bodyEnd - 1])
                guard padding >= 1, padding <= length - 4 else { throw .badPadding(offset: offset, paddingLength: padding) }
                bodyEnd -= padding
            }
            let body = UnsafeRawBufferPointer(rebasing: b[(offset + 4)..<bodyEnd])
            packets.append(try parsePacket(type: type, count: count, body: body))
            offset += length
        }
        return packets
    }

    private static func parsePacket(type: UInt8, count: UInt8, body: UnsafeRawBufferPointer) throws(RTCPParseError) -> RTCPPacket {
        let n = Int(count)
        switch (type, count) {
        case (RTCPSenderReport.packetType, _):
            return .senderReport(try RTCPSenderReport.parse(body, count: n))
        case (RTCPReceiverReport.packetType, _):
            return .receiverReport(try RTCPReceiverReport.parse(body, count: n))
        case (RTCPSourceDescription.packetType, _):
            return .sourceDescription(try RTCPSourceDescription.parse(body, count: n))
        case (RTCPBye.packetType, _):
            return .bye(try RTCPBye.parse(body, count: n))
        case (RTCPGenericNACK.packetType, RTCPGenericNACK.format):
            return .genericNACK(try RTCPGenericNACK.parse(body))
        case (RTCPTransportWideFeedback.packetType, RTCPTransportWideFeedback.format):
            return .transportWideFeedback(try RTCPTransportWideFeedback.parse(body))
        case (RTCPPictureLossIndication.packetType, RTCPPictureLossIndication.format):
            return .pictureLossIndication(try RTCPPictureLossIndication.parse(body))
        case (RTCPFullIntraRequest.packetType, RTCPFullIntraRequest.format):
            return .fullIntraRequest(try RTCPFullIntraRequest.parse(body))
        case (RTCPReceiverEstimatedMaxBitrate.packetType, RTCPReceiverEstimatedMaxBitrate.format):
            if let remb = try RTCPReceiverEstimatedMaxBitrate.parse(body) { return .receiverEstimatedMaxBitrate(remb) }
            return .unknown(RTCPUnknownPacket(packetType: type, count: count, body: Array(body)))
        default:
            return .unknown(RTCPUnknownPacket(packetType: type, count: count, body: Array(body)))
        }
    }

    /// Assembles `packets` into one compound packet, reordered as RFC 3550 and RFC 4585 want:
    /// SR/RR first, then SDES, then feedback and others, BYE last (stable within each group).
    /// It does not invent a missing report: a reduced-size (RFC 5506) compound is allowed.
    public static func serialize(_ packets: [RTCPPacket]) -> [UInt8] {
        var out: [UInt8] = []
        write(packets, to: &out)
        return out
    }

    public static func write(_ packets: [RTCPPacket], to out: inout [UInt8]) {
        for rank in 0...3 {
            for packet in packets where packet.compoundRank == rank { packet.write(to: &out) }
        }
    }
}

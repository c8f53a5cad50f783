/// Why bytes are not a valid (compound) RTCP packet. Parsing never traps; it reports one of these.
public enum RTCPParseError: Error, Sendable, Equatable, CustomStringConvertible {
    case tooShort(offset: Int, available: Int)
    case badVersion(offset: Int, version: UInt8)
    case lengthBeyondBuffer(offset: Int, declared: Int, available: Int)
    case badPadding(offset: Int, paddingLength: Int)
    case truncatedBody(packetType: UInt8, needed: Int, available: Int)
    case malformed(packetType: UInt8, reason: String)

    public var description: String {
        switch self {
        case .tooShort(let offset, let available):
            return "RTCP packet at byte \(offset): only \(available) bytes, the common header needs 4"
        case .badVersion(let offset, let version):
            return "RTCP packet at byte \(offset) has version \(version), expected 2 (SRTCP not unprotected?)"
        case .lengthBeyondBuffer(let offset, let declared, let available):
            return "RTCP packet at byte \(offset) declares \(declared) bytes, only \(available) remain"
        case .badPadding(let offset, let padding):
            return "RTCP packet at byte \(offset) has an invalid padding length \(padding)"
        case .truncatedBody(let type, let needed, let available):
            return "RTCP packet type \(type) needs \(needed) body bytes, has \(available)"
        case .malformed(let type, let reason):
            return "RTCP packet type \(type) is malformed: \(reason)"
        }
    }
}

/// Assembles one RTCP packet: common header, body, length patched in words minus one.
enum RTCPWriter {
    static func packet(count: UInt8, type: UInt8, to out: inout [UInt8], body: (inout [UInt8]) -> Void) {
        let start = out.count
        out.append(0x80 | (count & 0x1F))
        out.append(type)
        out.append(0)
        out.append(0)
        body(&out)
        while (out.count - start) % 4 != 0 { out.append(0) }
        let words = UInt16(truncatingIfNeeded: (out.count - start) / 4 - 1)
        RTPBytes.put(words, at: start + 2, in: &out)
    }
}

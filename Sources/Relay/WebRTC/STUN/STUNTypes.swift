/// The 96-bit STUN transaction id, kept in two integers so it is cheap to hash and compare.
public struct STUNTransactionID: Hashable, Sendable, CustomStringConvertible {
    public let high: UInt32
    public let low: UInt64

    public init(high: UInt32, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// From exactly 12 bytes in wire order.
    public init?<Bytes: Collection>(bytes: Bytes) where Bytes.Element == UInt8 {
        guard bytes.count == 12 else { return nil }
        var high: UInt32 = 0
        var low: UInt64 = 0
        for (index, byte) in bytes.enumerated() {
            if index < 4 { high = high << 8 | UInt32(byte) } else { low = low << 8 | UInt64(byte) }
        }
        self.init(high: high, low: low)
    }

    public static func random<G: RandomNumberGenerator>(using generator: inout G) -> STUNTransactionID {
        STUNTransactionID(high: UInt32.random(in: .min ... .max, using: &generator),
                          low: UInt64.random(in: .min ... .max, using: &generator))
    }

    /// The 12 bytes in wire order.
    public var bytes: [UInt8] {
        (0..<4).map { UInt8(truncatingIfNeeded: high >> (24 - 8 * UInt32($0))) }
            + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * UInt64($0))) }
    }

    public var description: String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}

/// The two class bits of a STUN message type.
public enum STUNClass: UInt8, Sendable, Hashable {
    case request = 0
    case indication = 1
    case successResponse = 2
    case errorResponse = 3
}

/// A STUN method (12 bits). ICE uses only Binding.
public struct STUNMethod: RawRepresentable, Hashable, Sendable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue & 0x0FFF }
    public static let binding = STUNMethod(rawValue: 0x001)
}

/// Attribute type codes (RFC 8489 §18.3, RFC 8445 §16.1).
public enum STUNAttributeType {
    public static let mappedAddress: UInt16 = 0x0001
    public static let username: UInt16 = 0x0006
    public static let messageIntegrity: UInt16 = 0x0008
    public static let errorCode: UInt16 = 0x0009
    public static let unknownAttributes: UInt16 = 0x000A
    public static let xorMappedAddress: UInt16 = 0x0020
    public static let priority: UInt16 = 0x0024
    public static let useCandidate: UInt16 = 0x0025
    public static let software: UInt16 = 0x8022
    public static let fingerprint: UInt16 = 0x8028
    public static let iceControlled: UInt16 = 0x8029
    public static let iceControlling: UInt16 = 0x802A
}

/// ERROR-CODE: a code 300–699 and a human-readable reason.
public struct STUNErrorCode: Hashable, Sendable, CustomStringConvertible {
    public var code: Int
    public var reason: String

    public init(code: Int, reason: String) {
        self.code = code
        self.reason = reason
    }

    public static let badRequest = STUNErrorCode(code: 400, reason: "Bad Request")
    public static let unauthenticated = STUNErrorCode(code: 401, reason: "Unauthenticated")
    public static let unknownAttribute = STUNErrorCode(code: 420, reason: "Unknown Attribute")
    public static let roleConflict = STUNErrorCode(code: 487, reason: "Role Conflict")
    public static let serverError = STUNErrorCode(code: 500, reason: "Server Error")

    public var description: String { "\(code) \(reason)" }
}

/// One decoded attribute. Known attributes get a case; everything else is kept as `.other`.
public enum STUNAttribute: Hashable, Sendable {
    case mappedAddress(SocketAddress)
    case xorMappedAddress(SocketAddress)
    case username(String)
    /// The 20-byte HMAC. Ignored when encoding: `encode(integrityKey:)` computes it.
    case messageIntegrity([UInt8])
    case errorCode(STUNErrorCode)
    case unknownAttributes([UInt16])
    case software(String)
    case priority(UInt32)
    case useCandidate
    case iceControlled(tieBreaker: UInt64)
    case iceControlling(tieBreaker: UInt64)
    /// The CRC value. Ignored when encoding: `encode(fingerprint:)` computes it.
    case fingerprint(UInt32)
    case other(type: UInt16, value: [UInt8])

    public var type: UInt16 {
        switch self {
        case .mappedAddress: return STUNAttributeType.mappedAddress
        case .xorMappedAddress: return STUNAttributeType.xorMappedAddress
        case .username: return STUNAttributeType.username
        case .messageIntegrity: return STUNAttributeType.messageIntegrity
        case .errorCode: return STUNAttributeType.errorCode
        case .unknownAttributes: return STUNAttributeType.unknownAttributes
        case .software: return STUNAttributeType.software
        case .priority: return STUNAttributeType.priority
        case .useCandidate: return STUNAttributeType.useCandidate
        case .iceControlled: return STUNAttributeType.iceControlled
        case .iceControlling: return STUNAttributeType.iceControlling
        case .fingerprint: return STUNAttributeType.fingerprint
        case .other(let type, _): return type
        }
    }
}

/// Why bytes are not a well-formed STUN message.
public enum STUNParseError: Error, Hashable, Sendable, CustomStringConvertible {
    case tooShort(Int)
    case notSTUN
    case badMagicCookie
    case lengthMismatch(header: Int, datagram: Int)
    case attributeOverrun(type: UInt16)
    case malformedAttribute(type: UInt16, reason: String)

    public var description: String {
        switch self {
        case .tooShort(let count):
            return "STUN: \(count) bytes is shorter than the 20-byte header"
        case .notSTUN:
            return "STUN: the first two bits are not zero (not a STUN message; check RFC 7983 demux)"
        case .badMagicCookie:
            return "STUN: magic cookie is not 0x2112A442 (RFC 3489 or not STUN)"
        case .lengthMismatch(let header, let datagram):
            return "STUN: header says \(header) attribute bytes but the datagram carries \(datagram)"
        case .attributeOverrun(let type):
            return "STUN: attribute \(hex(type)) runs past the end of the message"
        case .malformedAttribute(let type, let reason):
            return "STUN: attribute \(hex(type)) is malformed: \(reason)"
        }
    }

    private func hex(_ type: UInt16) -> String {
        let digits = String(type, radix: 16, uppercase: true)
        return "0x" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}

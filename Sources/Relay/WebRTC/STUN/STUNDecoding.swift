/// A decoded STUN message together with the bytes it came from, so that MESSAGE-INTEGRITY
/// and FINGERPRINT can be verified as separate checks (they need different knowledge).
public struct DecodedSTUNMessage: Sendable {
    public let message: STUNMessage
    public let bytes: [UInt8]
    /// Offset of the MESSAGE-INTEGRITY attribute header, if present.
    public let integrityOffset: Int?
    /// Offset of the FINGERPRINT attribute header, if present.
    public let fingerprintOffset: Int?
    /// Attributes followed FINGERPRINT, which must be last; the fingerprint then never verifies.
    let fingerprintNotLast: Bool

    public var hasIntegrity: Bool { integrityOffset != nil }
    public var hasFingerprint: Bool { fingerprintOffset != nil }

    /// HMAC-SHA1 over the message up to MESSAGE-INTEGRITY, with the length field set as if
    /// MESSAGE-INTEGRITY were the last attribute. False when absent.
    public func isIntegrityValid(key: [UInt8]) -> Bool {
        guard let offset = integrityOffset, offset + 24 <= bytes.count else { return false }
        var prefix = Array(bytes[0..<offset])
        let length = offset - STUNMessage.headerLength + 24
        prefix[2] = UInt8(truncatingIfNeeded: length >> 8)
        prefix[3] = UInt8(truncatingIfNeeded: length)
        let expected = HMACSHA1.mac(key: key, message: prefix)
        return HMACSHA1.equal(expected, bytes[(offset + 4)..<(offset + 24)])
    }

    /// CRC-32 of everything before FINGERPRINT, XOR 0x5354554E. False when absent.
    public var isFingerprintValid: Bool {
        guard let offset = fingerprintOffset, !fingerprintNotLast, offset + 8 <= bytes.count else { return false }
        let crc = CRC32.checksum(bytes[0..<offset]) ^ STUNMessage.fingerprintXOR
        let received = UInt32(bytes[offset + 4]) << 24 | UInt32(bytes[offset + 5]) << 16
            | UInt32(bytes[offset + 6]) << 8 | UInt32(bytes[offset + 7])
        return crc == received
    }
}

extension STUNMessage {
    /// Most attributes a message may carry; a 1500-byte datagram cannot hold more than ~370.
    static let maximumAttributes = 512

    /// Decodes one datagram. The header length must match the datagram exactly.
    /// Attributes after MESSAGE-INTEGRITY other than FINGERPRINT are ignored (RFC 8489 §14.5).
    public static func decode(_ bytes: [UInt8]) throws(STUNParseError) -> DecodedSTUNMessage {
        guard bytes.count >= headerLength else { throw .tooShort(bytes.count) }
        guard bytes[0] & 0xC0 == 0 else { throw .notSTUN }
        guard bytes.readUInt32(at: 4) == magicCookie else { throw .badMagicCookie }
        let length = Int(bytes.readUInt16(at: 2))
        guard length % 4 == 0, headerLength + length == bytes.count else {
            throw .lengthMismatch(header: length, datagram: bytes.count - headerLength)
        }
        let type = bytes.readUInt16(at: 0)
        let method = STUNMethod(rawValue: (type & 0x000F) | ((type >> 1) & 0x0070) | ((type >> 2) & 0x0F80))
        let classBits = UInt8(((type >> 7) & 0x2) | ((type >> 4) & 0x1))
        let messageClass = STUNClass(rawValue: classBits) ?? .request
        guard let transactionID = STUNTransactionID(bytes: bytes[8..<20]) else { throw .tooShort(bytes.count) }

        var attributes: [STUNAttribute] = []
        var integrityOffset: Int?
        var fingerprintOffset: Int?
        var fingerprintNotLast = false
        var offset = headerLength
        while offset < bytes.count {
            guard offset + 4 <= bytes.count else { throw .attributeOverrun(type: 0) }
            let attributeType = bytes.readUInt16(at: offset)
            let valueLength = Int(bytes.readUInt16(at: offset + 2))
            let valueStart = offset + 4
            let paddedEnd = valueStart + ((valueLength + 3) & ~3)
            guard paddedEnd <= bytes.count else { throw .attributeOverrun(type: attributeType) }
            guard attributes.count < maximumAttributes else {
                throw .malformedAttribute(type: attributeType, reason: "more than \(maximumAttributes) attributes")
            }
            let value = bytes[valueStart..<(valueStart + valueLength)]
            defer { offset = paddedEnd }

            if fingerprintOffset != nil {
                fingerprintNotLast = true
                break
            }
            if attributeType == STUNAttributeType.fingerprint {
                guard valueLength == 4 else {
                    throw .malformedAttribute(type: attributeType, reason: "FINGERPRINT must be 4 bytes")
                }
                fingerprintOffset = offset
                attributes.append(.fingerprint(value.readUInt32(at: value.startIndex)))
                continue
            }
            if integrityOffset != nil { continue }  // only FINGERPRINT may follow MESSAGE-INTEGRITY
            if attributeType == STUNAttributeType.messageIntegrity {
                guard valueLength == 20 else {
                    throw .malformedAttribute(type: attributeType, reason: "MESSAGE-INTEGRITY must be 20 bytes")
                }
                integrityOffset = offset
                attributes.append(.messageIntegrity(Array(value)))
                continue
            }
            attributes.append(try decodeAttribute(type: attributeType, value: value, transactionID: transactionID))
        }
        let message = STUNMessage(method: method, messageClass: messageClass,
                                  transactionID: transactionID, attributes: attributes)
        return DecodedSTUNMessage(message: message, bytes: bytes, integrityOffset: integrityOffset,
                                  fingerprintOffset: fingerprintOffset, fingerprintNotLast: fingerprintNotLast)
    }

    private static func decodeAttribute(type: UInt16, value: ArraySlice<UInt8>,
                                        transactionID: STUNTransactionID) throws(STUNParseError) -> STUNAttribute {
        let start = value.startIndex
        func exactly(_ count: Int, _ name: String) throws(STUNParseError) {
            guard value.count == count else {
                throw .malformedAttribute(type: type, reason: "\(name) must be \(count) bytes, got \(value.count)")
            }
        }
        switch type {
        case STUNAttributeType.mappedAddress:
            return .mappedAddress(try decodeAddress(type: type, value: value, xorMask: nil))
        case STUNAttributeType.xorMappedAddress:
            return .xorMappedAddress(try decodeAddress(type: type, value: value, xorMask: xorMask(transactionID)))
        case STUNAttributeType.username:
            guard value.count <= 513 else {
                throw .malformedAttribute(type: type, reason: "USERNAME longer than 513 bytes")
            }
            return .username(String(decoding: value, as: UTF8.self))
        case STUNAttributeType.software:
            return .software(String(decoding: value, as: UTF8.self))
        case STUNAttributeType.errorCode:
            guard value.count >= 4 else {
                throw .malformedAttribute(type: type, reason: "ERROR-CODE shorter than 4 bytes")
            }
            let errorClass = Int(value[start + 2] & 0x07)
            let number = Int(value[start + 3])
            guard (3...6).contains(errorClass), number < 100 else {
                throw .malformedAttribute(type: type, reason: "ERROR-CODE class \(errorClass) number \(number)")
            }
            let reason = String(decoding: value.dropFirst(4), as: UTF8.self)
            return .errorCode(STUNErrorCode(code: errorClass * 100 + number, reason: reason))
        case STUNAttributeType.unknownAttributes:
            guard value.count % 2 == 0 else {
                throw .malformedAttribute(type: type, reason: "UNKNOWN-ATTRIBUTES has an odd length")
            }
            let types = stride(from: start, to: value.endIndex, by: 2).map { value.readUInt16(at: $0) }
            return .unknownAttributes(types)
        case STUNAttributeType.priority:
            try exactly(4, "PRIORITY")
            return .priority(value.readUInt32(at: start))
        case STUNAttributeType.useCandidate:
            try exactly(0, "USE-CANDIDATE")
            return .useCandidate
        case STUNAttributeType.iceControlled:
            try exactly(8, "ICE-CONTROLLED")
            return .iceControlled(tieBreaker: value.readUInt64(at: start))
        case STUNAttributeType.iceControlling:
            try exactly(8, "ICE-CONTROLLING")
            return .iceControlling(tieBreaker: value.readUInt64(at: start))
        default:
            return .other(type: type, value: Array(value))
        }
    }

    private static func decodeAddress(type: UInt16, value: ArraySlice<UInt8>,
                                      xorMask: [UInt8]?) throws(STUNParseError) -> SocketAddress {
        let start = value.startIndex
        guard value.count >= 4 else {
            throw .malformedAttribute(type: type, reason: "address shorter than 4 bytes")
        }
        let family = value[start + 1]
        let addressLength: Int
        switch family {
        case 1: addressLength = 4
        case 2: addressLength = 16
        default: throw .malformedAttribute(type: type, reason: "unknown address family \(family)")
        }
        guard value.count == 4 + addressLength else {
            throw .malformedAttribute(type: type, reason: "family \(family) needs \(4 + addressLength) bytes, got \(value.count)")
        }
        var port = value.readUInt16(at: start + 2)
        var address = Array(value[(start + 4)...])
        if let xorMask {
            port ^= UInt16(magicCookie >> 16)
            for index in address.indices { address[index] ^= xorMask[index] }
        }
        guard let socketAddress = SocketAddress(addressBytes: address, port: port) else {
            throw .malformedAttribute(type: type, reason: "bad address length")
        }
        return socketAddress
    }
}

fileprivate extension Collection where Element == UInt8, Index == Int {
    /// Callers check bounds first; these only combine bytes.
    func readUInt16(at index: Int) -> UInt16 {
        UInt16(self[index]) << 8 | UInt16(self[index + 1])
    }

    func readUInt32(at index: Int) -> UInt32 {
        UInt32(readUInt16(at: index)) << 16 | UInt32(readUInt16(at: index + 2))
    }

    func readUInt64(at index: Int) -> UInt64 {
        UInt64(readUInt32(at: index)) << 32 | UInt64(readUInt32(at: index + 4))
    }
}

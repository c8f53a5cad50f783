/// A STUN message (RFC 8489): header plus attributes, as a plain value.
///
/// Encoding computes MESSAGE-INTEGRITY and FINGERPRINT itself (any such attributes in
/// `attributes` are skipped). Decoding is bounded and never traps; integrity and fingerprint
/// are checked separately on the `DecodedSTUNMessage` it returns.
public struct STUNMessage: Hashable, Sendable {
    public static let magicCookie: UInt32 = 0x2112_A442
    public static let headerLength = 20
    /// FINGERPRINT's CRC is XORed with this ("STUN") so it differs from an application CRC.
    public static let fingerprintXOR: UInt32 = 0x5354_554E

    public var method: STUNMethod
    public var messageClass: STUNClass
    public var transactionID: STUNTransactionID
    public var attributes: [STUNAttribute]

    public init(method: STUNMethod = .binding, messageClass: STUNClass,
                transactionID: STUNTransactionID, attributes: [STUNAttribute] = []) {
        self.method = method
        self.messageClass = messageClass
        self.transactionID = transactionID
        self.attributes = attributes
    }

    /// The MESSAGE-INTEGRITY key for ICE's short-term credentials: the password's UTF-8 bytes.
    public static func shortTermKey(password: String) -> [UInt8] { Array(password.utf8) }

    /// RFC 7983: a datagram whose first byte is 0–3 may be STUN. This also checks the cookie.
    public static func looksLikeSTUN<Bytes: Collection>(_ bytes: Bytes) -> Bool where Bytes.Element == UInt8 {
        guard bytes.count >= headerLength, let first = bytes.first, first & 0xC0 == 0 else { return false }
        var cookie: UInt32 = 0
        for byte in bytes.dropFirst(4).prefix(4) { cookie = cookie << 8 | UInt32(byte) }
        return cookie == magicCookie
    }

    // MARK: accessors for the attributes ICE uses (first occurrence wins)

    public var username: String? {
        for case .username(let value) in attributes { return value }
        return nil
    }
    public var priority: UInt32? {
        for case .priority(let value) in attributes { return value }
        return nil
    }
    public var hasUseCandidate: Bool { attributes.contains(.useCandidate) }
    public var iceControlling: UInt64? {
        for case .iceControlling(let value) in attributes { return value }
        return nil
    }
    public var iceControlled: UInt64? {
        for case .iceControlled(let value) in attributes { return value }
        return nil
    }
    public var xorMappedAddress: SocketAddress? {
        for case .xorMappedAddress(let value) in attributes { return value }
        return nil
    }
    public var errorCode: STUNErrorCode? {
        for case .errorCode(let value) in attributes { return value }
        return nil
    }
}

// MARK: - Encoding

extension STUNMessage {
    /// Wire bytes. With `integrityKey`, MESSAGE-INTEGRITY (HMAC-SHA1) is appended; with
    /// `fingerprint`, FINGERPRINT is appended last.
    public func encode(integrityKey: [UInt8]? = nil, fingerprint: Bool = true) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(128)
        let type = Self.messageType(method: method, class: messageClass)
        out.appendBigEndian(type)
        out.appendBigEndian(UInt16(0))  // length, patched below
        out.appendBigEndian(Self.magicCookie)
        out.append(contentsOf: transactionID.bytes)

        for attribute in attributes {
            switch attribute {
            case .messageIntegrity, .fingerprint:
                continue
            default:
                let value = encodeValue(attribute)
                appendAttribute(&out, type: attribute.type, value: value)
            }
        }
        if let integrityKey {
            // The length field must already count MESSAGE-INTEGRITY (24 bytes) when hashing.
            setLength(&out, out.count - Self.headerLength + 24)
            let mac = HMACSHA1.mac(key: integrityKey, message: out)
            appendAttribute(&out, type: STUNAttributeType.messageIntegrity, value: mac)
        }
        if fingerprint {
            setLength(&out, out.count - Self.headerLength + 8)
            let crc = CRC32.checksum(out) ^ Self.fingerprintXOR
            var value: [UInt8] = []
            value.appendBigEndian(crc)
            appendAttribute(&out, type: STUNAttributeType.fingerprint, value: value)
        }
        setLength(&out, out.count - Self.headerLength)
        return out
    }

    static func messageType(method: STUNMethod, class messageClass: STUNClass) -> UInt16 {
        let m = method.rawValue
        let c = UInt16(messageClass.rawValue)
        return (m & 0x000F) | ((m & 0x0070) << 1) | ((m & 0x0F80) << 2) | ((c & 1) << 4) | ((c & 2) << 7)
    }

    private func setLength(_ out: inout [UInt8], _ length: Int) {
        out[2] = UInt8(truncatingIfNeeded: length >> 8)
        out[3] = UInt8(truncatingIfNeeded: length)
    }

    private func appendAttribute(_ out: inout [UInt8], type: UInt16, value: [UInt8]) {
        // A value longer than the 16-bit length field cannot be sent; cut it rather than lie.
        let value = value.count > 0xFFFF - 3 ? Array(value.prefix(0xFFFF - 3)) : value
        out.appendBigEndian(type)
        out.appendBigEndian(UInt16(value.count))
        out.append(contentsOf: value)
        let padding = (4 - value.count % 4) % 4
        out.append(contentsOf: repeatElement(0, count: padding))
    }

    private func encodeValue(_ attribute: STUNAttribute) -> [UInt8] {
        var value: [UInt8] = []
        switch attribute {
        case .mappedAddress(let address):
            value = encodeAddress(address, xor: false)
        case .xorMappedAddress(let address):
            value = encodeAddress(address, xor: true)
        case .username(let text), .software(let text):
            value = Array(text.utf8)
        case .errorCode(let error):
            let code = max(300, min(699, error.code))
            value = [0, 0, UInt8(code / 100), UInt8(code % 100)] + Array(error.reason.utf8)
        case .unknownAttributes(let types):
            for type in types { value.appendBigEndian(type) }
        case .priority(let priority):
            value.appendBigEndian(priority)
        case .useCandidate:
            break
        case .iceControlled(let tieBreaker), .iceControlling(let tieBreaker):
            value.appendBigEndian(tieBreaker)
        case .other(_, let bytes):
            value = bytes
        case .messageIntegrity, .fingerprint:
            break
        }
        return value
    }

    private func encodeAddress(_ address: SocketAddress, xor: Bool) -> [UInt8] {
        var value: [UInt8] = [0, address.family == .ipv4 ? 1 : 2]
        let port = xor ? address.port ^ UInt16(Self.magicCookie >> 16) : address.port
        value.appendBigEndian(port)
        var bytes = address.addressBytes
        if xor {
            let mask = Self.xorMask(transactionID)
            for index in bytes.indices { bytes[index] ^= mask[index] }
        }
        value.append(contentsOf: bytes)
        return value
    }

    /// Magic cookie followed by the transaction id: the XOR mask for XOR-MAPPED-ADDRESS.
    static func xorMask(_ transactionID: STUNTransactionID) -> [UInt8] {
        var mask: [UInt8] = []
        mask.appendBigEndian(magicCookie)
        return mask + transactionID.bytes
    }
}

fileprivate extension Array where Element == UInt8 {
    mutating func appendBigEndian(_ value: UInt16) {
        append(UInt8(truncatingIfNeeded: value >> 8))
        append(UInt8(truncatingIfNeeded: value))
    }

    mutating func appendBigEndian(_ value: UInt32) {
        for shift in stride(from: 24, through: 0, by: -8) { append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
    }

    mutating func appendBigEndian(_ value: UInt64) {
        for shift in stride(from: 56, through: 0, by: -8) { append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }
}

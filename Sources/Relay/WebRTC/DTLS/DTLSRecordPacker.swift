/// OpenSSL writes DTLS records into a memory BIO, which keeps no datagram boundaries. This
/// splits the bytes back into records (13-byte header, length in bytes 11–12) and packs whole
/// records into datagrams of at most `mtu` bytes, the way OpenSSL would have sent them.
enum DTLSRecordPacker {
    static let headerLength = 13

    static func datagrams(from bytes: [UInt8], mtu: Int) -> [[UInt8]] {
        var datagrams: [[UInt8]] = []
        var current: [UInt8] = []
        var offset = 0
        while offset < bytes.count {
            let recordLength: Int
            if bytes.count - offset >= headerLength {
                let bodyLength = Int(bytes[offset + 11]) << 8 | Int(bytes[offset + 12])
                recordLength = min(headerLength + bodyLength, bytes.count - offset)
            } else {
                recordLength = bytes.count - offset  // a torn tail: send it as it is
            }
            if !current.isEmpty && current.count + recordLength > mtu {
                datagrams.append(current)
                current = []
            }
            current.append(contentsOf: bytes[offset..<(offset + recordLength)])
            offset += recordLength
        }
        if !current.isEmpty { datagrams.append(current) }
        return datagrams
    }

    /// Content types 20 (change_cipher_spec) and 22 (handshake) in the first record: the peer
    /// is (re)sending handshake flights.
    static func startsWithHandshake(_ datagram: some Collection<UInt8>) -> Bool {
        guard let first = datagram.first else { return false }
        return first == 20 || first == 22
    }
}

import COpenSSL

/// HMAC-SHA1 through OpenSSL's one-shot `HMAC()`, for STUN MESSAGE-INTEGRITY.
enum HMACSHA1 {
    static let length = 20

    static func mac(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: 64)
        var outputLength: UInt32 = 0
        let ok = key.withUnsafeBytes { keyBuffer in
            message.withUnsafeBytes { messageBuffer in
                output.withUnsafeMutableBytes { outputBuffer in
                    HMAC(
                        EVP_sha1(),
                        keyBuffer.baseAddress, Int32(keyBuffer.count),
                        messageBuffer.baseAddress?.assumingMemoryBound(to: UInt8.self), messageBuffer.count,
                        outputBuffer.baseAddress?.assumingMemoryBound(to: UInt8.self), &outputLength
                    ) != nil
                }
            }
        }
        // HMAC() only fails on allocation failure; an all-zero MAC then never verifies.
        guard ok, outputLength == UInt32(length) else { return [UInt8](repeating: 0, count: length) }
        return Array(output.prefix(length))
    }

    /// Constant-time comparison, so a forged MAC cannot be found byte by byte.
    static func equal(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for (x, y) in zip(a, b) { difference |= x ^ y }
        return difference == 0
    }
}

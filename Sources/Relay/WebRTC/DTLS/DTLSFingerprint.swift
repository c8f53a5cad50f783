/// A certificate fingerprint as carried by SDP's `a=fingerprint:` attribute (RFC 8122), e.g.
/// `sha-256 AB:CD:…`. Equality compares the algorithm and the digest bytes, so two values
/// written with different hex case are equal.
public struct DTLSFingerprint: Sendable, Hashable, CustomStringConvertible {
    /// The hash functions RFC 8122 lets a fingerprint use (MD2/MD5 are refused as too weak).
    public enum Algorithm: String, Sendable, Hashable, CaseIterable {
        case sha1 = "sha-1"
        case sha224 = "sha-224"
        case sha256 = "sha-256"
        case sha384 = "sha-384"
        case sha512 = "sha-512"

        /// Digest length in bytes.
        public var digestLength: Int {
            switch self {
            case .sha1: 20
            case .sha224: 28
            case .sha256: 32
            case .sha384: 48
            case .sha512: 64
            }
        }
    }

    public let algorithm: Algorithm
    public let bytes: [UInt8]

    public init(algorithm: Algorithm, bytes: [UInt8]) {
        self.algorithm = algorithm
        self.bytes = bytes
    }

    /// The digest as SDP writes it: uppercase hex pairs joined by colons.
    public var value: String {
        bytes.map { byte in
            let digits: [Character] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "A", "B", "C", "D", "E", "F"]
            return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
        }.joined(separator: ":")
    }

    /// The whole attribute value: `sha-256 AB:CD:…`.
    public var sdpValue: String { "\(algorithm.rawValue) \(value)" }

    public var description: String { sdpValue }

    /// Parses an `a=fingerprint:` attribute value (`sha-256 AB:CD:…`). The algorithm name and
    /// the hex digits are read case-insensitively; surrounding whitespace is ignored.
    public init(sdpValue text: String) throws(DTLSFingerprintParseError) {
        guard text.utf8.count <= 512 else { throw .malformed(text: text, reason: "too long for a fingerprint") }
        let parts = text.split(whereSeparator: \.isWhitespace)
        guard parts.count == 2 else { throw .malformed(text: text, reason: "expected '<hash> <hex:hex:…>'") }
        let name = parts[0].lowercased()
        guard let algorithm = Algorithm(rawValue: name) else { throw .unsupportedAlgorithm(name) }
        guard parts[1].utf8.count <= 3 * 64 else {
            throw .malformed(text: text, reason: "longer than any supported digest")
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(algorithm.digestLength)
        for pair in parts[1].split(separator: ":", omittingEmptySubsequences: false) {
            guard pair.utf8.count == 2, pair.allSatisfy(\.isHexDigit), let byte = UInt8(pair, radix: 16) else {
                throw .malformed(text: text, reason: "'\(pair)' is not a two-digit hex byte")
            }
            bytes.append(byte)
        }
        guard bytes.count == algorithm.digestLength else {
            throw .wrongLength(algorithm: algorithm, expected: algorithm.digestLength, got: bytes.count)
        }
        self.init(algorithm: algorithm, bytes: bytes)
    }
}

/// Why an SDP fingerprint value could not be read.
public enum DTLSFingerprintParseError: Error, Sendable, Equatable, CustomStringConvertible {
    case malformed(text: String, reason: String)
    case unsupportedAlgorithm(String)
    case wrongLength(algorithm: DTLSFingerprint.Algorithm, expected: Int, got: Int)

    public var description: String {
        switch self {
        case .malformed(let text, let reason):
            "SDP fingerprint '\(text.prefix(200))' is malformed: \(reason)"
        case .unsupportedAlgorithm(let name):
            "SDP fingerprint uses hash '\(name.prefix(40))'; supported: sha-1, sha-224, sha-256, sha-384, sha-512"
        case .wrongLength(let algorithm, let expected, let got):
            "SDP fingerprint for \(algorithm.rawValue) has \(got) bytes, expected \(expected)"
        }
    }
}

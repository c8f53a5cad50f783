/// An SRTP master key and salt for one direction.
public struct SRTPMasterKey: Sendable, Equatable {
    public let profile: SRTPProfile
    public let key: [UInt8]
    public let salt: [UInt8]

    /// Fails when the lengths don't match the profile.
    public init(profile: SRTPProfile, key: [UInt8], salt: [UInt8]) throws(SRTPError) {
        guard key.count == profile.keyLength, salt.count == profile.saltLength else {
            throw SRTPError(
                operation: "make an SRTP master key",
                reason: .keyLength(expected: profile.keyLength + profile.saltLength, got: key.count + salt.count)
            )
        }
        self.profile = profile
        self.key = key
        self.salt = salt
    }

    /// key ‖ salt: the layout libsrtp's policy expects.
    public var keyAndSalt: [UInt8] { key + salt }
}

/// Splits DTLS-SRTP exported keying material (RFC 5764 §4.2) into this side's keys.
public enum SRTPKeyingMaterial {
    /// The label for SSL_export_keying_material.
    public static let exporterLabel = "EXTRACTOR-dtls_srtp"

    /// Which side of the DTLS handshake this endpoint was.
    public enum Role: Sendable, Equatable {
        case client
        case server
    }

    /// The keys one endpoint uses: `local` to protect what it sends, `remote` to unprotect
    /// what it receives.
    public struct SessionKeys: Sendable, Equatable {
        public let local: SRTPMasterKey
        public let remote: SRTPMasterKey
    }

    /// Bytes to export for `profile`: 2 × (key + salt).
    public static func length(for profile: SRTPProfile) -> Int {
        2 * (profile.keyLength + profile.saltLength)
    }

    /// `material` is client_key | server_key | client_salt | server_salt. The DTLS client
    /// protects with the client key and salt and unprotects with the server's; the server the
    /// other way round.
    public static func split(_ material: [UInt8], profile: SRTPProfile, role: Role) throws(SRTPError) -> SessionKeys {
        let expected = length(for: profile)
        guard material.count == expected else {
            throw SRTPError(
                operation: "split DTLS-SRTP keying material",
                reason: .keyingMaterialLength(expected: expected, got: material.count)
            )
        }
        let k = profile.keyLength
        let s = profile.saltLength
        let client = try SRTPMasterKey(
            profile: profile, key: Array(material[0..<k]), salt: Array(material[(2 * k)..<(2 * k + s)]))
        let server = try SRTPMasterKey(
            profile: profile, key: Array(material[k..<(2 * k)]), salt: Array(material[(2 * k + s)..<(2 * k + 2 * s)]))
        switch role {
        case .client: return SessionKeys(local: client, remote: server)
        case .server: return SessionKeys(local: server, remote: client)
        }
    }
}

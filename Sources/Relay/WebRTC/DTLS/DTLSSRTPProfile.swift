/// The SRTP protection profiles the DTLS handshake can negotiate through use_srtp (RFC 5764,
/// RFC 7714). Named with a DTLS prefix so the SRTP layer can keep its own type; the integrator
/// maps one to the other.
public enum DTLSSRTPProfile: Sendable, Hashable, CaseIterable {
    /// AEAD_AES_128_GCM (RFC 7714): 16-byte key, 12-byte salt.
    case aeadAES128GCM
    /// AES_CM_128_HMAC_SHA1_80 (RFC 5764): 16-byte key, 14-byte salt.
    case aes128CMHMACSHA1_80

    public var keyLength: Int { 16 }

    public var saltLength: Int {
        switch self {
        case .aeadAES128GCM: 12
        case .aes128CMHMACSHA1_80: 14
        }
    }

    /// The name OpenSSL's SSL_CTX_set_tlsext_use_srtp takes.
    public var openSSLName: String {
        switch self {
        case .aeadAES128GCM: "SRTP_AEAD_AES_128_GCM"
        case .aes128CMHMACSHA1_80: "SRTP_AES128_CM_SHA1_80"
        }
    }

    /// The use_srtp protection profile identifier on the wire (and OpenSSL's profile id).
    public var wireID: UInt16 {
        switch self {
        case .aeadAES128GCM: 0x0007
        case .aes128CMHMACSHA1_80: 0x0001
        }
    }

    init?(wireID: UInt) {
        guard let profile = Self.allCases.first(where: { UInt($0.wireID) == wireID }) else { return nil }
        self = profile
    }
}

/// SRTP master keys and salts exported from a finished DTLS handshake, already split by role:
/// `local*` protects what this side sends, `remote*` unprotects what it receives.
public struct DTLSSRTPKeys: Sendable, Equatable {
    public let profile: DTLSSRTPProfile
    public let localKey: [UInt8]
    public let localSalt: [UInt8]
    public let remoteKey: [UInt8]
    public let remoteSalt: [UInt8]

    public init(profile: DTLSSRTPProfile, localKey: [UInt8], localSalt: [UInt8], remoteKey: [UInt8], remoteSalt: [UInt8]) {
        self.profile = profile
        self.localKey = localKey
        self.localSalt = localSalt
        self.remoteKey = remoteKey
        self.remoteSalt = remoteSalt
    }

    /// Splits the exporter output (RFC 5764 §4.2: client_key | server_key | client_salt |
    /// server_salt); the DTLS client protects with the client half. Nil if the length is wrong.
    public init?(exportedMaterial material: [UInt8], profile: DTLSSRTPProfile, role: DTLSRole) {
        let key = profile.keyLength
        let salt = profile.saltLength
        guard material.count == 2 * (key + salt) else { return nil }
        let clientKey = Array(material[0..<key])
        let serverKey = Array(material[key..<(2 * key)])
        let clientSalt = Array(material[(2 * key)..<(2 * key + salt)])
        let serverSalt = Array(material[(2 * key + salt)..<(2 * key + 2 * salt)])
        switch role {
        case .client:
            self.init(profile: profile, localKey: clientKey, localSalt: clientSalt, remoteKey: serverKey, remoteSalt: serverSalt)
        case .server:
            self.init(profile: profile, localKey: serverKey, localSalt: serverSalt, remoteKey: clientKey, remoteSalt: clientSalt)
        }
    }
}

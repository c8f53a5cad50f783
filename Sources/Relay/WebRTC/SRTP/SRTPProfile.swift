/// The DTLS-SRTP protection profiles relayd negotiates (RFC 5764, RFC 7714).
public enum SRTPProfile: Sendable, Equatable, CaseIterable {
    /// SRTP_AES128_CM_HMAC_SHA1_80: AES-128 counter mode, 80-bit HMAC-SHA1 tag.
    case aes128CmSha1_80
    /// SRTP_AEAD_AES_128_GCM: AES-128 GCM with a 16-byte tag.
    case aeadAes128Gcm

    public var keyLength: Int { 16 }

    public var saltLength: Int {
        switch self {
        case .aes128CmSha1_80: return 14
        case .aeadAes128Gcm: return 12
        }
    }

    /// Bytes SRTP adds to an RTP packet (the authentication tag).
    public var rtpAuthTagLength: Int {
        switch self {
        case .aes128CmSha1_80: return 10
        case .aeadAes128Gcm: return 16
        }
    }

    /// Bytes SRTCP adds to an RTCP packet (E flag + index, then the tag).
    public var rtcpTrailerLength: Int { 4 + rtpAuthTagLength }

    /// The name OpenSSL uses in SSL_CTX_set_tlsext_use_srtp and SSL_get_selected_srtp_profile.
    public var opensslName: String {
        switch self {
        case .aes128CmSha1_80: return "SRTP_AES128_CM_SHA1_80"
        case .aeadAes128Gcm: return "SRTP_AEAD_AES_128_GCM"
        }
    }

    /// The IANA DTLS-SRTP protection profile id (SRTP_PROTECTION_PROFILE::id in OpenSSL).
    public var protectionProfileID: UInt16 {
        switch self {
        case .aes128CmSha1_80: return 0x0001
        case .aeadAes128Gcm: return 0x0007
        }
    }

    public init?(opensslName: String) {
        guard let profile = Self.allCases.first(where: { $0.opensslName == opensslName }) else { return nil }
        self = profile
    }

    public init?(protectionProfileID: UInt16) {
        guard let profile = Self.allCases.first(where: { $0.protectionProfileID == protectionProfileID }) else { return nil }
        self = profile
    }
}

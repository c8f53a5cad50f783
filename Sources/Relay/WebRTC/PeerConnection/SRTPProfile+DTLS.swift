/// DTLS negotiates a `DTLSSRTPProfile`; libsrtp is configured with an `SRTPProfile`. The two
/// layers keep their own types, so this file is the one place that maps between them.
extension SRTPProfile {
    public init(_ profile: DTLSSRTPProfile) {
        switch profile {
        case .aeadAES128GCM: self = .aeadAes128Gcm
        case .aes128CMHMACSHA1_80: self = .aes128CmSha1_80
        }
    }
}

extension DTLSSRTPProfile {
    public init(_ profile: SRTPProfile) {
        switch profile {
        case .aeadAes128Gcm: self = .aeadAES128GCM
        case .aes128CmSha1_80: self = .aes128CMHMACSHA1_80
        }
    }
}

extension SRTPKeyingMaterial.SessionKeys {
    /// The libsrtp keys for keys exported by a finished DTLS handshake (already split by role).
    public init(_ keys: DTLSSRTPKeys) throws(SRTPError) {
        let profile = SRTPProfile(keys.profile)
        self.init(
            local: try SRTPMasterKey(profile: profile, key: keys.localKey, salt: keys.localSalt),
            remote: try SRTPMasterKey(profile: profile, key: keys.remoteKey, salt: keys.remoteSalt))
    }
}

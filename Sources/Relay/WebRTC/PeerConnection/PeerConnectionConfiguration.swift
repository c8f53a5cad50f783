/// Everything one `PeerConnection` needs: its ICE agent's and DTLS connection's configurations,
/// this side's certificate and host candidates, and the peer's credentials and candidates.
///
/// Both ends of a Calls media leg use it: the relay (`iceMode: .controlling`, DTLS role from the
/// negotiated `a=setup`) and the SFU side in FakeCalls (`iceMode: .lite`). `SessionSetup` builds
/// one from the two SDPs; tests may fill it in by hand.
public struct PeerConnectionConfiguration: Sendable {
    /// ICE mode, local ufrag/password, timers, seed.
    public var ice: ICEConfiguration
    /// DTLS role, the peer's fingerprint (from its SDP), SRTP profiles, retransmission timers.
    public var dtls: DTLSConfiguration
    /// This side's DTLS certificate; its fingerprint goes into the local SDP.
    public var certificate: DTLSCertificate
    /// The addresses this side receives on (host candidates of the driver's socket).
    public var localCandidates: [ICECandidate]
    /// The peer's `a=ice-ufrag` / `a=ice-pwd`.
    public var remoteCredentials: ICECredentials
    /// The peer's candidates (an ICE-lite peer lists all of them; a full peer may be found
    /// through its checks as peer-reflexive instead).
    public var remoteCandidates: [ICECandidate]

    public init(ice: ICEConfiguration, dtls: DTLSConfiguration, certificate: DTLSCertificate,
                localCandidates: [ICECandidate], remoteCredentials: ICECredentials,
                remoteCandidates: [ICECandidate]) {
        self.ice = ice
        self.dtls = dtls
        self.certificate = certificate
        self.localCandidates = localCandidates
        self.remoteCredentials = remoteCredentials
        self.remoteCandidates = remoteCandidates
    }
}

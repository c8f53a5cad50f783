/// Which side of the DTLS handshake this end plays (SDP `a=setup:active` → client,
/// `passive` → server).
public enum DTLSRole: String, Sendable, Hashable {
    case client
    case server
}

/// What a `DTLSConnection` reports through `pollEvent()`.
public enum DTLSEvent: Sendable, Equatable {
    /// Handshake done, peer fingerprint verified, SRTP profile negotiated, keys exported.
    case connected(DTLSSRTPKeys)
    /// One record of application data from the peer.
    case applicationData([UInt8])
    /// The peer sent close_notify: it is leaving. We answered with our own close_notify.
    case closed
    /// The connection is dead; nothing more will come out except a queued alert.
    case failed(DTLSError)
}

/// Where a connection is in its life.
public enum DTLSConnectionState: String, Sendable, Hashable {
    case idle, handshaking, connected, closed, failed
}

/// How a `DTLSConnection` behaves. The defaults suit WebRTC.
public struct DTLSConfiguration: Sendable {
    public var role: DTLSRole
    /// The fingerprint the peer's SDP announced; the peer certificate must hash to it.
    public var remoteFingerprint: DTLSFingerprint
    /// SRTP profiles to offer (client) or accept (server), most preferred first.
    public var srtpProfiles: [DTLSSRTPProfile]
    /// Largest datagram we send (DTLS_set_link_mtu); 1200 keeps clear of tunnels and IPv6.
    public var mtu: Int
    /// First retransmission timeout of a handshake flight (RFC 6347 §4.2.4.1: 1 s), doubled on
    /// every retransmission up to `maximumRetransmitTimeout`.
    public var initialRetransmitTimeout: Duration
    public var maximumRetransmitTimeout: Duration
    /// Retransmissions of one flight before the handshake is declared dead.
    public var maximumRetransmissions: Int
    /// Also let OpenSSL retransmit on its own timer, which runs on the wall clock. Its
    /// retransmissions carry fresh record numbers, which every peer accepts, also the repeat of
    /// a final flight that a peer's replay window would drop when re-sent verbatim. Keep it on
    /// in production; tests that assert exact manual-time behaviour turn it off.
    public var usesOpenSSLTimer: Bool

    public init(
        role: DTLSRole,
        remoteFingerprint: DTLSFingerprint,
        srtpProfiles: [DTLSSRTPProfile] = [.aeadAES128GCM, .aes128CMHMACSHA1_80],
        mtu: Int = 1200,
        initialRetransmitTimeout: Duration = .seconds(1),
        maximumRetransmitTimeout: Duration = .seconds(8),
        maximumRetransmissions: Int = 7,
        usesOpenSSLTimer: Bool = true
    ) {
        self.role = role
        self.remoteFingerprint = remoteFingerprint
        self.srtpProfiles = srtpProfiles
        self.mtu = mtu
        self.initialRetransmitTimeout = initialRetransmitTimeout
        self.maximumRetransmitTimeout = maximumRetransmitTimeout
        self.maximumRetransmissions = maximumRetransmissions
        self.usesOpenSSLTimer = usesOpenSSLTimer
    }
}

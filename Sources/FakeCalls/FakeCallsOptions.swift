/// How a FakeCallsAPI behaves.
public struct FakeCallsOptions: Sendable {
    /// When a published track counts as "flowing" (before that, subscribing to it gets the
    /// per-track `not_found_track_error`, as real Calls does until the browser sends media).
    public enum PublisherFlow: Sendable, Equatable {
        /// As soon as it is published.
        case immediately
        /// After this many subscribe attempts that asked for the track were refused.
        case afterRefusedAttempts(Int)
        /// Only once the test (or the media side) calls `markFlowing(session:)`.
        case whenMarked
    }

    /// Where published tracks' media comes from.
    public enum MediaMode: Sendable {
        /// From the publisher (a browser) over ICE/DTLS/SRTP, forwarded to subscribers.
        case forward
        /// From recordings: a session that publishes with an SDP offer gets, for each published
        /// mid, the recording of the codec its answer negotiated, played at once (no publisher
        /// ICE needed). See `FixtureCatalog`, `RecordedRTPPlayer`.
        case fixtures(FixtureCatalog)
    }

    /// appId → API token. A request for another app gets 404, a wrong token 401.
    public var apps: [String: String]
    public var publisherFlow: PublisherFlow
    /// How long every mutation (tracks/new, renegotiate, tracks/close) takes, awaited with the
    /// injected sleep; another mutation of the same session in that window gets 406.
    public var mutationLatency: Duration
    /// Max tracks in one tracks/new (Calls: 64).
    public var maxTracksPerRequest: Int
    /// Record mode: each publisher session's decrypted RTP/RTCP goes to
    /// `<dir>/<session id>/<trackName>.pcap` (RTP on UDP 5004, RTCP on 5005) with its
    /// `offer.sdp` and `answer.sdp` beside them. nil: off. Only `FakeCallsServer` records.
    public var recordDirectory: String? = nil
    /// Record mode: ask every publisher for a video keyframe (PLI) this often, so recordings
    /// hold keyframes to start from. nil: only when subscribers ask.
    public var recordKeyframeInterval: Duration? = nil
    /// `.forward` unless set; `FakeCallsServer.mediaMode` changes it while running.
    public var mediaMode: MediaMode = .forward
    /// A netem-like impairment (loss, bursts, reordering, duplication, delay/jitter, a rate cap)
    /// of every datagram the SFU media side sends and receives; nil: none. `FakeSFUMedia.impairment`
    /// changes it while running. See `NetworkImpairment`.
    public var impairment: NetworkImpairment.Profile? = nil

    public init(apps: [String: String], publisherFlow: PublisherFlow = .immediately,
                mutationLatency: Duration = .zero, maxTracksPerRequest: Int = 64) {
        self.apps = apps
        self.publisherFlow = publisherFlow
        self.mutationLatency = mutationLatency
        self.maxTracksPerRequest = maxTracksPerRequest
    }

    /// One app, `appId` with `token`.
    public init(appId: String, token: String, publisherFlow: PublisherFlow = .immediately,
                mutationLatency: Duration = .zero) {
        self.init(apps: [appId: token], publisherFlow: publisherFlow, mutationLatency: mutationLatency)
    }
}

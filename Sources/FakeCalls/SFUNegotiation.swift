import Relay

/// What the SFU media side needs to run one Calls session's transport and route its media,
/// handed over by `SDPFakeMediaSide` each time that session's offer/answer completes.
public struct SFUNegotiation: Sendable {
    /// A mid on which the peer (a browser) publishes to the SFU.
    public struct PublishedMid: Sendable, Equatable {
        public var mid: String
        /// The payload types the publisher negotiated (its numbering, from the SFU's answer).
        public var payloadType: UInt8
        public var rtxPayloadType: UInt8?
        /// SSRCs the publisher's offer announced for this mid (media first, then RTX).
        public var ssrcs: [UInt32]
        public var rtxSSRCByMediaSSRC: [UInt32: UInt32]
    }

    /// A mid on which the SFU sends one published track to this session (the subscriber).
    public struct SubscribedMid: Sendable, Equatable {
        public var mid: String
        public var publisherSession: String
        public var publisherMid: String
        /// The SFU's own mapping for this subscriber, as its offer said.
        public var ssrc: UInt32
        public var rtxSSRC: UInt32?
        public var payloadType: UInt8
        public var rtxPayloadType: UInt8?
    }

    public var session: String
    public var configuration: PeerConnectionConfiguration
    public var remote: RemoteSessionDescription
    public var published: [PublishedMid]
    public var subscribed: [SubscribedMid]
}

/// One track a fixture publisher plays, as FakeCalls' HTTP core must list it.
public struct FakeLocalTrack: Sendable, Equatable {
    public var trackName: String
    public var mid: String
    /// "audio" or "video".
    public var kind: String

    public init(trackName: String, mid: String, kind: String) {
        self.trackName = trackName
        self.mid = mid
        self.kind = kind
    }
}

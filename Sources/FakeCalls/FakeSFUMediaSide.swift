import Relay

/// One m-section of an SDP as FakeCalls' HTTP core needs to see it.
public struct FakeMediaSection: Sendable, Equatable {
    public var mid: String
    /// "audio", "video" or "application".
    public var kind: String
    /// "sendonly", "recvonly", "sendrecv" or "inactive" (sendrecv when the SDP says nothing).
    public var direction: String

    public init(mid: String, kind: String, direction: String) {
        self.mid = mid
        self.kind = kind
        self.direction = direction
    }
}

/// A track the SFU sends to a subscriber: what the media side needs to put it into its offer.
public struct PublishedTrackInfo: Sendable, Equatable {
    /// The mid in the subscriber's session (the SFU's own numbering).
    public var mid: String
    public var trackName: String
    public var kind: String
    public var publisherSession: String
    /// The mid the track has in the publisher's session.
    public var publisherMid: String

    public init(mid: String, trackName: String, kind: String, publisherSession: String, publisherMid: String) {
        self.mid = mid
        self.trackName = trackName
        self.kind = kind
        self.publisherSession = publisherSession
        self.publisherMid = publisherMid
    }
}

/// The SFU's media side as FakeCalls' HTTP core sees it: it writes the SFU's SDP (ICE-lite,
/// fingerprint, candidates) and later runs ICE/DTLS/SRTP for the session. `MinimalSDPMediaSide`
/// is a temporary text-only stand-in; the real one (SDP library + UDP) replaces it.
///
/// Any throw from `mediaSections`, `answer` or `accept` becomes HTTP 400
/// `invalid_session_description` with the error's description.
public protocol FakeSFUMediaSide: Sendable {
    /// The m-sections of an offer or answer in order; throws for garbage or an SDP without m-lines.
    func mediaSections(of sdp: String) throws -> [FakeMediaSection]
    /// The SFU's answer to a client offer (publish, or the client-offer subscribe shape): same mids
    /// in the same order, directions flipped, `a=ice-lite`, `a=setup:passive` for `actpass`.
    func answer(toOffer sdp: String, session: String) async throws -> String
    /// The SFU's offer carrying `tracks` (all the session's remote tracks, in mid order) for the
    /// documented pull pattern.
    func offer(forTracks tracks: [PublishedTrackInfo], session: String) async throws -> String
    /// The subscriber's answer to the last offer (PUT renegotiate).
    func accept(answer sdp: String, session: String) async throws
    /// The session ended (all tracks closed): free its transport.
    func sessionClosed(_ session: String) async
    /// The client-offer subscribe shape: the answer to the client's recvonly offer, sending
    /// `tracks` (the ones this request added; `mid` is the client's m-line) on their mids.
    func answer(toSubscribeOffer sdp: String, tracks: [PublishedTrackInfo], session: String) async throws -> String
}

extension FakeSFUMediaSide {
    /// Media sides without forwarding answer it like any offer.
    public func answer(toSubscribeOffer sdp: String, tracks: [PublishedTrackInfo], session: String) async throws -> String {
        try await answer(toOffer: sdp, session: session)
    }
}

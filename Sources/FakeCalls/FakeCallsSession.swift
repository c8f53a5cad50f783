import Relay

/// A session as FakeCalls keeps it.
struct FakeCallsSession: Sendable {
    struct Track: Sendable, Equatable {
        var location: TrackObject.Location
        var mid: String
        var trackName: String
        var kind: String
        /// For remote tracks: the publisher's session and the track's mid there.
        var publisherSession: String?
        var publisherMid: String?
    }

    let id: String
    let appId: String
    var tracks: [Track] = []
    /// The SFU sent an offer (pull subscribe, or close with renegotiation) not yet answered.
    var offerPending = false
    /// Closed by closing its last track; every later call gets 410.
    var closed = false
    /// A mutation is being processed (overlap → 406).
    var mutating = false
    /// Marked flowing by the test/media side, or by the flow policy.
    var flowing = false
    /// Order of creation (1 = the first sessions/new), for fault targets.
    var ordinal = 0
    /// A tracks/new with local (publish) or remote (pull) tracks was sent for it, whatever came of it.
    var publishes = false
    var pulls = false
    /// Its publisher went silent (`markSilent`): its tracks are inactive whatever else says.
    var silent = false
    /// Next SFU-side mid for remote tracks (the SFU numbers its own m-lines).
    var nextMid = 0

    init(id: String, appId: String) {
        self.id = id
        self.appId = appId
    }

    mutating func allocateMid() -> String {
        while tracks.contains(where: { $0.mid == String(nextMid) }) { nextMid += 1 }
        defer { nextMid += 1 }
        return String(nextMid)
    }
}

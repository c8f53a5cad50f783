import Relay

// Fixture publishers: sessions whose local tracks FakeCalls plays from files (no SDP, no browser).
extension FakeCallsAPI {
    /// A new empty session of `appId` (as `sessions/new` makes).
    public func newFixtureSession(appId: String) -> String {
        let id = newSessionIdForFixture()
        sessions[id] = FakeCallsSession(id: id, appId: appId)
        return id
    }

    /// Lists `tracks` as the session's published local tracks and marks it flowing (a fixture
    /// sends from the start).
    public func publishFixtureTracks(session: String, tracks: [FakeLocalTrack]) {
        sessions[session]?.tracks += tracks.map {
            FakeCallsSession.Track(location: .local, mid: $0.mid, trackName: $0.trackName, kind: $0.kind)
        }
        sessions[session]?.flowing = true
    }

    /// Forgets a fixture session whose files could not be loaded.
    public func discardFixtureSession(_ session: String) {
        if sessions[session]?.tracks.isEmpty == true { sessions[session] = nil }
    }

    private func newSessionIdForFixture() -> String {
        var generator = SystemRandomNumberGenerator()
        while true {
            let id = String((0..<32).map { _ in "0123456789abcdef".randomElement(using: &generator)! })
            if sessions[id] == nil { return id }
        }
    }
}

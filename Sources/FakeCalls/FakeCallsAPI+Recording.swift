extension FakeCallsAPI {
    /// mid → trackName of the session's published (local) tracks: record mode names its files
    /// after them.
    func localTrackNames(session: String) -> [String: String] {
        var names: [String: String] = [:]
        for track in sessions[session]?.tracks ?? [] where track.location == .local { names[track.mid] = track.trackName }
        return names
    }
}

/// Turns the errors a guest's relay meets into sentences an operator can act on: what failed and
/// what to check (the old service's troubleshooting list, said at the moment it applies).
enum RelayErrorAdvice {
    /// An RTMP failure publishing to `url` (MediaMTX or another RTMP server).
    static func rtmp(_ error: RTMPError, url: RTMPURL) -> String {
        let endpoint = "\(url.host):\(url.port)"
        switch error.kind {
        case .connectionFailed where error.reason.localizedCaseInsensitiveContains("refused"):
            return "MediaMTX is not listening on \(endpoint): is mediamtx running? check `systemctl status mediamtx` "
                + "and its rtmpAddress (relayd publishes to rtmp://\(endpoint)/\(url.mediaMTXPath))"
        case .connectionFailed where error.reason.contains("resolve"):
            return "the RTMP host '\(url.host)' does not resolve: check mediamtx.host in config.yml (\(error.reason))"
        case .connectionFailed:
            return "cannot reach MediaMTX at \(endpoint): \(error.reason)"
        case .publishRejected, .connectRejected:
            return "MediaMTX refused the publish of '\(url.mediaMTXPath)' (publish refused by the server: \(error)): "
                + "check mediamtx.yml allows publishing to this path (paths, authentication) and that no other "
                + "publisher holds it"
        case .timeout:
            return "\(endpoint) accepted the connection but did not complete the RTMP publish (\(error.reason)): "
                + "check it is MediaMTX's RTMP port (rtmpAddress in mediamtx.yml)"
        case .closedByPeer:
            return "MediaMTX closed the RTMP connection for '\(url.mediaMTXPath)' (\(error)): see `journalctl -u mediamtx`"
        default:
            return "RTMP publish to rtmp://\(endpoint)/\(url.mediaMTXPath) failed: \(error)"
        }
    }

    /// A failure while subscribing to a guest's tracks at Calls.
    static func subscribe(_ error: any Error, guest: PublishedGuest) -> String {
        guard let calls = error as? CallsError else {
            if let failure = error as? RelayFailure { return failure.description }
            return "subscribing to the tracks of \(guest.guestId) failed: \(error)"
        }
        if calls.isTrackNotFlowingYet || calls.code == "not_found_track_error" {
            let missing = calls.trackErrors.compactMap(\.trackName)
            let names = GuestPublisher.pythonList(missing.isEmpty ? guest.trackNames : missing)
            return "Calls has no flowing tracks \(names) in the session \(guest.sessionId) of \(guest.guestId): "
                + "the guest's browser sends no media yet, or the track names do not match what it published "
                + "(relayd subscribes to \(GuestPublisher.pythonList(guest.trackNames)); check track names match)"
        }
        // CallsError's own text already names the setting to check (token, app id, base URL).
        return calls.description
    }

    /// The publish check (`GET /sessions/{publisher}`) as a lifecycle input.
    static func publisherCheck(_ result: Result<SessionStateResponse, any Error>, guest: PublishedGuest)
        -> GuestRelayLifecycle.PublisherCheck
    {
        switch result {
        case .success(let state):
            let wanted = Set(guest.trackNames)
            let tracks = state.tracks.filter { $0.trackName.map(wanted.contains) ?? false }
            if tracks.isEmpty { return .gone("its tracks were closed") }
            return tracks.contains { ($0.status ?? "active") == "active" } ? .active : .inactive
        case .failure(let error):
            if let calls = error as? CallsError, calls.httpStatus == 404 || calls.httpStatus == 410 {
                return .gone(calls.httpStatus == 410 ? "Calls says the session is closed" : "Calls no longer knows the session")
            }
            return .unknown("\(error)")
        }
    }
}

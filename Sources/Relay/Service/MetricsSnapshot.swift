import Foundation

extension GuestRelay {
    /// The figures `/metrics` shows for this guest; thread-safe (copies, never the media thread's own state).
    func metricsSnapshot() -> GuestMetricsSnapshot {
        let (state, driver, publisher, media, publishes) = lock.withLock {
            (lifecycle.state, self.driver, self.publisher, self.media, self.publishes)
        }
        var snapshot = GuestMetricsSnapshot(guestId: guest.guestId, state: state.rawValue)
        if let media { snapshot.media = media.published.value }
        if let driver {
            let statistics = driver.statistics
            snapshot.rtcpReceived = statistics.rtcpReceived
            snapshot.srtpAuthFailures = statistics.srtpAuthFailures
        }
        if let publisher {
            let counters = publisher.counters
            snapshot.videoFramesSent = counters.videoFramesSent
            snapshot.audioFramesSent = counters.audioFramesSent
            snapshot.rtmpBytesSent = counters.bytesWritten
            snapshot.rtmpQueuedBytes = publisher.queuedBytes
        }
        snapshot.rtmpReconnects = max(0, publishes - 1)
        return snapshot
    }
}

extension RelayGuests {
    /// Every relay's metrics snapshot.
    func metricsSnapshots() -> [GuestMetricsSnapshot] {
        statuses().compactMap { relay(for: $0.guestId)?.metricsSnapshot() }
    }
}

extension RelayMetrics {
    /// The `/metrics` response: guests answered by WHIP but without a relay yet count as "publishing".
    func response(to request: HTTPRequest, whip: WHIPEndpoint, guests: RelayGuests) async -> HTTPResponse {
        if let adminToken {
            let presented = request.headers["Authorization"].flatMap(BearerToken.parse)
            guard let presented, BearerToken.equal(presented, adminToken) else {
                var refusal = HTTPResponse(status: 401, contentType: "text/plain; charset=utf-8",
                                           text: "/metrics needs 'Authorization: Bearer <relay.admin_token>'\n")
                refusal.headers.set("WWW-Authenticate", "Bearer")
                return refusal
            }
        }
        var snapshots = await guests.metricsSnapshots()
        let relayed = Set(snapshots.map(\.guestId))
        for live in await whip.liveSessions() where !relayed.contains(live.guestId) {
            snapshots.append(GuestMetricsSnapshot(guestId: live.guestId, state: "publishing"))
        }
        var response = HTTPResponse(status: 200, contentType: Self.contentType, text: exposition(guests: snapshots))
        response.headers.set("Cache-Control", "no-store")
        return response
    }
}

/// Counts every request relayd makes to the Calls API by operation and outcome, around the
/// real client (libcurl). Paths carry session ids: only the operation's name becomes a label.
struct MeteredHTTPClient: HTTPClient {
    let base: any HTTPClient
    let metrics: RelayMetrics

    func send(_ request: HTTPClientRequest) async throws -> HTTPResponse {
        let operation = Self.operation(method: request.method, url: request.url)
        do {
            let response = try await base.send(request)
            metrics.recordCallsRequest(operation: operation, outcome: Self.outcome(status: response.status))
            return response
        } catch let error as HTTPClientError {
            metrics.recordCallsRequest(operation: operation, outcome: error.kind == .timedOut ? "timeout" : "transport_error")
            throw error
        } catch {
            if !(error is CancellationError) { metrics.recordCallsRequest(operation: operation, outcome: "transport_error") }
            throw error
        }
    }

    static func outcome(status: Int) -> String {
        switch status {
        case 200..<300: "ok"
        case 400..<500: "client_error"
        default: "server_error"
        }
    }

    /// `…/sessions/new` → new_session, `…/tracks/new` → tracks_new, `…/renegotiate` →
    /// renegotiate, `…/tracks/close` → tracks_close, `GET …/sessions/{id}` → session_state.
    static func operation(method: String, url: String) -> String {
        let path = URLComponents(string: url)?.path ?? url
        if path.hasSuffix("/sessions/new") { return "new_session" }
        if path.hasSuffix("/tracks/new") { return "tracks_new" }
        if path.hasSuffix("/renegotiate") { return "renegotiate" }
        if path.hasSuffix("/tracks/close") { return "tracks_close" }
        let parts = path.split(separator: "/")
        if method == "GET", parts.count >= 2, parts[parts.count - 2] == "sessions" { return "session_state" }
        return "other"
    }
}

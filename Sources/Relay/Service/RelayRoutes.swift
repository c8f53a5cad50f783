import Foundation

/// relayd's HTTP surface: the WHIP endpoint, then health, then a 404 that says what exists.
struct RelayRoutes: Sendable {
    let whip: WHIPEndpoint
    let guests: RelayGuests
    /// `GET /guest_join` (nil: not served).
    var guestPage: GuestPage? = nil
    /// `GET /metrics` (nil: not served).
    var metrics: RelayMetrics? = nil
    /// `/operator`, thumbnails and kick (nil: not served).
    var operatorRoutes: OperatorRoutes? = nil

    func handle(_ request: HTTPRequest) async -> HTTPResponse {
        if let response = await pageOrMetrics(request) { return response }
        if let operatorRoutes, let response = await operatorRoutes.handle(request) { return response }
        if request.method == "GET", request.path == WHIPEndpoint.sessionsPath {
            return await sessions()
        }
        if let response = await whip.handle(request) { return response }
        switch (request.method, request.path) {
        case ("GET", "/healthz"), ("HEAD", "/healthz"):
            return HTTPResponse(status: 200, contentType: "text/plain; charset=utf-8", text: "ok\n")
        default:
            return HTTPResponse(
                status: 404, contentType: "text/plain; charset=utf-8",
                text: "no such resource: \(request.method) \(request.path) (relayd serves /api/calls/whip/{guest}, /api/calls/sessions, /healthz, /operator)\n")
        }
    }

    /// Every live guest with its relay's state (the WHIP registry knows who is live; the relay
    /// knows how far each got). The keys of each entry are documented on `GuestRelayStatus`.
    private func sessions() async -> HTTPResponse {
        let relays = Dictionary(uniqueKeysWithValues: await guests.statuses().map { ($0.guestId, $0) })
        let live = await whip.liveSessions()
        var list = live.map { guest in relays[guest.guestId] ?? .publishing(guest) }
        // Relays started without WHIP (the demo's fixture guest, tools) are listed too.
        let viaWHIP = Set(live.map(\.guestId))
        list += relays.values.filter { !viaWHIP.contains($0.guestId) }.sorted { $0.guestId < $1.guestId }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let body = (try? encoder.encode(["sessions": list])) ?? Data("{\"sessions\":[]}".utf8)
        var response = HTTPResponse(status: 200, headers: ["Content-Type": "application/json"], body: body)
        response.headers.set("Access-Control-Allow-Origin", "*")
        return response
    }
}

import Foundation

/// relayd's HTTP surface: the WHIP endpoint, then health, then a 404 that says what exists.
struct RelayRoutes: Sendable {
    let whip: WHIPEndpoint

    func handle(_ request: HTTPRequest) async -> HTTPResponse {
        if let response = await whip.handle(request) { return response }
        switch (request.method, request.path) {
        case ("GET", "/healthz"), ("HEAD", "/healthz"):
            return HTTPResponse(status: 200, contentType: "text/plain; charset=utf-8", text: "ok\n")
        default:
            return HTTPResponse(
                status: 404, contentType: "text/plain; charset=utf-8",
                text: "no such resource: \(request.method) \(request.path) (relayd serves /api/calls/whip/{guest}, /api/calls/sessions, /healthz)\n")
        }
    }
}

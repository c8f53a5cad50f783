import Foundation

/// The operator's surface, all behind `AdminAuth`:
/// - `GET /operator`: the live page (OperatorPage);
/// - `GET /api/operator/guests`: every configured guest with its live status, polled by the page;
/// - `GET /api/calls/guests/{id}/snapshot.jpg`: the guest's latest thumbnail;
/// - `POST /api/calls/guests/{id}/kick`: ends the guest's session (as its DELETE would).
struct OperatorRoutes: Sendable {
    struct ConfiguredGuest: Codable, Sendable {
        var id: String
        var name: String
        var enabled: Bool
    }

    struct GuestView: Encodable {
        var id: String
        var name: String
        var enabled: Bool
        var joinPath: String
        var live: Bool
        var status: GuestRelayStatus?
        var snapshot: SnapshotInfo?
    }

    struct SnapshotInfo: Encodable {
        var width: Int
        var height: Int
        var takenAt: String
        var url: String
    }

    static let guestsPath = "/api/operator/guests"
    static let guestPrefix = "/api/calls/guests/"

    let auth: AdminAuth
    let configured: [ConfiguredGuest]
    let whip: WHIPEndpoint
    let guests: RelayGuests
    let snapshots: GuestSnapshots

    /// nil when the request is not for the operator surface.
    func handle(_ request: HTTPRequest) async -> HTTPResponse? {
        let path = request.path
        let isPage = path == "/operator" || path == "/operator/"
        let isScript = path == OperatorPage.scriptPath
        guard isPage || isScript || path == Self.guestsPath || path.hasPrefix(Self.guestPrefix) else { return nil }
        if let refusal = auth.check(request) { return refusal }
        if isPage {
            guard request.method == "GET" || request.method == "HEAD" else { return Self.methodNotAllowed("GET") }
            return OperatorPage.response()
        }
        if isScript {
            guard request.method == "GET" || request.method == "HEAD" else { return Self.methodNotAllowed("GET") }
            return OperatorPage.scriptResponse()
        }
        if path == Self.guestsPath {
            guard request.method == "GET" else { return Self.methodNotAllowed("GET") }
            return await guestList()
        }
        let rest = path.dropFirst(Self.guestPrefix.count).split(separator: "/", omittingEmptySubsequences: false)
        guard rest.count == 2, let guest = configured.first(where: { $0.id == rest[0] }) else {
            return Self.text(404, "no such guest resource: \(path) (guests are listed under 'guests:' in config.yml)")
        }
        switch (request.method, rest[1]) {
        case ("GET", "snapshot.jpg"):
            guard let picture = snapshots.existing(for: guest.id)?.picture else {
                return Self.text(404, "no picture of \(guest.id) yet: it appears with the guest's first keyframe")
            }
            var response = HTTPResponse(status: 200, headers: ["Content-Type": "image/jpeg"], body: Data(picture.jpeg))
            response.headers.set("Cache-Control", "no-store")
            return response
        case ("POST", "kick"):
            guard await whip.end(guestId: guest.id, reason: .kicked) else {
                return Self.text(404, "\(guest.id) has no live session to end")
            }
            return HTTPResponse(status: 204)
        case (_, "snapshot.jpg"): return Self.methodNotAllowed("GET")
        case (_, "kick"): return Self.methodNotAllowed("POST")
        default: return Self.text(404, "no such guest resource: \(path)")
        }
    }

    private func guestList() async -> HTTPResponse {
        let live = Set(await whip.liveSessions().map(\.guestId))
        let statuses = Dictionary(await guests.statuses().map { ($0.guestId, $0) }, uniquingKeysWith: { $1 })
        let formatter = ISO8601DateFormatter()
        let views = configured.map { guest in
            GuestView(
                id: guest.id, name: guest.name, enabled: guest.enabled,
                joinPath: "/guest_join?guest=\(guest.id)", live: live.contains(guest.id), status: statuses[guest.id],
                snapshot: snapshots.existing(for: guest.id)?.picture.map {
                    SnapshotInfo(width: $0.size.width, height: $0.size.height, takenAt: formatter.string(from: $0.takenAt),
                                 url: "\(Self.guestPrefix)\(guest.id)/snapshot.jpg")
                })
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        struct Body: Encodable {
            var guests: [GuestView]
            var serverTime: String
        }
        let body = (try? encoder.encode(Body(guests: views, serverTime: formatter.string(from: Date())))) ?? Data("{}".utf8)
        var response = HTTPResponse(status: 200, headers: ["Content-Type": "application/json"], body: body)
        response.headers.set("Cache-Control", "no-store")
        return response
    }

    private static func text(_ status: Int, _ message: String) -> HTTPResponse {
        HTTPResponse(status: status, contentType: "text/plain; charset=utf-8", text: message + "\n")
    }

    private static func methodNotAllowed(_ allow: String) -> HTTPResponse {
        var response = text(405, "method not allowed here; use \(allow)")
        response.headers.set("Allow", allow)
        return response
    }
}

import Foundation

/// The responses the WHIP endpoint sends, with the headers RFC 9725 asks for.
enum WHIPResponses {
    static func addCORS(to response: inout HTTPResponse) {
        response.headers.set("Access-Control-Allow-Origin", "*")
        response.headers.set("Access-Control-Expose-Headers", "Location, ETag, Link, Retry-After")
    }

    static func preflight() -> HTTPResponse {
        var response = HTTPResponse(status: 204)
        response.headers.set("Access-Control-Allow-Methods", "POST, DELETE, PATCH, GET, OPTIONS")
        response.headers.set("Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match")
        response.headers.set("Access-Control-Max-Age", "600")
        response.headers.set("Accept-Post", "application/sdp")
        return response
    }

    static func created(answer: String, guest: PublishedGuest, iceServers: [String]) -> HTTPResponse {
        var response = HTTPResponse(status: 201, contentType: "application/sdp", text: answer)
        response.headers.set("Location", WHIPEndpoint.whipPrefix + guest.guestId + "/" + guest.resourceId)
        response.headers.set("ETag", guest.etag)
        for server in iceServers { response.headers.add("Link", "<\(server)>; rel=\"ice-server\"") }
        return response
    }

    /// A short plain-text reason: what WHIP clients and people with curl both read.
    static func problem(_ status: Int, _ reason: String) -> HTTPResponse {
        HTTPResponse(status: status, contentType: "text/plain; charset=utf-8", text: reason + "\n")
    }

    static func busy(_ reason: String, retryAfterSeconds: Int = 1) -> HTTPResponse {
        var response = problem(503, reason)
        response.headers.set("Retry-After", String(retryAfterSeconds))
        return response
    }

    static func sessionList(_ guests: [PublishedGuest]) -> HTTPResponse {
        struct Entry: Encodable {
            var guestId: String
            var sessionId: String
            var tracks: [String]
            var since: String
        }
        let formatter = ISO8601DateFormatter()
        let entries = guests.map {
            Entry(guestId: $0.guestId, sessionId: $0.sessionId, tracks: $0.trackNames, since: formatter.string(from: $0.since))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let body = (try? encoder.encode(["sessions": entries])) ?? Data("{\"sessions\":[]}".utf8)
        return HTTPResponse(status: 200, headers: ["Content-Type": "application/json"], body: body)
    }
}

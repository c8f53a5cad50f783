import Foundation

/// Guards the admin surface (operator page, thumbnails, kick): `relay.admin_token` presented as
/// `Authorization: Bearer <token>` (tools) or as the password of HTTP Basic auth (a person in a
/// browser; any user name). Without a configured token the admin surface is closed, never open.
struct AdminAuth: Sendable {
    let token: String?

    /// nil when the request may go on; otherwise the refusal to send.
    func check(_ request: HTTPRequest) -> HTTPResponse? {
        guard let token, !token.isEmpty else {
            return HTTPResponse(status: 403, contentType: "text/plain; charset=utf-8",
                                text: "the operator page is off: set relay.admin_token in config.yml (or RELAYD_ADMIN_TOKEN) and restart relayd\n")
        }
        if let header = request.headers["Authorization"], let presented = Self.presentedToken(header),
           BearerToken.equal(presented, token) {
            return nil
        }
        var response = HTTPResponse(status: 401, contentType: "text/plain; charset=utf-8",
                                    text: "the operator page needs the admin token (user name: anything, password: relay.admin_token)\n")
        response.headers.set("WWW-Authenticate", "Basic realm=\"relayd operator\", charset=\"UTF-8\"")
        response.headers.set("Cache-Control", "no-store")
        return response
    }

    /// The token in a Bearer header, or the password of a Basic one.
    static func presentedToken(_ header: String) -> String? {
        if let bearer = BearerToken.parse(header) { return bearer }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "basic",
              let decoded = Data(base64Encoded: String(parts[1]).trimmingCharacters(in: .whitespaces)),
              let text = String(data: decoded, encoding: .utf8),
              let colon = text.firstIndex(of: ":") else { return nil }
        return String(text[text.index(after: colon)...])
    }
}

import Foundation

/// `GET /guest_join`: the page a remote guest opens. It is one self-contained HTML document
/// (see `GuestPageHTML`) served with a strict Content-Security-Policy — nothing loads from
/// anywhere, only relayd's own origin is fetched, and the one inline script and style run
/// because they carry this response's nonce — and `Cache-Control: no-store`, so a guest never
/// runs a stale page after an upgrade.
public struct GuestPage: Sendable {
    public struct Guest: Sendable, Equatable {
        public var id: String
        public var name: String

        public init(id: String, name: String) {
            self.id = id
            self.name = name
        }
    }

    public static let path = "/guest_join"

    /// The guests offered in the page's picker (the enabled ones; `?guest=` can name any).
    public let guests: [Guest]

    public init(guests: [Guest]) { self.guests = guests }

    public init(config: RelayConfig) {
        self.init(guests: config.guests.filter(\.enabled).map { Guest(id: $0.id, name: $0.name) })
    }

    /// The page for GET/HEAD on `path`; nil for any other request.
    public func handle(_ request: HTTPRequest) -> HTTPResponse? {
        guard request.path == Self.path || request.path == Self.path + "/" else { return nil }
        guard request.method == "GET" || request.method == "HEAD" else {
            var response = HTTPResponse(status: 405, contentType: "text/plain; charset=utf-8",
                                        text: "\(Self.path) is a page: use GET\n")
            response.headers.set("Allow", "GET, HEAD")
            return response
        }
        return render(nonce: Self.makeNonce())
    }

    /// The page with a given nonce (tests pass their own to compare).
    public func render(nonce: String) -> HTTPResponse {
        let html = GuestPageHTML.template
            .replacingOccurrences(of: "{{NONCE}}", with: nonce)
            .replacingOccurrences(of: "{{GUEST_OPTIONS}}", with: optionsHTML)
        var response = HTTPResponse(status: 200, contentType: "text/html; charset=utf-8", text: html)
        response.headers.set("Content-Security-Policy", Self.contentSecurityPolicy(nonce: nonce))
        response.headers.set("Cache-Control", "no-store")
        response.headers.set("X-Content-Type-Options", "nosniff")
        response.headers.set("Referrer-Policy", "no-referrer")
        // Camera and microphone for this origin only; nothing else the page does not use.
        response.headers.set("Permissions-Policy", "camera=(self), microphone=(self), geolocation=(), payment=(), usb=()")
        return response
    }

    /// Everything is refused except: the nonce'd inline script and style, fetches to relayd's own
    /// origin (the WHIP endpoint), the local camera preview. No framing (clickjacking), no
    /// `<base>` rewriting, no form posts anywhere.
    public static func contentSecurityPolicy(nonce: String) -> String {
        [
            "default-src 'none'",
            "script-src 'nonce-\(nonce)'",
            "style-src 'nonce-\(nonce)'",
            "connect-src 'self'",
            "media-src 'self' blob: mediastream:",
            "img-src 'self' data:",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ].joined(separator: "; ")
    }

    private var optionsHTML: String {
        guests.map { "<option value=\"\(Self.escape($0.id))\">\(Self.escape($0.name))</option>" }.joined()
    }

    /// 128 random bits, base64 (CSP 3 asks for at least 128 bits that an attacker cannot guess).
    static func makeNonce() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return Data(bytes).base64EncodedString()
    }

    /// Guest names come from config.yml: they are text, never markup.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}

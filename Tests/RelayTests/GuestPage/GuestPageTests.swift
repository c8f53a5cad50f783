import Foundation
import Testing
@testable import Relay

/// `GET /guest_join`: one self-contained page under a strict CSP whose nonce matches the one
/// inline script and style, never cached, guest names escaped, the ids tests and people use.
@Suite struct GuestPageTests {
    let page = GuestPage(guests: [.init(id: "guest1", name: "Guest <One> & \"Co\""), .init(id: "guest3", name: "Three")])

    func get(_ path: String = GuestPage.path, method: String = "GET", query: [String: String] = [:]) throws -> HTTPResponse {
        try #require(page.handle(HTTPRequest(method: method, path: path, query: query)))
    }

    @Test func servesOneSelfContainedPageWithTheIdsTestsUse() throws {
        let response = try get(query: ["guest": "guest1"])
        #expect(response.status == 200)
        #expect(response.headers["Content-Type"] == "text/html; charset=utf-8")
        let html = response.text
        for id in ["guest", "preview", "join", "leave", "state", "connection", "error", "video"] {
            #expect(html.contains("id=\"\(id)\""), "missing element id \(id)")
        }
        #expect(html.contains("window.relaydGuest = api"))
        #expect(html.contains("'/api/calls/whip/'"))
        #expect(html.contains("bundlePolicy: 'max-bundle'"))
        #expect(html.contains("direction: 'sendonly'"))
        #expect(html.contains("'Content-Type': 'application/sdp'"))
        #expect(html.contains("method: 'DELETE'"))
        // Self-contained: nothing loaded from anywhere.
        for external in ["<script src", "<link", "src=\"http", "href=\"http", "@import", "url(", "<iframe", "<img"] {
            #expect(!html.contains(external), "the page references something external: \(external)")
        }
        #expect(!html.contains("{{"), "a placeholder was left in the page")
    }

    @Test func strictCSPWithAFreshNonceThatMatchesTheInlineScriptAndStyle() throws {
        let first = try get(), second = try get()
        let csp = try #require(first.headers["Content-Security-Policy"])
        #expect(csp.contains("default-src 'none'"))
        #expect(csp.contains("connect-src 'self'"))
        #expect(csp.contains("frame-ancestors 'none'"))
        #expect(csp.contains("base-uri 'none'"))
        #expect(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval") && !csp.contains("*"))
        let nonce = try #require(Self.nonce(in: csp))
        #expect(Data(base64Encoded: nonce)?.count == 16)
        #expect(first.text.contains("<script nonce=\"\(nonce)\">"))
        #expect(first.text.contains("<style nonce=\"\(nonce)\">"))
        #expect(first.text.components(separatedBy: "<script").count == 2, "exactly one script element")
        #expect(Self.nonce(in: second.headers["Content-Security-Policy"] ?? "") != nonce, "the nonce must change per response")
        #expect(first.headers["Cache-Control"] == "no-store")
        #expect(first.headers["X-Content-Type-Options"] == "nosniff")
        #expect(first.headers["Permissions-Policy"]?.contains("camera=(self)") == true)
    }

    @Test func guestNamesFromTheConfigAreEscapedAndDisabledGuestsAreNotOffered() throws {
        let html = try get().text
        #expect(html.contains("<option value=\"guest1\">Guest &lt;One&gt; &amp; &quot;Co&quot;</option>"))
        #expect(html.contains("<option value=\"guest3\">Three</option>"))
        let fromConfig = GuestPage(config: RelayConfig(
            cloudflare: CloudflareConfig(callsAppId: "a", callsAPIToken: Secret("t")),
            guests: [GuestConfig(id: "guest1"), GuestConfig(id: "guest2", enabled: false)]))
        #expect(fromConfig.guests.map(\.id) == ["guest1"])
    }

    @Test func otherMethodsAndPathsAreNotThePage() throws {
        let post = try get(method: "POST")
        #expect(post.status == 405)
        #expect(post.headers["Allow"] == "GET, HEAD")
        #expect(page.handle(HTTPRequest(method: "GET", path: "/guest_join.html")) == nil)
        #expect(page.handle(HTTPRequest(method: "GET", path: "/")) == nil)
        #expect(try get("/guest_join/").status == 200)
    }

    /// The script is valid JavaScript (node parses it without running it), when node is installed.
    @Test func theInlineScriptParses() throws {
        guard let node = ["/usr/bin/node", "/usr/local/bin/node"].first(where: FileManager.default.isExecutableFile) else { return }
        let html = try get().text
        let open = try #require(html.range(of: "<script nonce="))
        let start = try #require(html.range(of: "\">", range: open.upperBound..<html.endIndex))
        let end = try #require(html.range(of: "</script>"))
        let script = String(html[start.upperBound..<end.lowerBound])
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("relayd-guest-page-\(UUID().uuidString).js")
        try script.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: node)
        process.arguments = ["--check", file.path]
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "node --check: \(message)")
    }

    /// Served by RelayServer over real HTTP, with its headers intact.
    @Test func relayServerServesThePageAndTheRoutesAroundIt() async throws {
        let relay = try RelayServer(config: RelayConfig(
            cloudflare: CloudflareConfig(callsAppId: "app", callsAPIToken: Secret("token")),
            guests: [GuestConfig(id: "guest1")],
            relay: RelayServiceConfig(listenHost: "127.0.0.1", listenPort: 0, callsBaseURL: "http://127.0.0.1:9/v1")),
            logger: .init(label: "guestpage.test"))
        let http = try CurlHTTPClient()
        let response = try await http.send(HTTPClientRequest(method: "GET", url: "http://127.0.0.1:\(relay.port)/guest_join?guest=guest1"))
        #expect(response.status == 200)
        #expect(response.headers["Content-Security-Policy"]?.contains("script-src 'nonce-") == true)
        #expect(response.headers["Cache-Control"] == "no-store")
        #expect(response.text.contains("<option value=\"guest1\">guest1</option>"))
        let health = try await http.send(HTTPClientRequest(method: "GET", url: "http://127.0.0.1:\(relay.port)/healthz"))
        #expect(health.status == 200)
        await relay.shutdown()
    }

    static func nonce(in csp: String) -> String? {
        guard let range = csp.range(of: "script-src 'nonce-") else { return nil }
        return csp[range.upperBound...].split(separator: "'").first.map(String.init)
    }
}

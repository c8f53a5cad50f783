import FakeCalls
import Foundation
import Logging
@testable import Relay

/// Headless Chromium publishing camera + microphone through relayd's WHIP endpoint into a
/// given FakeCalls (the setup of BrowserForwardTests, reused): relayd's RelayServer, the page
/// server (BrowserPage, or another page) and the browser. `stop()` kills the browser first.
final class BrowserPublishRig: @unchecked Sendable {
    // @unchecked: immutable after init; stop() runs once, from the test.
    let relay: RelayServer
    let page: MicroHTTPServer
    let browser: ChromiumProcess
    let reports = BrowserForwardTests.PageReports()

    init(fake: FakeCallsServer, appId: String, token: String, html: String = BrowserPage.html, logger: Logger) throws {
        relay = try RelayServer(config: RelayConfig(
            cloudflare: CloudflareConfig(callsAppId: appId, callsAPIToken: Secret(token)),
            guests: [GuestConfig(id: "guest1")],
            relay: RelayServiceConfig(listenHost: "127.0.0.1", listenPort: 0, callsBaseURL: fake.baseURL)), logger: logger)
        let http = try CurlHTTPClient()
        let reports = reports
        let whipURL = "http://127.0.0.1:\(relay.port)/api/calls/whip/guest1"
        page = try MicroHTTPServer(configuration: HTTPServerConfiguration(host: "127.0.0.1", port: 0, logger: logger)) { request in
            switch (request.method, request.path) {
            case ("GET", "/index.html"):
                return HTTPResponse(status: 200, contentType: "text/html", text: html)
            case ("POST", "/offer"):
                let published = try? await http.send(HTTPClientRequest(
                    method: "POST", url: whipURL, headers: ["Content-Type": "application/sdp"], body: request.body))
                guard let published, published.status == 201 else {
                    return HTTPResponse(status: 502, contentType: "text/plain", text: "WHIP said \(published?.status ?? 0): \(published?.text ?? "")")
                }
                return HTTPResponse(status: 200, contentType: "application/sdp", text: published.text)
            case ("POST", "/stats"):
                reports.add(stats: request.body)
                return HTTPResponse(status: 204)
            case ("POST", "/error"):
                reports.add(error: String(decoding: request.body, as: UTF8.self))
                return HTTPResponse(status: 204)
            default:
                return HTTPResponse(status: 404)
            }
        }
        do {
            browser = try ChromiumProcess(url: "http://127.0.0.1:\(page.port)/index.html", binary: BrowserForwardTests.chromium)
        } catch {
            page.stop()
            throw error
        }
    }

    /// The Calls session of the WHIP publish.
    func publisherSession() async throws -> String {
        try await BrowserForwardTests.waitForPublisher(relay: relay, reports: reports)
    }

    func stop() async {
        browser.terminate()
        page.stop()
        await relay.shutdown()
    }
}

import FakeCalls
import Foundation
import Logging
import Testing
@testable import Relay

/// relayd's WHIP endpoint → CallsClient (libcurl) → FakeCalls (libmicrohttpd), all over real
/// loopback HTTP, with recorded Chromium offers.
@Suite struct PublishFlowTests {
    static let appId = "e2e-app"
    static let token = "e2e-token-must-never-be-logged-7b1d"

    final class Stack: Sendable {
        let fake: FakeCallsServer
        let relay: RelayServer
        let http: CurlHTTPClient
        let capture = LogCapture()
        var base: String { "http://127.0.0.1:\(relay.port)" }

        init(whipToken: String? = nil) throws {
            let logger = capture.redactingLogger(label: "e2e", registry: SecretRegistry([Secret(PublishFlowTests.token)]))
            fake = try FakeCallsServer(options: FakeCallsOptions(appId: PublishFlowTests.appId, token: PublishFlowTests.token),
                                       logger: logger)
            let config = RelayConfig(
                cloudflare: CloudflareConfig(callsAppId: PublishFlowTests.appId, callsAPIToken: Secret(PublishFlowTests.token)),
                guests: [GuestConfig(id: "guest1"), GuestConfig(id: "guest2"), GuestConfig(id: "off", enabled: false)],
                relay: RelayServiceConfig(listenHost: "127.0.0.1", listenPort: 0, callsBaseURL: fake.baseURL,
                                          whipBearerToken: whipToken.map(Secret.init)))
            relay = try RelayServer(config: config, logger: logger)
            http = try CurlHTTPClient()
        }

        func post(_ guest: String = "guest1", body: Data, contentType: String = "application/sdp",
                  headers: HTTPHeaders = [:]) async throws -> HTTPResponse {
            var all = headers
            all.set("Content-Type", contentType)
            return try await http.send(HTTPClientRequest(method: "POST", url: "\(base)/api/calls/whip/\(guest)",
                                                         headers: all, body: body))
        }

        func post(_ guest: String = "guest1", fixture: String) async throws -> HTTPResponse {
            try await post(guest, body: Data(try FixturePaths.text("sdp/\(fixture)").utf8))
        }

        func liveCount() async -> Int { await relay.whip.liveSessions().count }

        deinit { fake.stop() }
    }

    @Test(arguments: ["chromium-default", "chromium-h264", "chromium-vp8only", "chromium-simulcast", "chromium-audio", "chromium-video"])
    func aRecordedChromeOfferGetsA201AndAMatchingAnswer(fixture: String) async throws {
        let stack = try Stack()
        let offer = try SDP.parse(try FixturePaths.text("sdp/\(fixture).sdp"))
        let response = try await stack.post(fixture: "\(fixture).sdp")
        #expect(response.status == 201, "\(response.text)")
        #expect(response.headers["Content-Type"] == "application/sdp")
        #expect(response.headers["Location"]?.hasPrefix("/api/calls/whip/guest1/") == true)
        #expect(response.headers["ETag"]?.hasPrefix("\"") == true)
        let answer = try SDP.parse(response.text)
        #expect(answer.mediaSections.map(\.mid) == offer.mediaSections.map(\.mid))
        #expect(answer.isIceLite)
        for (offered, answered) in zip(offer.mediaSections, answer.mediaSections) {
            #expect(answered.kind == offered.kind)
            #expect(answer.direction(for: answered) == .recvonly)
            #expect(answer.setup(for: answered) == .passive)
            let codec = try #require(answered.negotiatedCodecs.codecs.first)
            #expect(offered.payloadTypes.contains(codec.payloadType))
            if offered.kind == .video, fixture != "chromium-vp8only" { #expect(codec.name == "H264") }
            if offered.kind == .audio { #expect(codec.name.lowercased() == "opus") }
        }
        #expect(answer.fingerprint(for: answer.mediaSections[0])?.value == stack.fake.mediaSide.certificate.fingerprint.value)
        let candidate = try #require(answer.mediaSections[0].candidates.first)
        #expect(candidate.port == stack.fake.udpPort)
        #expect(await stack.liveCount() == 1)
    }

    @Test func theExpectedLogSequenceComesInOrderWithMetadata() async throws {
        let stack = try Stack()
        let response = try await stack.post(fixture: "chromium-default.sdp")
        #expect(response.status == 201)
        let session = try #require(await stack.relay.whip.liveSessions().first?.sessionId)
        let expected = [
            "Creating Cloudflare Calls session for guest1 (two-step flow)",
            "Created empty session: \(session)",
            "Added 2 tracks to session \(session): ['video', 'audio']",
            "Successfully created session for guest1: \(session) with tracks ['video', 'audio']",
            "Cloudflare Calls session created for guest1: \(session) with tracks ['video', 'audio']",
        ]
        let lines = stack.capture.entries.filter { $0.level == .info && $0.label == "e2e" }
        let positions = expected.map { line in lines.firstIndex { $0.message == line } }
        #expect(positions.allSatisfy { $0 != nil }, "\(stack.capture.messages)")
        #expect(positions.compactMap { $0 } == positions.compactMap { $0 }.sorted())
        for index in positions.compactMap({ $0 }) { #expect(lines[index]["guest"] == "guest1") }
        for index in positions.dropFirst().compactMap({ $0 }) { #expect(lines[index]["session"] == session) }
        #expect(!stack.capture.text.contains(Self.token))
    }

    @Test func leavingEndsTheSessionOnBothSides() async throws {
        let stack = try Stack()
        let response = try await stack.post(fixture: "chromium-h264.sdp")
        let location = try #require(response.headers["Location"])
        let session = try #require(await stack.relay.whip.liveSessions().first?.sessionId)
        #expect(await stack.fake.api.sessionsHoldingTracks().contains(session))
        let deleted = try await stack.http.send(HTTPClientRequest(method: "DELETE", url: stack.base + location))
        #expect(deleted.status == 200)
        #expect(await stack.liveCount() == 0)
        // Closing every track ends the Calls session (FakeCalls answers 410 for it from now on).
        #expect(await stack.fake.api.sessionsHoldingTracks().isEmpty)
    }

    @Test func aGuestJoiningAgainReplacesItsSession() async throws {
        let stack = try Stack()
        _ = try await stack.post(fixture: "chromium-h264.sdp")
        let first = try #require(await stack.relay.whip.liveSessions().first?.sessionId)
        let second = try await stack.post(fixture: "chromium-h264.sdp")
        #expect(second.status == 201)
        #expect(await stack.liveCount() == 1)
        let live = try #require(await stack.relay.whip.liveSessions().first?.sessionId)
        let holding = await stack.fake.api.sessionsHoldingTracks()
        #expect(holding.contains(live))
        #expect(!holding.contains(first))
    }

    /// Each bad input from whip.md: a clear answer, no crash, nothing left behind.
    @Test(arguments: [
        ("empty body", Data(), "application/sdp", 400),
        ("binary garbage", Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) }), "application/sdp", 400),
        ("wrong content type", Data("v=0\r\n".utf8), "text/plain", 415),
        ("no m-lines", Data("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n".utf8), "application/sdp", 422),
        ("non-UTF-8", Data([0x76, 0x3D, 0x30, 0x0D, 0x0A, 0xC3, 0x28, 0xFF]), "application/sdp", 400),
    ])
    func badInputIsRefusedWithAReason(_ name: String, body: Data, contentType: String, status: Int) async throws {
        let stack = try Stack()
        let response = try await stack.post(body: body, contentType: contentType)
        #expect(response.status == status, "\(name): \(response.text)")
        #expect(!response.text.isEmpty)
        #expect(await stack.liveCount() == 0)
        #expect(await stack.fake.api.sessionsHoldingTracks().isEmpty)
    }

    @Test func offersWithoutWhatWebRTCNeedsAre422() async throws {
        let stack = try Stack()
        let chrome = try FixturePaths.text("sdp/chromium-h264.sdp")
        let lines = chrome.components(separatedBy: "\r\n")
        let cases: [(String, String)] = [
            ("no ICE credentials", lines.filter { !$0.hasPrefix("a=ice-ufrag") && !$0.hasPrefix("a=ice-pwd") }.joined(separator: "\r\n")),
            ("no fingerprint", lines.filter { !$0.hasPrefix("a=fingerprint") }.joined(separator: "\r\n")),
            ("datachannel only", "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n"),
        ]
        for (name, sdp) in cases {
            let response = try await stack.post(body: Data(sdp.utf8))
            #expect(response.status == 422, "\(name): \(response.status) \(response.text)")
        }
        #expect(await stack.liveCount() == 0)
    }

    @Test func tenMegabytesIsRefusedWithoutReachingAnyone() async throws {
        let stack = try Stack()
        do {
            let response = try await stack.post(body: Data(count: 10 << 20))
            #expect(response.status == 413)
        } catch let error as HTTPClientError {
            #expect(error.kind == .transport)  // the server may close before the client finishes sending
        }
        #expect(await stack.fake.api.sessionsHoldingTracks().isEmpty)
    }

    @Test(arguments: [("nobody", 404), ("off", 403), ("..%2F..%2Fetc", 404), ("guest1%00", 404)])
    func unknownDisabledAndHostileGuestIds(guest: String, status: Int) async throws {
        let stack = try Stack()
        let response = try await stack.post(guest, fixture: "chromium-h264.sdp")
        #expect(response.status == status, "\(response.text)")
        #expect(await stack.fake.api.sessionsHoldingTracks().isEmpty)
    }

    @Test func theWHIPBearerTokenIsEnforced() async throws {
        let stack = try Stack(whipToken: "guest-secret")
        let offer = Data(try FixturePaths.text("sdp/chromium-h264.sdp").utf8)
        #expect(try await stack.post(body: offer).status == 401)
        #expect(try await stack.post(body: offer, headers: ["Authorization": "Bearer guest-secret"]).status == 201)
    }

    @Test func aHundredPostsAtOnceLeaveOneSessionPerGuest() async throws {
        let stack = try Stack()
        let offer = Data(try FixturePaths.text("sdp/chromium-h264.sdp").utf8)
        let statuses = await withTaskGroup(of: Int.self) { group in
            for n in 0..<100 {
                group.addTask { (try? await stack.post(n % 2 == 0 ? "guest1" : "guest2", body: offer).status) ?? 0 }
            }
            return await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(statuses.allSatisfy { $0 == 201 || $0 == 503 }, "\(Set(statuses))")
        #expect(await stack.liveCount() == 2)
        // Only the live guests' sessions hold tracks (each may also have its relay's subscriber).
        let live = Set(await stack.relay.whip.liveSessions().map(\.sessionId))
        let holding = Set(await stack.fake.api.sessionsHoldingTracks())
        #expect(holding.isSuperset(of: live))
        #expect(holding.count <= 4)
    }
}

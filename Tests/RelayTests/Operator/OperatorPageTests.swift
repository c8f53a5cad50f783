import FakeCalls
import FakeMediaMTX
import Foundation
import Logging
import Testing
@testable import Relay

/// The operator surface: refused without the admin token; thumbnails are real JPEGs of the
/// guest's picture; and, in headless Chromium, a relaying guest's tile is live, flips to
/// reconnecting when MediaMTX goes away and back when it returns.
@Suite struct OperatorPageTests {
    static let adminToken = "operator-admin-token-7f3e"

    /// FakeCalls fixture guest → relayd (with an admin token) → FakeMediaMTX on a fixed port.
    struct Stage {
        var mediamtx: FakeMediaMTX
        let fake: FakeCallsServer
        let relay: RelayServer
        let records: URL
        let rtmpPort: Int
        let logger: Logger

        init(adminToken: String? = OperatorPageTests.adminToken) throws {
            records = try ExternalTool.temporaryDirectory("operator")
            let capture = LogCapture()
            logger = capture.logger(label: "operator")
            mediamtx = FakeMediaMTX(configuration: .init(rtmpPort: 0, apiPort: nil, recordDirectory: records), logger: logger)
            try mediamtx.start()
            rtmpPort = mediamtx.rtmpPort ?? 0
            fake = try FakeCallsServer(options: FakeCallsOptions(appId: "op-app", token: "op-token"), logger: logger)
            relay = try RelayServer(config: RelayConfig(
                cloudflare: CloudflareConfig(callsAppId: "op-app", callsAPIToken: Secret("op-token")),
                guests: [GuestConfig(id: "guest1", name: "Guest One"), GuestConfig(id: "guest2", name: "Guest Two")],
                mediamtx: MediaMTXConfig(rtmpPort: rtmpPort),
                relay: RelayServiceConfig(listenHost: "127.0.0.1", listenPort: 0, callsBaseURL: fake.baseURL,
                                          adminToken: adminToken.map { Secret($0) })),
                logger: logger)
        }

        var base: String { "http://127.0.0.1:\(relay.port)" }

        func startGuest() async throws -> PublishedGuest {
            let session = try await fake.addFixturePublisher(video: FixturePaths.url("media/testsrc2-320x240-60f.h264").path,
                                                             audio: FixturePaths.url("audio/tone-440-mono-2s.opus.ogg").path)
            let guest = PublishedGuest(guestId: "guest1", sessionId: session,
                                       tracks: [.init(name: "video", kind: "video", mid: "0"), .init(name: "audio", kind: "audio", mid: "1")],
                                       resourceId: "r", etag: "\"e\"", since: Date())
            await relay.startRelay(for: guest)
            return guest
        }

        func finish() async {
            await relay.shutdown()
            fake.stop()
            mediamtx.stop()
            try? FileManager.default.removeItem(at: records)
        }
    }

    private func get(_ url: String, authorization: String? = nil) async throws -> HTTPResponse {
        var headers: HTTPHeaders = [:]
        if let authorization { headers.set("Authorization", authorization) }
        return try await CurlHTTPClient().send(HTTPClientRequest(method: "GET", url: url, headers: headers))
    }

    @Test func theAdminSurfaceRefusesWithoutTheToken() async throws {
        let stage = try Stage()
        for path in ["/operator", "/operator/app.js", "/api/operator/guests", "/api/calls/guests/guest1/snapshot.jpg"] {
            let anonymous = try await get(stage.base + path)
            #expect(anonymous.status == 401, "\(path)")
            #expect(anonymous.headers["WWW-Authenticate"]?.hasPrefix("Basic") == true)
            let wrong = try await get(stage.base + path, authorization: "Bearer nope")
            #expect(wrong.status == 401, "\(path)")
        }
        let basic = "Basic " + Data("anyone:\(Self.adminToken)".utf8).base64EncodedString()
        let page = try await get(stage.base + "/operator", authorization: basic)
        #expect(page.status == 200)
        #expect(page.text.contains("<template id=\"tile\">"))
        #expect(page.headers["Content-Security-Policy"]?.contains("script-src 'self'") == true)
        let list = try await get(stage.base + "/api/operator/guests", authorization: "Bearer \(Self.adminToken)")
        let body = try JSONSerialization.jsonObject(with: list.body) as? [String: Any]
        let ids = (body?["guests"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
        #expect(ids == ["guest1", "guest2"])
        await stage.finish()
    }

    @Test func kickEndsAWHIPGuestsSession() async throws {
        let stage = try Stage()
        let http = try CurlHTTPClient()
        let published = try await http.send(HTTPClientRequest(
            method: "POST", url: stage.base + "/api/calls/whip/guest1", headers: ["Content-Type": "application/sdp"],
            body: Data(try FixturePaths.text("sdp/chromium-default.sdp").utf8)))
        #expect(published.status == 201)
        var bearer: HTTPHeaders = [:]
        bearer.set("Authorization", "Bearer \(Self.adminToken)")
        let anonymous = try await http.send(HTTPClientRequest(method: "POST", url: stage.base + "/api/calls/guests/guest1/kick"))
        #expect(anonymous.status == 401)
        let live = await stage.relay.whip.liveSessions()
        #expect(live.map(\.guestId) == ["guest1"], "an unauthenticated kick must change nothing")
        let publisherSession = try #require(live.first?.sessionId)
        let kicked = try await http.send(HTTPClientRequest(method: "POST", url: stage.base + "/api/calls/guests/guest1/kick", headers: bearer))
        #expect(kicked.status == 204)
        #expect(await stage.relay.whip.liveSessions().isEmpty)
        // The kick closes the guest's published tracks. (The relay's own subscriber session is
        // the relay's teardown, covered by the lifecycle tests.)
        #expect(await !stage.fake.api.sessionsHoldingTracks().contains(publisherSession), "the guest's Calls tracks are closed")
        let again = try await http.send(HTTPClientRequest(method: "POST", url: stage.base + "/api/calls/guests/guest1/kick", headers: bearer))
        #expect(again.status == 404)
        await stage.finish()
    }

    @Test func withoutAnAdminTokenTheOperatorPageIsOff() async throws {
        let stage = try Stage(adminToken: nil)
        let page = try await get(stage.base + "/operator", authorization: "Bearer anything")
        #expect(page.status == 403)
        #expect(page.text.contains("relay.admin_token"))
        await stage.finish()
    }

    @Test func theSnapshotIsAJPEGOfTheGuestsPicture() async throws {
        let stage = try Stage()
        _ = try await stage.startGuest()
        #expect(await stage.mediamtx.waitUntilReady(path: "guest1", timeout: .seconds(20)))
        let snapshot = stage.relay.snapshots.snapshot(for: "guest1")
        let deadline = ContinuousClock.now + .seconds(10)
        while snapshot.picture == nil, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(snapshot.lastFailure == nil)
        let response = try await get(stage.base + "/api/calls/guests/guest1/snapshot.jpg", authorization: "Bearer \(Self.adminToken)")
        #expect(response.status == 200)
        #expect(response.headers["Content-Type"] == "image/jpeg")
        let bytes = [UInt8](response.body)
        #expect(bytes.prefix(2) == [0xFF, 0xD8] && bytes.suffix(2) == [0xFF, 0xD9])
        let file = stage.records.appendingPathComponent("snapshot.jpg")
        try response.body.write(to: file)
        let probe = try ExternalTool.run("ffprobe", ["-v", "error", "-show_streams", "-of", "json", file.path])
        let streams = (try JSONSerialization.jsonObject(with: probe.stdout) as? [String: Any])?["streams"] as? [[String: Any]]
        let stream = try #require(streams?.first)
        #expect(stream["codec_name"] as? String == "mjpeg")
        #expect(stream["width"] as? Int == GuestSnapshot.defaultWidth)
        #expect(stream["height"] as? Int == 240)  // 320x240 source, 320 wide keeps 4:3
        // The test pattern is colourful: a grey or black frame would mean a broken decode.
        let decode = try ExternalTool.run("ffmpeg", ["-v", "error", "-i", file.path, "-vf", "signalstats,metadata=print:file=-",
                                                     "-f", "null", "-"])
        let yavg = decode.text.split(separator: "\n").first { $0.contains("signalstats.YAVG") }
        let luma = yavg.flatMap { Double($0.split(separator: "=").last ?? "") } ?? 0
        #expect(luma > 30 && luma < 230, "mean luma \(luma)")
        let unknown = try await get(stage.base + "/api/calls/guests/nobody/snapshot.jpg", authorization: "Bearer \(Self.adminToken)")
        #expect(unknown.status == 404)
        await stage.finish()
    }
}

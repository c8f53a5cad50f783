import FakeCalls
import FakeMediaMTX
import Foundation
import Logging
import Testing
@testable import Relay

/// The must-show: headless Chromium with a fake camera and microphone opens relayd's own
/// `/guest_join?guest=guest1`, the test clicks Join (over the DevTools pipe), and within 10 s
/// FakeMediaMTX's path guest1 is ready with H.264 video and AAC audio that ffprobe/ffmpeg
/// decode; clicking Leave tears everything down (no session listed, RTMP path gone, no Calls
/// session holding tracks). relayd runs against FakeCalls in forward mode (the browser's
/// media is forwarded to relayd's subscriber). Needs /usr/lib/chromium/chromium;
/// RELAY_SKIP_BROWSER_TESTS=1 skips it (~10 s).
@Suite(.serialized) struct GuestPageBrowserTests {
    static let appId = "guest-page-app"
    static let token = "guest-page-token-never-logged"

    @Test(.enabled(if: BrowserForwardTests.skipReason == nil,
                   Comment(rawValue: "skipped: \(BrowserForwardTests.skipReason ?? "")")),
          .timeLimit(.minutes(2)))
    func joinFromTheGuestPageReachesMediaMTXAndLeaveTearsDown() async throws {
        let records = try ExternalTool.temporaryDirectory("guestpage")
        defer { try? FileManager.default.removeItem(at: records) }
        let capture = LogCapture()
        let logger = capture.logger(label: "guestpage.browser")
        let mediamtx = FakeMediaMTX(configuration: .init(rtmpPort: 0, apiPort: 0, recordDirectory: records), logger: logger)
        try mediamtx.start()
        defer { mediamtx.stop() }
        // As real Calls: the browser's tracks can be subscribed once its first RTP arrived.
        let fake = try FakeCallsServer(options: FakeCallsOptions(appId: Self.appId, token: Self.token, publisherFlow: .whenMarked),
                                       logger: logger)
        defer { fake.stop() }
        let relay = try RelayServer(config: RelayConfig(
            cloudflare: CloudflareConfig(callsAppId: Self.appId, callsAPIToken: Secret(Self.token)),
            guests: [GuestConfig(id: "guest1", name: "Guest One"), GuestConfig(id: "guest2", enabled: false)],
            mediamtx: MediaMTXConfig(rtmpPort: mediamtx.rtmpPort ?? 0),
            relay: RelayServiceConfig(listenHost: "127.0.0.1", listenPort: 0, callsBaseURL: fake.baseURL)), logger: logger)
        let base = "http://127.0.0.1:\(relay.port)"

        let browser = try ChromiumDevTools(url: "\(base)/guest_join?guest=guest1", binary: BrowserForwardTests.chromium)
        defer { browser.terminate() }
        try await browser.attachToPage()
        try await browser.waitForGlobal("relaydGuest")
        let loaded = try await browser.evaluate(Self.waitFor("s => s === 'idle'", timeoutMs: 10_000)) as? [String: Any]
        #expect(loaded?["state"] as? String == "idle", "the page did not load: \(String(describing: loaded))")
        #expect(try await browser.evaluate("window.relaydGuest.guest()") as? String == "guest1")

        // Join: camera preview, offer, WHIP POST, answer, ICE/DTLS to FakeCalls; relayd subscribes and publishes.
        let clicked = ContinuousClock.now
        _ = try await browser.evaluate("document.getElementById('join').click(); true")
        let flowing = await mediamtx.wait(timeout: .seconds(10)) { snapshot in
            guard let path = snapshot.paths["guest1"], path.ready else { return false }
            let check = path.streamCheck
            return check.video.codec != nil && check.audio.codec != nil && check.video.keyframes >= 1
                && check.video.frames >= 30 && check.audio.frames >= 50
        }
        let elapsed = ContinuousClock.now - clicked
        let page = try await browser.evaluate(Self.waitFor("s => s === 'connected' || s === 'failed'", timeoutMs: 2_000)) as? [String: Any]
        let relays = await relay.relayStatuses()
        print("guest page: Join → guest1 flowing in \(elapsed): \(String(describing: mediamtx.streamCheck(path: "guest1")))")
        #expect(flowing, "guest1 not flowing within 10 s: \(String(describing: mediamtx.streamCheck(path: "guest1"))) page: \(String(describing: page)) relays: \(relays)")
        #expect(elapsed < .seconds(10))
        #expect(page?["state"] as? String == "connected", "\(String(describing: page))")
        #expect(page?["location"] as? String != nil)
        let live = try await Self.sessions(base)
        #expect(live.map(\.guestId) == ["guest1"])

        // Leave: DELETE the Location, close the peer connection; relayd ends the relay and the Calls tracks.
        _ = try await browser.evaluate("document.getElementById('leave').click(); true")
        let left = try await browser.evaluate(Self.waitFor("s => s === 'left'", timeoutMs: 5_000)) as? [String: Any]
        #expect(left?["state"] as? String == "left", "\(String(describing: left))")
        #expect(left?["error"] is NSNull || left?["error"] == nil, "\(String(describing: left))")
        #expect(try await Self.sessions(base).isEmpty)
        #expect(await mediamtx.waitUntilGone(path: "guest1", timeout: .seconds(5)), "RTMP path guest1 still published")
        #expect(await fake.api.sessionsHoldingTracks().isEmpty)

        // The recording: decodable H.264 video and AAC audio.
        let recording = try #require(mediamtx.recordings(path: "guest1").last)
        let probe = try ExternalTool.run("ffprobe", ["-v", "error", "-show_streams", "-of", "json", recording.path])
        #expect(probe.status == 0, "\(probe.stderr)")
        let streams = (try JSONSerialization.jsonObject(with: probe.stdout) as? [String: Any])?["streams"] as? [[String: Any]] ?? []
        #expect(streams.first { $0["codec_type"] as? String == "video" }?["codec_name"] as? String == "h264")
        #expect(streams.first { $0["codec_type"] as? String == "audio" }?["codec_name"] as? String == "aac")
        let decode = try ExternalTool.run("ffmpeg", ["-v", "error", "-i", recording.path, "-f", "null", "-"])
        #expect(decode.status == 0 && decode.stderr.isEmpty, "decoding the recording complained: \(decode.stderr)")

        // Refusals reach the guest as clear errors: a disabled guest (403), an unknown one (404).
        for (guest, status, words) in [("guest2", 403, "disabled"), ("nobody", 404, "unknown")] {
            let refused = try await browser.evaluate(Self.joinAs(guest)) as? [String: Any]
            #expect(refused?["state"] as? String == "failed", "\(guest): \(String(describing: refused))")
            #expect(refused?["status"] as? Int == status, "\(guest): \(String(describing: refused))")
            #expect((refused?["error"] as? String)?.contains(words) == true, "\(guest): \(String(describing: refused))")
        }
        #expect(try await Self.sessions(base).isEmpty)

        // What the scrape says about it afterwards.
        let metrics = try await CurlHTTPClient().send(HTTPClientRequest(method: "GET", url: "\(base)/metrics")).text
        #expect(metrics.contains("relayd_whip_requests_total{method=\"POST\",status=\"201\"} 1"), "\(metrics)")
        #expect(metrics.contains("relayd_whip_requests_total{method=\"DELETE\",status=\"200\"} 1"), "\(metrics)")
        #expect(metrics.contains("relayd_whip_requests_total{method=\"POST\",status=\"403\"} 1"), "\(metrics)")
        #expect(metrics.contains("relayd_whip_requests_total{method=\"POST\",status=\"404\"} 1"), "\(metrics)")
        #expect(!capture.text.contains(Self.token))
        await relay.shutdown()
    }

    /// A page-side wait: resolves with the guest state once `predicate(state)` holds or the time is up.
    static func waitFor(_ predicate: String, timeoutMs: Int) -> String {
        """
        new Promise((resolve) => {
          const started = Date.now();
          const report = () => ({state: window.relaydGuest && window.relaydGuest.state,
                                 error: window.relaydGuest && window.relaydGuest.error,
                                 location: window.relaydGuest && window.relaydGuest.location});
          const check = () => {
            const state = window.relaydGuest && window.relaydGuest.state;
            if ((\(predicate))(state) || Date.now() - started > \(timeoutMs)) resolve(report());
            else setTimeout(check, 25);
          };
          check();
        })
        """
    }

    /// Picks `guest` in the page's selector (adding it, as a `?guest=` link would) and joins.
    static func joinAs(_ guest: String) -> String {
        """
        (async () => {
          const select = document.getElementById('guest');
          const option = document.createElement('option');
          option.value = '\(guest)';
          select.append(option);
          select.value = '\(guest)';
          await window.relaydGuest.join();
          return {state: window.relaydGuest.state, status: window.relaydGuest.errorStatus, error: window.relaydGuest.error};
        })()
        """
    }

    struct Session: Decodable { var guestId: String }

    static func sessions(_ base: String) async throws -> [Session] {
        struct List: Decodable { var sessions: [Session] }
        let response = try await CurlHTTPClient().send(HTTPClientRequest(method: "GET", url: "\(base)/api/calls/sessions"))
        return try JSONDecoder().decode(List.self, from: response.body).sessions
    }
}

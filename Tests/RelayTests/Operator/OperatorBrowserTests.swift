import FakeMediaMTX
import Foundation
import Testing
@testable import Relay

/// The must-show of the operator page, in headless Chromium: guest1 relaying with a thumbnail
/// and numbers that move; MediaMTX killed → the tile says reconnecting; MediaMTX back → relaying.
/// A screenshot goes to out/test-artifacts/operator-page.png. RELAY_SKIP_BROWSER_TESTS=1 skips.
@Suite struct OperatorBrowserTests {
    /// The tile's state, thumbnail and a few numbers, read from the DOM.
    static let readTile = """
    (() => {
      const t = document.getElementById('guest-guest1');
      if (!t) return null;
      const img = t.querySelector('.thumb img');
      const f = n => t.querySelector('[data-f=' + n + ']').textContent;
      return {state: t.dataset.state, thumbWidth: img ? img.naturalWidth : 0, codec: f('codec'), size: f('size'),
              fps: f('fps'), bitrate: f('bitrate'), rtmp: f('rtmp'), reconnects: f('reconnects'),
              error: t.querySelector('.error').textContent, meter: parseFloat(t.querySelector('.meter div').style.width) || 0, spark: t.querySelector('.br').getAttribute('points') || ''};
    })()
    """

    private func waitForTile(_ browser: ChromiumDevTools, timeout: Duration = .seconds(15),
                             until condition: ([String: Any]) -> Bool) async throws -> [String: Any]? {
        let deadline = ContinuousClock.now + timeout
        var last: [String: Any]?
        while ContinuousClock.now < deadline {
            last = try? await browser.evaluate(Self.readTile) as? [String: Any]
            if let last, condition(last) { return last }
            try await Task.sleep(for: .milliseconds(200))
        }
        return last
    }

    @Test(.enabled(if: BrowserForwardTests.skipReason == nil, Comment(rawValue: "skipped: \(BrowserForwardTests.skipReason ?? "")")),
          .timeLimit(.minutes(2)))
    func aRelayingGuestIsLiveOnTheOperatorPageAndSurvivesMediaMTXRestarting() async throws {
        var stage = try OperatorPageTests.Stage()
        _ = try await stage.startGuest()
        #expect(await stage.mediamtx.waitUntilReady(path: "guest1", timeout: .seconds(20)))

        let browser = try ChromiumDevTools(url: "about:blank", binary: BrowserForwardTests.chromium)
        defer { browser.terminate() }
        try await browser.attachToPage()
        _ = try await browser.sendToPage("Network.enable", [:])
        _ = try await browser.sendToPage("Network.setExtraHTTPHeaders",
                                         ["headers": ["Authorization": "Bearer \(OperatorPageTests.adminToken)"]])
        _ = try await browser.sendToPage("Emulation.setDeviceMetricsOverride",
                                         ["width": 1000, "height": 700, "deviceScaleFactor": 1, "mobile": false])
        _ = try await browser.sendToPage("Page.navigate", ["url": "\(stage.base)/operator"])

        let live = try await waitForTile(browser) {
            ($0["state"] as? String) == "relaying" && ($0["thumbWidth"] as? Int ?? 0) > 0 && ($0["meter"] as? Double ?? 0) > 0
        }
        #expect(live?["state"] as? String == "relaying", "\(String(describing: live))")
        #expect((live?["thumbWidth"] as? Int ?? 0) == GuestSnapshot.defaultWidth, "\(String(describing: live))")
        #expect((live?["meter"] as? Double ?? 0) > 0, "the 440 Hz tone must move the audio meter: \(String(describing: live))")
        #expect((live?["codec"] as? String)?.contains("H264") == true || (live?["codec"] as? String)?.contains("h264") == true,
                "\(String(describing: live))")
        // Live numbers: the bitrate sparkline gains points as polls come in.
        let firstSpark = live?["spark"] as? String ?? ""
        let moved = try await waitForTile(browser, timeout: .seconds(5)) { ($0["spark"] as? String ?? "") != firstSpark }
        #expect((moved?["spark"] as? String ?? "") != firstSpark)

        try await screenshot(browser, name: "operator-page")
        // A phone: the tiles stack, nothing is wider than the screen.
        _ = try await browser.sendToPage("Emulation.setDeviceMetricsOverride",
                                         ["width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": true])
        let overflow = try await browser.evaluate("document.documentElement.scrollWidth - window.innerWidth") as? Int
        #expect((overflow ?? 1) <= 0, "the page scrolls sideways on a phone by \(overflow ?? -1) px")
        try await screenshot(browser, name: "operator-page-phone")
        _ = try await browser.sendToPage("Emulation.setDeviceMetricsOverride",
                                         ["width": 1000, "height": 700, "deviceScaleFactor": 1, "mobile": false])

        // MediaMTX goes away: the tile must say so.
        stage.mediamtx.stop()
        let down = try await waitForTile(browser) { ($0["state"] as? String) == "reconnecting" }
        #expect(down?["state"] as? String == "reconnecting", "\(String(describing: down))")
        try await screenshot(browser, name: "operator-page-reconnecting")

        // …and comes back on the same port: relaying again, the reconnect counted.
        // The relay keeps dialling the port; a dial that lands while nobody listens can hold the
        // port for an instant (TCP self-connect, which the publisher then drops), so the restart
        // retries its bind briefly, as a service manager restarting MediaMTX would.
        stage.mediamtx = FakeMediaMTX(configuration: .init(rtmpPort: stage.rtmpPort, apiPort: nil), logger: stage.logger)
        let bindDeadline = ContinuousClock.now + .seconds(5)
        while true {
            do {
                try stage.mediamtx.start()
                break
            } catch where ContinuousClock.now < bindDeadline {
                try await Task.sleep(for: .milliseconds(100))
            } catch {
                let sockets = (try? ExternalTool.run("ss", ["-tanp"]).text) ?? ""
                Issue.record("\(error); sockets on the port: \(sockets.split(separator: "\n").filter { $0.contains(":\(stage.rtmpPort)") })")
                throw error
            }
        }
        let back = try await waitForTile(browser, timeout: .seconds(20)) { ($0["state"] as? String) == "relaying" }
        #expect(back?["state"] as? String == "relaying", "\(String(describing: back))")
        #expect(Int(back?["reconnects"] as? String ?? "0") ?? 0 >= 1, "\(String(describing: back))")
        await stage.finish()
    }

    private func screenshot(_ browser: ChromiumDevTools, name: String) async throws {
        let shot = try await browser.sendToPage("Page.captureScreenshot", ["format": "png"])
        guard let data = ((shot["result"] as? [String: Any])?["data"] as? String).flatMap({ Data(base64Encoded: $0) }) else { return }
        let directory = FixturePaths.root.deletingLastPathComponent().appendingPathComponent("out/test-artifacts")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try data.write(to: directory.appendingPathComponent("\(name).png"))
    }
}

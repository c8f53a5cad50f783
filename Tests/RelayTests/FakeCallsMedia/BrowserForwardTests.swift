import FakeCalls
import Foundation
import Logging
import Testing
@testable import Relay

/// The foreign-peer check of FakeCalls' forward mode: real headless Chromium publishes camera +
/// microphone through relayd's WHIP endpoint into FakeCalls, and a relay-side PeerConnection
/// subscribes (retrying until the browser's media flows) and receives both tracks, decrypted,
/// with the SFU's own payload types and SSRCs. Chromium's getStats() must say it is connected
/// and sending. Needs /usr/lib/chromium/chromium; RELAY_SKIP_BROWSER_TESTS=1 skips (~10 s).
@Suite(.serialized) struct BrowserForwardTests {
    static let chromium = "/usr/lib/chromium/chromium"
    static let appId = "browser-app"
    static let token = "browser-token"

    static var skipReason: String? {
        if ProcessInfo.processInfo.environment["RELAY_SKIP_BROWSER_TESTS"] != nil { return "RELAY_SKIP_BROWSER_TESTS is set" }
        if !FileManager.default.isExecutableFile(atPath: chromium) { return "\(chromium) is not installed" }
        return nil
    }

    /// What the page POSTs back (getStats, errors), in order.
    final class PageReports: @unchecked Sendable {
        // @unchecked: `condition` guards `stats` and `errors`.
        private let condition = NSCondition()
        private var stats: [PageStats] = []
        private var errors: [String] = []

        struct PageStats: Decodable {
            struct Outbound: Decodable { var kind: String; var bytesSent: Int; var packetsSent: Int }
            var connectionState: String
            var outbound: [Outbound]
        }

        func add(stats body: Data) {
            guard let decoded = try? JSONDecoder().decode(PageStats.self, from: body) else { return }
            condition.withLock { stats.append(decoded) }
            condition.broadcast()
        }

        func add(error text: String) {
            condition.withLock { errors.append(text) }
            condition.broadcast()
        }

        var pageErrors: [String] { condition.withLock { errors } }
        var latest: PageStats? { condition.withLock { stats.last } }

        func wait(timeout: Duration, until predicate: (PageStats) -> Bool) -> Bool {
            let deadline = Date().addingTimeInterval(Double(timeout.components.seconds))
            condition.lock()
            defer { condition.unlock() }
            while !(stats.last.map(predicate) ?? false) {
                if !errors.isEmpty { return false }
                guard condition.wait(until: deadline) else { return false }
            }
            return true
        }
    }

    /// Reported as skipped, with the reason, when Chromium is missing or RELAY_SKIP_BROWSER_TESTS is set.
    @Test(.enabled(if: skipReason == nil, Comment(rawValue: "skipped: \(skipReason ?? "")")), .timeLimit(.minutes(2)))
    func chromiumPublishesAndARelaySubscriberReceivesBothTracks() async throws {
        let logger = Logger(label: "fakecalls.browser.test")
        let fake = try FakeCallsServer(options: FakeCallsOptions(appId: Self.appId, token: Self.token, publisherFlow: .whenMarked),
                                       logger: logger)
        defer { fake.stop() }
        let rig = try BrowserPublishRig(fake: fake, appId: Self.appId, token: Self.token, logger: logger)
        do { try await expectForwarding(rig: rig, fake: fake) } catch {
            await rig.stop()
            throw error
        }
        await rig.stop()
    }

    /// The browser behind `rig` publishes; a relay-side subscriber gets both tracks from `fake`.
    private func expectForwarding(rig: BrowserPublishRig, fake: FakeCallsServer) async throws {
        let reports = rig.reports
        // The WHIP publish made a Calls session; subscribe to it as the relay does, retrying
        // until the browser's first RTP marks it flowing.
        let publisher = try await rig.publisherSession()
        let client = CallsClient(baseURL: fake.baseURL, appId: Self.appId, token: Self.token, http: try CurlHTTPClient())
        let subscriber = try await MediaSubscriber.subscribe(client: client, publisher: publisher, flowing: true)
        defer { subscriber.driver.shutdown() }
        // Browsers send keyframes rarely: ask (PLI) once a second until one arrives, as a relay does.
        #expect(subscriber.wait(timeout: .seconds(10)) { $0.connected })
        var gotKeyframe = false
        for _ in 0..<20 where !gotKeyframe {
            subscriber.sendPLI()
            gotKeyframe = subscriber.wait(timeout: .seconds(1)) { $0.keyframes >= 1 }
        }
        let received = subscriber.wait(timeout: .seconds(10)) {
            $0.connected && $0.keyframes >= 1 && $0.frames >= 10 && $0.audioPackets >= 25
        }
        #expect(fake.media.statistics.keyframeRequestsToPublishers >= 1, "the subscriber's PLI reached the browser")
        #expect(received, "\(subscriber.snapshot) \(fake.media.statistics) page errors: \(reports.pageErrors)")
        #expect(subscriber.snapshot.wrongPayloadType == 0)
        #expect(subscriber.videoPayloadType == 125, "the SFU's own H.264 payload type")
        #expect(fake.media.statistics.publisherRTPReceived > 0)
        #expect(fake.media.isFlowing(session: publisher, mid: "0") || fake.media.isFlowing(session: publisher, mid: "1"))

        let sending = reports.wait(timeout: .seconds(10)) { stats in
            stats.connectionState == "connected" && stats.outbound.contains { $0.kind == "video" && $0.bytesSent > 0 }
                && stats.outbound.contains { $0.kind == "audio" && $0.bytesSent > 0 }
        }
        #expect(sending, "page stats: \(String(describing: reports.latest)) errors: \(reports.pageErrors)")
        #expect(reports.pageErrors.isEmpty, "\(reports.pageErrors)")
    }

    static func waitForPublisher(relay: RelayServer, reports: PageReports) async throws -> String {
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(20)
        while clock.now < deadline {
            if let session = await relay.whip.liveSessions().first?.sessionId { return session }
            if let error = reports.pageErrors.first { throw SkipError(reason: "the page failed: \(error)") }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw SkipError(reason: "Chromium never published (no WHIP session within 20 s)")
    }

    struct SkipError: Error, CustomStringConvertible {
        var reason: String
        var description: String { reason }
    }
}

/// Headless Chromium started with posix_spawn in a new session (so its pid is its process
/// group id) with a temporary profile; `terminate` kills the whole group, reaps the browser and
/// removes the profile.
final class ChromiumProcess: @unchecked Sendable {
    // @unchecked: immutable after init; `terminate` runs once, from the test's defer.
    let pid: pid_t
    let profile: URL

    struct SpawnError: Error, CustomStringConvertible {
        var description: String
    }

    init(url: String, binary: String) throws {
        profile = FileManager.default.temporaryDirectory.appendingPathComponent("fakecalls-chromium-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: profile, withIntermediateDirectories: true)
        let arguments = [binary, "--headless=new", "--no-sandbox", "--use-fake-ui-for-media-stream",
                         "--use-fake-device-for-media-stream", "--allow-loopback-in-peer-connection",
                         "--no-first-run", "--no-default-browser-check", "--disable-gpu",
                         "--user-data-dir=\(profile.path)", url]
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, 0x80)  // POSIX_SPAWN_SETSID (glibc, _GNU_SOURCE only)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var child: pid_t = 0
        let status = posix_spawn(&child, binary, &actions, &attributes, &argv, environ)
        guard status == 0 else {
            try? FileManager.default.removeItem(at: profile)
            throw SpawnError(description: "cannot start \(binary) (posix_spawn: \(status))")
        }
        pid = child
    }

    func terminate() {
        kill(-pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        try? FileManager.default.removeItem(at: profile)
    }
}

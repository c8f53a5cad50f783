@testable import FakeCalls
import FakeMediaMTX
import Foundation
import Logging
import Testing
@testable import Relay

/// The whole chain for the Calls fault suite: a guest's recorded Chrome offer POSTed to relayd's
/// WHIP endpoint → relayd → FakeCalls (fixture mode: it plays recorded H.264+Opus RTP over real
/// ICE/DTLS/SRTP to the relay, no browser) → the relay → FakeMediaMTX. Faults are injected into
/// FakeCalls with `setFaults`; relayd runs with short lifecycle timers and short Calls retry
/// budgets so each case ends in a few seconds.
final class CallsFaultChain: Sendable {
    static let appId = "calls-fault-app"
    static let token = "calls-fault-token-never-logged-7c3e"
    static let offer = "sdp/chromium-h264.sdp"

    let mediamtx: FakeMediaMTX
    let fake: FakeCallsServer
    let relay: RelayServer
    let capture = LogCapture()
    let directory: URL
    let http: CurlHTTPClient

    /// The Calls client's budget for retryable failures (5xx, 425, unreachable).
    static let callsBudget: Duration = .seconds(1)
    /// How long one subscribe retries `not_found_track_error` before the leg counts as failed.
    static let subscribeBudget: Duration = .milliseconds(1500)

    static func options(callsRetry: RetryPolicy? = nil) -> GuestRelay.Options {
        var options = LifecycleChain.fastOptions()
        options.callsRetry = callsRetry ?? RetryPolicy(initialDelay: .milliseconds(20), maxDelay: .milliseconds(200),
                                                       totalBudget: callsBudget)
        options.subscribeRetry = RetryPolicy(initialDelay: .milliseconds(50), maxDelay: .milliseconds(400),
                                             totalBudget: subscribeBudget)
        return options
    }

    /// One set of recordings for the whole suite (writing them takes a moment).
    static let recordings: Result<URL, any Error> = Result {
        let directory = try ExternalTool.temporaryDirectory("calls-fault-rtp")
        _ = try SyntheticRecordingWriter.write(.init(audioLeadMicros: 40_000), into: directory, name: "chromium-h264-opus")
        return directory
    }

    /// - Parameters:
    ///   - faults: injected from the start.
    ///   - fixtures: false leaves FakeCalls in forward mode (published tracks carry no media).
    ///   - callsBaseURL: overrides where relayd finds Calls (e.g. a closed port).
    ///   - callsRetry: the Calls client's retry policy (default: 1 s budget).
    init(faults: [FakeCallsFault] = [], fixtures: Bool = true, publisherFlow: FakeCallsOptions.PublisherFlow = .immediately,
         callsBaseURL: String? = nil, callsRetry: RetryPolicy? = nil) async throws {
        directory = try ExternalTool.temporaryDirectory("calls-fault")
        let logger = capture.logger(label: "calls-fault")
        mediamtx = FakeMediaMTX(configuration: .init(rtmpPort: 0, apiPort: nil, recordDirectory: directory), logger: logger)
        try mediamtx.start()
        var options = FakeCallsOptions(appId: Self.appId, token: Self.token, publisherFlow: publisherFlow)
        if fixtures { options.mediaMode = .fixtures(try FixtureCatalog(directory: try Self.recordings.get().path)) }
        fake = try FakeCallsServer(options: options, logger: logger)
        await fake.setFaults(faults)
        relay = try RelayServer(config: RelayConfig(
            cloudflare: CloudflareConfig(callsAppId: Self.appId, callsAPIToken: Secret(Self.token)),
            guests: [GuestConfig(id: "guest1")],
            mediamtx: MediaMTXConfig(rtmpPort: mediamtx.rtmpPort ?? 0),
            relay: RelayServiceConfig(listenHost: "127.0.0.1", listenPort: 0, callsBaseURL: callsBaseURL ?? fake.baseURL)),
            logger: logger, relayOptions: Self.options(callsRetry: callsRetry))
        http = try CurlHTTPClient()
    }

    var base: String { "http://127.0.0.1:\(relay.port)" }

    /// POSTs the guest's offer to WHIP; returns the response and how long it took.
    func post() async throws -> (response: HTTPResponse, took: Duration) {
        let started = ContinuousClock.now
        let response = try await http.send(HTTPClientRequest(
            method: "POST", url: "\(base)/api/calls/whip/guest1", headers: ["Content-Type": "application/sdp"],
            body: Data(try FixturePaths.text(Self.offer).utf8), timeout: .seconds(30)))
        return (response, ContinuousClock.now - started)
    }

    func delete(_ location: String) async throws -> Int {
        try await http.send(HTTPClientRequest(method: "DELETE", url: base + location)).status
    }

    /// `GET /api/calls/sessions`, decoded: what an operator's status page reads.
    func sessions() async throws -> [GuestRelayStatus] {
        let response = try await http.send(HTTPClientRequest(method: "GET", url: "\(base)/api/calls/sessions"))
        try #require(response.status == 200)
        return try JSONDecoder().decode([String: [GuestRelayStatus]].self, from: response.body)["sessions"] ?? []
    }

    func status() async -> GuestRelayStatus? { await relay.relayStatuses().first }

    /// The relay publishes to FakeMediaMTX and frames arrive there.
    func flows(timeout: Duration = .seconds(10)) async -> Bool {
        guard await mediamtx.waitUntilReady(path: "guest1", timeout: timeout) else { return false }
        return await LifecycleChain.eventually(timeout) {
            (mediamtx.path(named: "guest1")?.streamCheck.video.frames ?? 0) >= 10
        }
    }

    /// Nothing of the guest is left: no relay, no WHIP session, no Calls session holding tracks.
    func nothingLeaks(timeout: Duration = .seconds(5)) async -> Bool {
        await LifecycleChain.eventually(timeout) {
            let relays = await relay.relayStatuses().isEmpty
            let live = await relay.whip.liveSessions().isEmpty
            let held = await fake.api.sessionsHoldingTracks().isEmpty
            return relays && live && held
        }
    }

    /// No log line carries the Calls API token; every error/warning line is listed for messages.
    func checkLogsHoldNoToken() {
        #expect(!capture.text.contains(Self.token), "the Calls API token reached a log line")
    }

    /// Lines at error level (what an operator sees first).
    var errorLines: [String] { capture.entries(at: .error).map(\.message) }

    func finish() async {
        // CALLS_FAULT_LOGS=1 prints what an operator would have read (warnings and errors).
        if ProcessInfo.processInfo.environment["CALLS_FAULT_LOGS"] == "1" {
            for entry in capture.entries where entry.level >= .warning { print("[\(entry.level)] \(entry.message)") }
        }
        await relay.shutdown()
        fake.stop()
        mediamtx.stop()
        try? FileManager.default.removeItem(at: directory)
    }
}

extension Duration {
    var faultSeconds: Double {
        let (whole, atto) = components
        return Double(whole) + Double(atto) / 1e18
    }
}

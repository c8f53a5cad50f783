import FakeCalls
import FakeMediaMTX
import Foundation
import Logging
import Relay
import Synchronization

/// FakeCalls (fixture publishers over real UDP/ICE/DTLS/SRTP) and FakeMediaMTX (RTMP ingest,
/// no recording) on loopback: what relayd talks to in the setup-latency and memory figures.
final class LoopbackFakes {
    static let appId = "bench-app"
    static let token = "bench-token-not-a-secret"
    static let quiet = Logger(label: "relayd-bench", factory: { _ in SwiftLogNoOpLogHandler() })

    let mediamtx: FakeMediaMTX
    let calls: FakeCallsServer
    let fixtures: URL

    init(repository: URL) throws {
        fixtures = repository.appendingPathComponent("Fixtures")
        mediamtx = FakeMediaMTX(configuration: .init(rtmpPort: 0, apiPort: nil, recordDirectory: nil), logger: Self.quiet)
        try mediamtx.start()
        calls = try FakeCallsServer(options: FakeCallsOptions(appId: Self.appId, token: Self.token), logger: Self.quiet)
    }

    var rtmpPort: Int { mediamtx.rtmpPort ?? 0 }

    /// A relayd configuration pointing at the fakes, for these guest ids.
    static func relayConfig(guests: [String], callsBaseURL: String, rtmpPort: Int) -> RelayConfig {
        RelayConfig(cloudflare: CloudflareConfig(callsAppId: appId, callsAPIToken: Secret(token)),
                    guests: guests.map { GuestConfig(id: $0) }, mediamtx: MediaMTXConfig(rtmpPort: rtmpPort),
                    relay: RelayServiceConfig(listenHost: "127.0.0.1", listenPort: 0, callsBaseURL: callsBaseURL))
    }

    /// A fixture guest (320x240 H.264 + stereo Opus, looping) published on FakeCalls.
    func publishFixtureGuest() async throws -> String {
        try await calls.addFixturePublisher(video: fixtures.appendingPathComponent("media/testsrc2-320x240-60f.h264").path,
                                            audio: fixtures.appendingPathComponent("audio/tone-440L-660R-stereo-2s.opus.ogg").path)
    }

    static func guest(_ id: String, session: String) -> PublishedGuest {
        PublishedGuest(guestId: id, sessionId: session,
                       tracks: [.init(name: "video", kind: "video", mid: "0"), .init(name: "audio", kind: "audio", mid: "1")],
                       resourceId: "bench-\(id)", etag: "\"bench\"", since: Date())
    }

    /// Waits (event-driven, on FakeMediaMTX's state changes) for the first video frame on
    /// `path` and returns the instant the ingest recorded it — stamped inside the state update
    /// itself, not when this task got to run again.
    func firstVideoFrame(path: String, timeout: Duration, armed: () async -> Void) async -> ContinuousClock.Instant? {
        let watch = FirstFrameWatch()
        let waiting = Task { [mediamtx] in
            await mediamtx.wait(timeout: timeout) { snapshot in
                watch.evaluated()
                guard (snapshot.paths[path]?.streamCheck.video.frames ?? 0) >= 1 else { return false }
                watch.stamp()
                return true
            }
        }
        // The waiter is registered (its predicate ran once, false) before the join starts.
        while !watch.isArmed { await Task.yield() }
        await armed()
        return await waiting.value ? watch.instant : nil
    }

    func stop() {
        calls.stop()
        mediamtx.stop()
    }
}

/// When a predicate first saw what it waited for; a lock guards it (the ingest thread writes,
/// the bench reads).
final class FirstFrameWatch: Sendable {
    private struct State {
        var armed = false
        var instant: ContinuousClock.Instant?
    }
    private let state = Mutex(State())

    func evaluated() { state.withLock { $0.armed = true } }
    func stamp() { state.withLock { if $0.instant == nil { $0.instant = .now } } }
    var isArmed: Bool { state.withLock { $0.armed } }
    var instant: ContinuousClock.Instant? { state.withLock { $0.instant } }
}

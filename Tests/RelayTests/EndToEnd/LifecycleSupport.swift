import FakeCalls
import FakeMediaMTX
import Foundation
import Logging
import Testing
@testable import Relay

#if canImport(Glibc)
import Glibc
#endif

/// The whole chain for lifecycle tests: FakeCalls (fixture publishers over real ICE/DTLS/SRTP),
/// relayd with short lifecycle timers, FakeMediaMTX (started now, later, or not at all).
final class LifecycleChain: Sendable {
    static let appId = "lifecycle-app"
    static let token = "lifecycle-token-never-logged-5e0a"
    static let video = "media/testsrc2-320x240-60f.h264"
    static let audio = "audio/tone-440L-660R-stereo-2s.opus.ogg"

    let mediamtx: FakeMediaMTX
    let fake: FakeCallsServer
    let relay: RelayServer
    let capture = LogCapture()
    let records: URL
    let rtmpPort: Int

    /// Short timers so a departed guest or a dead leg is noticed in about a second.
    static func fastOptions() -> GuestRelay.Options {
        var options = GuestRelay.Options()
        options.lifecycle.pollInterval = .seconds(1)
        options.lifecycle.mediaSilence = .milliseconds(800)
        options.lifecycle.stallTimeout = .seconds(5)
        options.lifecycle.backoffInitial = .milliseconds(100)
        options.lifecycle.backoffMax = .milliseconds(500)
        options.lifecycle.tickInterval = .milliseconds(100)
        options.rtmp.backoffInitial = .milliseconds(100)
        options.rtmp.backoffMax = .milliseconds(500)
        return options
    }

    /// - Parameters:
    ///   - startMediaMTX: false leaves the RTMP port closed (start it later with `mediamtx.start()`).
    ///   - rtmpPort: the RTMP port relayd publishes to (nil: FakeMediaMTX's ephemeral one, or a
    ///     free port when MediaMTX is not started).
    init(options: GuestRelay.Options = LifecycleChain.fastOptions(), startMediaMTX: Bool = true,
         rtmpPort fixedPort: Int? = nil, calls: (FakeCallsServer) -> String = { $0.baseURL }) throws {
        records = try ExternalTool.temporaryDirectory("lifecycle")
        let logger = capture.logger(label: "lifecycle")
        let port = try fixedPort ?? (startMediaMTX ? 0 : Self.freeTCPPort())
        mediamtx = FakeMediaMTX(configuration: .init(rtmpPort: port, apiPort: nil, recordDirectory: records), logger: logger)
        if startMediaMTX { try mediamtx.start() }
        rtmpPort = startMediaMTX ? (mediamtx.rtmpPort ?? 0) : port
        fake = try FakeCallsServer(options: FakeCallsOptions(appId: Self.appId, token: Self.token), logger: logger)
        relay = try RelayServer(config: RelayConfig(
            cloudflare: CloudflareConfig(callsAppId: Self.appId, callsAPIToken: Secret(Self.token)),
            guests: [GuestConfig(id: "guest1"), GuestConfig(id: "guest2")],
            mediamtx: MediaMTXConfig(rtmpPort: rtmpPort),
            relay: RelayServiceConfig(listenHost: "127.0.0.1", listenPort: 0, callsBaseURL: calls(fake))),
            logger: logger, relayOptions: options)
    }

    func addPublisher() async throws -> String {
        try await fake.addFixturePublisher(video: FixturePaths.url(Self.video).path, audio: FixturePaths.url(Self.audio).path)
    }

    func guest(_ id: String = "guest1", session: String) -> PublishedGuest {
        PublishedGuest(guestId: id, sessionId: session,
                       tracks: [.init(name: "video", kind: "video", mid: "0"), .init(name: "audio", kind: "audio", mid: "1")],
                       resourceId: "r-\(id)", etag: "\"e\"", since: Date())
    }

    func status(_ guestId: String = "guest1") async -> GuestRelayStatus? {
        await relay.relayStatuses().first { $0.guestId == guestId }
    }

    func frames(_ path: String) -> Int { mediamtx.path(named: path)?.streamCheck.video.frames ?? 0 }

    /// Closes tracks of a session at FakeCalls as another client would (force: no renegotiation).
    /// Closing every track of a session closes the session.
    func closeAtCalls(session: String, mids: [String]) async -> Int {
        let body = try? JSONEncoder().encode(CloseTracksRequest(mids: mids, force: true))
        let response = await fake.api.handle(HTTPRequest(
            method: "PUT", path: "/v1/apps/\(Self.appId)/sessions/\(session)/tracks/close",
            headers: ["Authorization": "Bearer \(Self.token)", "Content-Type": "application/json"], body: body ?? Data()))
        return response.status
    }

    func finish() async {
        await relay.shutdown()
        fake.stop()
        mediamtx.stop()
        try? FileManager.default.removeItem(at: records)
    }

    /// A TCP port nothing listens on right now (bound to port 0, then closed).
    static func freeTCPPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw RelayFailure("socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Bool in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw RelayFailure("bind() failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Open file descriptors of this process.
    static func openDescriptors() -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
    }
}

extension LifecycleChain {
    /// Waits until `condition` holds, checking every 20 ms, for at most `timeout`. Returns whether
    /// it held: a test waits for an event with a deadline, never for a fixed time.
    static func eventually(_ timeout: Duration = .seconds(10), _ condition: () async -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return await condition()
    }
}

import FakeCalls
import FakeMediaMTX
import Foundation
import Logging
import Relay

/// `relayd demo`: FakeCalls, FakeMediaMTX and relayd in one process on free loopback ports.
/// 1. Publish: a recorded Chromium offer is POSTed to relayd's WHIP endpoint; the two-step
///    publish runs against FakeCalls and the answer comes back; the guest then leaves.
/// 2. Relay: FakeCalls plays a fixture guest (H.264 + Opus over real ICE/DTLS/SRTP); relayd
///    subscribes at once, receives it, publishes H.264 + AAC by RTMP into FakeMediaMTX, which
///    records it and checks the stream. (A recorded offer has no browser behind it to send
///    media, hence the fixture guest for this half.)
struct DemoRunner {
    struct Report: Encodable {
        struct Video: Encodable {
            var codecIn: String
            var codecOut: String
            var frames: Int
            var keyframes: Int
            var width: Int?
            var height: Int?
        }

        struct Audio: Encodable {
            var codecIn: String
            var codecOut: String
            var frames: Int
        }

        struct Guest: Encodable {
            var id: String
            var video: Video
            var audio: Audio
            var pathReady: Bool
            var flv: String?
            var avStartOffsetMs: Int?
            var dtsViolations: Int
        }

        struct Publish: Encodable {
            var offer: String
            var whipStatus: Int
            var whipMs: Double
            var answerMids: [String]
            var answerCodecs: [String]
            var leaveStatus: Int?
        }

        var setupMs: Double?
        var durationS: Double
        var publish: Publish
        var guests: [Guest]
        var log: [String]
    }

    static let appId = "relayd-demo-app"
    static let token = "relayd-demo-token-not-a-secret"

    let offerPath: String
    let fixtureVideo: String
    let fixtureAudio: String
    let recordDirectory: URL
    let duration: Duration
    let logger: Logger
    let capture: LogCapture

    func run() async throws -> Report {
        let mediamtx = FakeMediaMTX(configuration: FakeMediaMTX.Configuration(rtmpPort: 0, apiPort: 0, recordDirectory: recordDirectory),
                                    logger: logger.withComponent("fake-mediamtx"))
        try mediamtx.start()
        defer { mediamtx.stop() }
        let fake = try FakeCallsServer(options: FakeCallsOptions(appId: Self.appId, token: Self.token),
                                       logger: logger.withComponent("fake-calls"))
        defer { fake.stop() }
        let config = RelayConfig(
            cloudflare: CloudflareConfig(callsAppId: Self.appId, callsAPIToken: Secret(Self.token)),
            guests: [GuestConfig(id: "guest1", name: "Guest 1")],
            mediamtx: MediaMTXConfig(rtmpPort: mediamtx.rtmpPort ?? 1935),
            relay: RelayServiceConfig(listenHost: "127.0.0.1", listenPort: 0, callsBaseURL: fake.baseURL))
        let relay = try RelayServer(config: config, logger: logger)
        let publish = try await publishRecordedOffer(relay: relay)

        // The relay half, with a guest FakeCalls plays from fixtures.
        let session = try await fake.addFixturePublisher(video: fixtureVideo, audio: fixtureAudio)
        let guest = PublishedGuest(
            guestId: "guest1", sessionId: session,
            tracks: [.init(name: "video", kind: "video", mid: "0"), .init(name: "audio", kind: "audio", mid: "1")],
            resourceId: "fixture", etag: "\"fixture\"", since: Date())
        let started = ContinuousClock.now
        await relay.startRelay(for: guest)
        let ready = await mediamtx.waitUntilReady(path: "guest1", timeout: .seconds(20))
        let setup = ready ? Self.milliseconds(ContinuousClock.now - started) : nil
        if ready { try await Task.sleep(for: duration) }  // the demo relays for as long as asked
        await relay.endRelay(for: guest)
        _ = await mediamtx.waitUntilGone(path: "guest1", timeout: .seconds(5))
        await relay.shutdown()

        let check = mediamtx.streamCheck(path: "guest1") ?? StreamCheck()
        let report = Report.Guest(
            id: "guest1",
            video: .init(codecIn: "H264", codecOut: check.video.codec ?? "-", frames: check.video.frames,
                         keyframes: check.video.keyframes, width: check.width, height: check.height),
            audio: .init(codecIn: "opus", codecOut: check.audio.codec ?? "-", frames: check.audio.frames),
            pathReady: ready, flv: mediamtx.recordings(path: "guest1").last?.path, avStartOffsetMs: check.avStartOffsetMs,
            dtsViolations: check.video.dtsViolations + check.audio.dtsViolations)
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        return Report(setupMs: setup, durationS: seconds, publish: publish, guests: [report],
                      log: capture.entries.filter { $0.level >= .info && $0["component"] == nil }.map(\.message))
    }

    private func publishRecordedOffer(relay: RelayServer) async throws -> Report.Publish {
        let http = try CurlHTTPClient()
        let base = "http://127.0.0.1:\(relay.port)"
        let offer = try String(contentsOfFile: offerPath, encoding: .utf8)
        let started = ContinuousClock.now
        let response = try await http.send(HTTPClientRequest(
            method: "POST", url: "\(base)/api/calls/whip/guest1", headers: ["Content-Type": "application/sdp"],
            body: Data(offer.utf8)))
        let whipMs = Self.milliseconds(ContinuousClock.now - started)
        let answer = response.status == 201 ? try? SDP.parse(response.text) : nil
        var leaveStatus: Int?
        if let location = response.headers["Location"] {
            leaveStatus = try await http.send(HTTPClientRequest(method: "DELETE", url: base + location)).status
        }
        return Report.Publish(
            offer: offerPath, whipStatus: response.status, whipMs: whipMs,
            answerMids: answer?.mediaSections.compactMap(\.mid) ?? [],
            answerCodecs: answer?.mediaSections.flatMap { $0.negotiatedCodecs.codecs.map(\.summary) } ?? [],
            leaveStatus: leaveStatus)
    }

    static func milliseconds(_ duration: Duration) -> Double {
        let ms = Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
        return (ms * 10).rounded() / 10
    }

    /// A repository file, found from the working directory or next to the binary.
    static func repositoryFile(_ relative: String) -> String? {
        var candidates = [FileManager.default.currentDirectoryPath + "/" + relative]
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<5 {
            candidates.append(directory.appendingPathComponent(relative).path)
            directory.deleteLastPathComponent()
        }
        return candidates.first { FileManager.default.fileExists(atPath: $0) }
    }
}

extension Logger {
    func withComponent(_ component: String) -> Logger {
        var copy = self
        copy[metadataKey: "component"] = "\(component)"
        return copy
    }
}

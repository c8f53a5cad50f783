import FakeCalls
import FakeMediaMTX
import Foundation
import Logging
import Relay

/// `relayd demo`: FakeCalls (fixture mode), FakeMediaMTX and relayd in one process on free
/// loopback ports, the whole chain with no browser:
/// 1. A fixture guest POSTs a recorded browser offer to relayd's WHIP endpoint; relayd runs the
///    two-step publish into FakeCalls, which answers and at once plays, for each published mid,
///    the recording of the codec the answer negotiated (Fixtures/rtp, else the repository's
///    media files) as the guest's media.
/// 2. relayd subscribes at once, receives it over real ICE/DTLS/SRTP, publishes H.264 + AAC by
///    RTMP into FakeMediaMTX (which records it and checks the stream) for `duration`.
/// 3. The guest leaves (WHIP DELETE); the report shows what arrived and the teardown.
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
            /// The recordings FakeCalls played for this guest.
            var fixture: String
        }

        struct Publish: Encodable {
            var offer: String
            var whipStatus: Int
            var whipMs: Double
            var answerMids: [String]
            var answerCodecs: [String]
            var leaveStatus: Int?
        }

        /// What happened to the media while it was relayed (sampled every 50 ms), for judging a
        /// run under impairment or a long one.
        struct Media: Encodable {
            /// FakeCalls' impairment spec ("none": a clean loopback).
            var impairment: String
            /// Video frames of the recording FakeCalls sent to relayd (from its first keyframe).
            var framesSent: Int
            var nacksSent: Int
            var plisSent: Int
            var packetsLost: Int
            /// Datagrams the impairment dropped, both directions.
            var impairmentDropped: Int
            /// No video frame written for more than 200 ms / 2 s.
            var freezes: Int
            var stalls: Int
            var longestGapMs: Int
        }

        struct Teardown: Encodable {
            /// WHIP DELETE → the MediaMTX path gone.
            var pathGoneMs: Double?
            /// Calls sessions still holding tracks after the guest left (should be none).
            var callsSessionsLeft: Int
            var relaysLeft: Int
        }

        /// WHIP POST → relayd's first RTMP video frame written.
        var setupMs: Double?
        var durationS: Double
        var publish: Publish
        var guests: [Guest]
        var media: Media
        /// `--progress`: the lines printed during the run.
        var progress: [DemoProgress.Line]?
        var teardown: Teardown
        var log: [String]
    }

    /// What the fixture guest sends and what FakeCalls plays.
    struct Fixtures {
        var offerPath: String
        var catalog: FixtureCatalog

        /// The recorded offer for `video` ("h264" or "vp8"): Fixtures/rtp/chromium-<video>-opus/offer.sdp
        /// when present (for VP8 only if it offers no H.264, which relayd would prefer), else the
        /// Fixtures/sdp one. Recordings from Fixtures/rtp, media files for codecs it lacks.
        static func locate(video: String, offer: String?) throws -> Fixtures {
            let recordedOffer = DemoRunner.repositoryFile("Fixtures/rtp/chromium-\(video)-opus/offer.sdp").flatMap { path -> String? in
                guard video == "vp8" else { return path }
                let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
                return text.range(of: "H264/90000", options: .caseInsensitive) == nil ? path : nil
            }
            let fallbackOffer = DemoRunner.repositoryFile(video == "vp8" ? "Fixtures/sdp/chromium-vp8only.sdp" : "Fixtures/sdp/chromium-h264.sdp")
            guard let offerPath = offer ?? recordedOffer ?? fallbackOffer else {
                throw DemoError("cannot find the Fixtures folder; run from the repository (make demo) or pass --offer FILE")
            }
            let synthetic = try FixtureCatalog.synthetic(
                h264: DemoRunner.repositoryFile("Fixtures/media/testsrc2-320x240-60f.h264"),
                vp8: DemoRunner.repositoryFile("Fixtures/media/testsrc2-320x240-60f.ivf"),
                opus: DemoRunner.repositoryFile("Fixtures/audio/tone-440L-660R-stereo-2s.opus.ogg"))
            var catalog = synthetic
            if let root = DemoRunner.repositoryFile("Fixtures/rtp"), let recorded = try? FixtureCatalog(directory: root) {
                catalog = recorded.filling(from: synthetic)
            }
            guard !catalog.recordings.isEmpty else { throw DemoError("no recordings or media files found under Fixtures/") }
            return Fixtures(offerPath: offerPath, catalog: catalog)
        }
    }

    struct DemoError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    static let appId = "relayd-demo-app"
    static let token = "relayd-demo-token-not-a-secret"

    let fixtures: Fixtures
    let recordDirectory: URL
    let duration: Duration
    let logger: Logger
    let capture: LogCapture
    /// FakeCalls' media socket impairment (`--impair`); nil: none.
    var impairment: NetworkImpairment.Profile? = nil
    /// `--progress`: how often to print a progress line (nil: never).
    var progressInterval: Duration? = nil
    /// Receives each progress line as it is taken (the command prints it).
    var onProgress: @Sendable (DemoProgress.Line) -> Void = { _ in }

    func run() async throws -> Report {
        let mediamtx = FakeMediaMTX(configuration: FakeMediaMTX.Configuration(rtmpPort: 0, apiPort: 0, recordDirectory: recordDirectory),
                                    logger: logger.withComponent("fake-mediamtx"))
        try mediamtx.start()
        defer { mediamtx.stop() }
        var options = FakeCallsOptions(appId: Self.appId, token: Self.token)
        options.mediaMode = .fixtures(fixtures.catalog)
        options.impairment = impairment
        let fake = try FakeCallsServer(options: options, logger: logger.withComponent("fake-calls"))
        defer { fake.stop() }
        let config = RelayConfig(
            cloudflare: CloudflareConfig(callsAppId: Self.appId, callsAPIToken: Secret(Self.token)),
            guests: [GuestConfig(id: "guest1", name: "Guest 1")],
            mediamtx: MediaMTXConfig(rtmpPort: mediamtx.rtmpPort ?? 1935),
            relay: RelayServiceConfig(listenHost: "127.0.0.1", listenPort: 0, callsBaseURL: fake.baseURL))
        let relay = try RelayServer(config: config, logger: logger)

        // 1. The fixture guest publishes; relayd subscribes at once and relays.
        let http = try CurlHTTPClient()
        let base = "http://127.0.0.1:\(relay.port)"
        let offer = try String(contentsOfFile: fixtures.offerPath, encoding: .utf8)
        // On loopback the POST reaches relayd within a fraction of a millisecond of this.
        let posted = Date()
        let started = ContinuousClock.now
        let response = try await http.send(HTTPClientRequest(
            method: "POST", url: "\(base)/api/calls/whip/guest1", headers: ["Content-Type": "application/sdp"],
            body: Data(offer.utf8)))
        let whipMs = Self.milliseconds(ContinuousClock.now - started)
        let answer = response.status == 201 ? try? SDP.parse(response.text) : nil
        let ready = response.status == 201 ? await mediamtx.waitUntilReady(path: "guest1", timeout: .seconds(20)) : false
        var setupMs: Double?
        var monitor = DemoProgress()
        var lines: [DemoProgress.Line] = []
        if ready {
            let deadline = ContinuousClock.now + .seconds(5)
            while setupMs == nil && ContinuousClock.now < deadline {
                if let first = await relay.relayStatuses().first?.rtmp?.firstVideoFrameAt, let at = Self.date(first) {
                    setupMs = (at.timeIntervalSince(posted) * 10_000).rounded() / 10
                } else {
                    try await Task.sleep(for: .milliseconds(5))
                }
            }
            try await relayForDuration(relay: relay, fake: fake, monitor: &monitor, lines: &lines, started: started)
        }

        // relayd's counters as the media ends (the guest's status is gone once it left).
        let last = await relay.relayStatuses().first

        // 2. The guest leaves.
        var leaveStatus: Int?
        var pathGoneMs: Double?
        if let location = response.headers["Location"] {
            let leaving = ContinuousClock.now
            leaveStatus = try await http.send(HTTPClientRequest(method: "DELETE", url: base + location)).status
            if await mediamtx.waitUntilGone(path: "guest1", timeout: .seconds(5)) {
                pathGoneMs = Self.milliseconds(ContinuousClock.now - leaving)
            }
        }
        let statistics = fake.media.statistics
        let media = Report.Media(
            impairment: impairment?.description ?? "none", framesSent: statistics.recordedVideoFramesSent,
            nacksSent: last?.media?.nacksSent ?? 0, plisSent: last?.media?.plisSent ?? 0, packetsLost: last?.media?.packetsLost ?? 0,
            impairmentDropped: statistics.datagramsDroppedByImpairment, freezes: monitor.freezes, stalls: monitor.stalls,
            longestGapMs: Int(Self.milliseconds(monitor.longestGap)))
        let relaysLeft = await relay.relayStatuses().count
        let callsLeft = await fake.api.sessionsHoldingTracks().count
        await relay.shutdown()

        let check = mediamtx.streamCheck(path: "guest1") ?? StreamCheck()
        let codecs = answer?.mediaSections.compactMap { $0.negotiatedCodecs.codecs.first } ?? []
        let videoIn = codecs.first { ["h264", "vp8"].contains($0.name.lowercased()) }?.name ?? "-"
        let audioIn = codecs.first { $0.name.lowercased() == "opus" }?.name ?? "-"
        let played = fixtures.catalog.recording(videoCodec: RecordedTrack.Codec(sdpName: videoIn))?.name ?? "-"
        let guest = Report.Guest(
            id: "guest1",
            video: .init(codecIn: videoIn, codecOut: check.video.codec ?? "-", frames: check.video.frames,
                         keyframes: check.video.keyframes, width: check.width, height: check.height),
            audio: .init(codecIn: audioIn, codecOut: check.audio.codec ?? "-", frames: check.audio.frames),
            pathReady: ready, flv: mediamtx.recordings(path: "guest1").last?.path, avStartOffsetMs: check.avStartOffsetMs,
            dtsViolations: check.video.dtsViolations + check.audio.dtsViolations, fixture: played)
        let publish = Report.Publish(
            offer: fixtures.offerPath, whipStatus: response.status, whipMs: whipMs,
            answerMids: answer?.mediaSections.compactMap(\.mid) ?? [],
            answerCodecs: answer?.mediaSections.flatMap { $0.negotiatedCodecs.codecs.map(\.summary) } ?? [],
            leaveStatus: leaveStatus)
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        return Report(setupMs: setupMs, durationS: seconds, publish: publish, guests: [guest], media: media,
                      progress: progressInterval == nil ? nil : lines, teardown: .init(pathGoneMs: pathGoneMs, callsSessionsLeft: callsLeft, relaysLeft: relaysLeft),
                      log: capture.entries.filter { $0.level >= .info && $0["component"] == nil }.map(\.message))
    }

    /// Relays for `duration` (the demo's run time), sampling relayd's frame count every 50 ms
    /// for freezes and stalls and, with `--progress`, taking a progress line every interval.
    private func relayForDuration(relay: RelayServer, fake: FakeCallsServer, monitor: inout DemoProgress,
                                  lines: inout [DemoProgress.Line], started: ContinuousClock.Instant) async throws {
        let begin = ContinuousClock.now
        let end = begin + duration
        var nextLine = progressInterval.map { begin + $0 }
        while true {
            let now = ContinuousClock.now
            let status = await relay.relayStatuses().first
            monitor.sample(videoFramesOut: status?.rtmp?.videoFramesSent ?? 0, now: now)
            if let due = nextLine, let interval = progressInterval, now >= due {
                let statistics = fake.media.statistics
                let line = DemoProgress.Line(
                    elapsedS: (Self.milliseconds(now - started) / 100).rounded() / 10, rssMiB: DemoProgress.residentMiB(),
                    videoFramesOut: status?.rtmp?.videoFramesSent ?? 0, audioFramesOut: status?.rtmp?.audioFramesSent ?? 0,
                    framesSent: statistics.recordedVideoFramesSent, freezes: monitor.freezes, stalls: monitor.stalls,
                    longestGapMs: Int(Self.milliseconds(monitor.longestGap)), nacksSent: status?.media?.nacksSent ?? 0,
                    plisSent: status?.media?.plisSent ?? 0, packetsLost: status?.media?.packetsLost ?? 0,
                    impairmentDropped: statistics.datagramsDroppedByImpairment, relayState: status?.state ?? "gone",
                    logEntries: capture.entries.count)
                lines.append(line)
                onProgress(line)
                nextLine = due + interval
            }
            guard now < end else { return }
            try await Task.sleep(until: min(end, now + .milliseconds(50)), clock: .continuous)
        }
    }

    static func date(_ iso: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: iso)
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

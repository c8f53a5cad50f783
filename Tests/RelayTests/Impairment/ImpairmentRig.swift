@testable import FakeCalls
import FakeMediaMTX
import Foundation
import Logging
@testable import Relay

/// One case of the impairment suite: a name, the profile FakeCalls applies to its media socket
/// (nil: the baseline), and whether it applies from the start (ICE, DTLS and the first keyframe
/// go through it too) or from the first frame relayed (so a burst schedule is timed from there).
struct ImpairmentCase: Sendable {
    enum Onset: Sendable { case fromStart, fromFirstFrame }

    var name: String
    var profile: NetworkImpairment.Profile?
    var onset: Onset = .fromStart
    /// A spec that did not parse (the suite's own typo): the case fails with it.
    var specError: String?
    /// Video frames to relay (20 fps).
    var frames: Int

    init(_ name: String, _ spec: String?, onset: Onset = .fromStart, frames: Int = 160) {
        self.name = name
        self.frames = frames
        do { profile = try spec.map { spec throws(NetworkImpairment.SpecError) in try NetworkImpairment.Profile.parse(spec) } } catch {
            specError = error.description
        }
        self.onset = onset
    }
}

/// What one case measured (the suite prints one row per case).
struct ImpairmentOutcome: Sendable {
    var name: String
    var spec: String
    /// WHIP POST → first RTMP video frame.
    var setupMs: Double?
    /// Video frames FakeCalls sent to the relay (from its first keyframe, before impairment).
    var framesSent = 0
    /// Video frames in the FLV FakeMediaMTX recorded.
    var framesDelivered = 0
    /// Frames ffmpeg decoded from that FLV, and the error lines it printed.
    var framesDecoded = 0
    var decodeErrors: [String] = []
    /// Gaps between consecutive output video timestamps over 200 ms, and the longest gap.
    var freezes = 0
    var longestGapMs = 0
    /// Longest wall-clock gap between two video frames reaching FakeMediaMTX while media
    /// flowed, and the gaps over 200 ms (what a viewer sees live, even when every frame came).
    var longestWallGapMs = 0
    var wallFreezes = 0
    /// Burst case: for each burst window, its end → the next video frame reaching FakeMediaMTX.
    var recoveriesMs: [Int] = []
    var burstsDuringMedia = 0
    var nacksSent = 0
    var plisSent = 0
    var packetsLost = 0
    var datagramsDropped = 0
    var datagramsDuplicated = 0
    var datagramsDelayed = 0
    var callsSessionsLeft = 0
    var relaysLeft = 0
    var wallSeconds = 0.0
    /// The recording (in the rig's directory, removed by the suite after ffmpeg read it).
    var flv: URL?
    /// Set when the case could not run to the end (nothing else is meaningful then).
    var failure: String?

    var deliveredRatio: Double { framesSent == 0 ? 0 : Double(framesDelivered) / Double(framesSent) }
    /// Frames ffmpeg decoded cleanly: every error line counts against one frame.
    var framesDecodable: Int { max(0, min(framesDecoded, framesDelivered) - decodeErrors.count) }
    var decodableRatio: Double { framesDelivered == 0 ? 0 : Double(framesDecodable) / Double(framesDelivered) }
}

/// FakeCalls (fixture mode, the real Chromium H.264 recording) → relayd → FakeMediaMTX for one
/// case, on loopback with ephemeral ports. Several run at once, one per case.
final class ImpairmentRig: Sendable {
    static let appId = "impairment-app"
    static let token = "impairment-token-never-logged-71c"
    static let offer = "rtp/chromium-h264-opus/offer.sdp"

    let mediamtx: FakeMediaMTX
    let fake: FakeCallsServer
    let relay: RelayServer
    let capture = LogCapture()
    let directory: URL
    let testCase: ImpairmentCase
    let arrivals = FrameArrivals()

    init(_ testCase: ImpairmentCase, catalog: FixtureCatalog) throws {
        self.testCase = testCase
        directory = try ExternalTool.temporaryDirectory("impairment")
        let logger = capture.logger(label: "impairment", level: .info)
        mediamtx = FakeMediaMTX(configuration: .init(rtmpPort: 0, apiPort: nil, recordDirectory: directory), logger: logger)
        try mediamtx.start()
        var options = FakeCallsOptions(appId: Self.appId, token: Self.token)
        options.mediaMode = .fixtures(catalog)
        if testCase.onset == .fromStart { options.impairment = testCase.profile }
        fake = try FakeCallsServer(options: options, logger: logger)
        relay = try RelayServer(config: RelayConfig(
            cloudflare: CloudflareConfig(callsAppId: Self.appId, callsAPIToken: Secret(Self.token)),
            guests: [GuestConfig(id: "guest1")],
            mediamtx: MediaMTXConfig(rtmpPort: mediamtx.rtmpPort ?? 0),
            relay: RelayServiceConfig(listenHost: "127.0.0.1", listenPort: 0, callsBaseURL: fake.baseURL)),
            logger: logger)
        // FakeMediaMTX checks a waiter's predicate on every change of its state: this one never
        // holds, it notes when each video frame arrived (it ends when FakeMediaMTX stops).
        Task { [mediamtx, arrivals] in
            _ = await mediamtx.wait(timeout: .seconds(600)) { snapshot in
                arrivals.observe(frames: snapshot.paths["guest1"]?.streamCheck.video.frames)
                return false
            }
        }
    }

    /// Publishes the recorded guest, relays `frames` video frames of it, lets what is in flight
    /// arrive, leaves, and measures. Never throws: a failure is the outcome's `failure`.
    func run(frames: Int) async -> ImpairmentOutcome {
        let started = ContinuousClock.now
        var outcome = ImpairmentOutcome(name: testCase.name, spec: testCase.profile?.description ?? "none")
        do {
            if let specError = testCase.specError { throw Failure(description: specError) }
            try await measure(frames: frames, into: &outcome)
        } catch {
            outcome.failure = "\(error)"
        }
        await relay.shutdown()
        fake.stop()
        mediamtx.stop()
        outcome.wallSeconds = Self.seconds(ContinuousClock.now - started)
        return outcome
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    private func measure(frames: Int, into outcome: inout ImpairmentOutcome) async throws {
        let http = try CurlHTTPClient()
        let base = "http://127.0.0.1:\(relay.port)"
        let posted = ContinuousClock.now
        let response = try await http.send(HTTPClientRequest(
            method: "POST", url: "\(base)/api/calls/whip/guest1", headers: ["Content-Type": "application/sdp"],
            body: Data(try FixturePaths.text(Self.offer).utf8)))
        guard response.status == 201, let location = response.headers["Location"] else {
            throw Failure(description: "WHIP said \(response.status): \(response.text)")
        }
        // Waits on real events (counters that move when media moves), each with a deadline.
        guard try await wait(timeout: .seconds(20), until: { ($0?.rtmp?.videoFramesSent ?? 0) > 0 }) != nil else {
            throw Failure(description: "no RTMP video frame within 20 s of the WHIP POST")
        }
        outcome.setupMs = Self.seconds(ContinuousClock.now - posted) * 1000
        let mediaStart = ContinuousClock.now
        if testCase.onset == .fromFirstFrame { fake.media.impairment = testCase.profile }
        let mediaTimeout: Duration = .seconds(Double(frames) / 20 * 2 + 10)
        while fake.media.statistics.recordedVideoFramesSent < frames {
            guard ContinuousClock.now - mediaStart < mediaTimeout else {
                throw Failure(description: "FakeCalls sent only \(fake.media.statistics.recordedVideoFramesSent) of \(frames) frames")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        fake.media.pauseRecordedPlayback()
        let mediaEnd = ContinuousClock.now
        // Drained once relayd's frame count held still for 600 ms (its jitter buffer gives a
        // hole up after 200 ms at most) and FakeMediaMTX has every frame it wrote.
        var last = -1
        var stillSince = ContinuousClock.now
        let drainDeadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < drainDeadline {
            let written = await relay.relayStatuses().first?.rtmp?.videoFramesSent ?? 0
            if written != last {
                last = written
                stillSince = ContinuousClock.now
            } else if ContinuousClock.now - stillSince >= .milliseconds(600),
                      (mediamtx.streamCheck(path: "guest1")?.video.frames ?? 0) >= written {
                break
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        let statistics = fake.media.statistics
        outcome.framesSent = statistics.recordedVideoFramesSent
        outcome.datagramsDropped = statistics.datagramsDroppedByImpairment
        outcome.datagramsDuplicated = statistics.datagramsDuplicatedByImpairment
        outcome.datagramsDelayed = statistics.datagramsDelayedByImpairment
        if let status = await relay.relayStatuses().first {
            outcome.nacksSent = status.media?.nacksSent ?? 0
            outcome.plisSent = status.media?.plisSent ?? 0
            outcome.packetsLost = status.media?.packetsLost ?? 0
        }
        let arrived = arrivals.times.filter { $0 >= mediaStart && $0 <= mediaEnd }
        let wallGaps = zip(arrived, arrived.dropFirst()).map { Int(Self.seconds($1 - $0) * 1000) }
        outcome.longestWallGapMs = wallGaps.max() ?? 0
        outcome.wallFreezes = wallGaps.filter { $0 > 200 }.count
        if testCase.onset == .fromFirstFrame, let profile = testCase.profile {
            // The schedule FakeCalls started when the impairment was set (its driver applies it
            // within a loop turn, so the windows end here or a moment later).
            let windows = NetworkImpairment(profile: profile, start: mediaStart).burstWindows(through: mediaEnd)
            let whole = windows.filter { $0.upperBound < mediaEnd }
            outcome.burstsDuringMedia = whole.count
            outcome.recoveriesMs = whole.compactMap { window in
                arrivals.times.first { $0 > window.upperBound }.map { Int(Self.seconds($0 - window.upperBound) * 1000) }
            }
        }

        let leave = try await http.send(HTTPClientRequest(method: "DELETE", url: base + location))
        guard (200..<300).contains(leave.status) else { throw Failure(description: "WHIP DELETE said \(leave.status)") }
        guard await mediamtx.waitUntilGone(path: "guest1", timeout: .seconds(10)) else {
            throw Failure(description: "the MediaMTX path stayed after the guest left")
        }
        outcome.callsSessionsLeft = await fake.api.sessionsHoldingTracks().count
        outcome.relaysLeft = await relay.relayStatuses().count
        guard let recording = mediamtx.recordings(path: "guest1").last else {
            throw Failure(description: "FakeMediaMTX recorded nothing")
        }
        outcome.flv = recording
        try Self.analyse(flv: recording, into: &outcome)
    }

    private func wait(timeout: Duration, until predicate: (GuestRelayStatus?) -> Bool) async throws -> GuestRelayStatus? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let status = await relay.relayStatuses().first
            if predicate(status) { return status }
            try await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }

    /// Frames and freezes from the FLV's video timestamps.
    static func analyse(flv: URL, into outcome: inout ImpairmentOutcome) throws {
        let file = try FLVFile(Array(try Data(contentsOf: flv)))
        let stamps = file.tags.compactMap { tag -> UInt32? in
            guard tag.kind == .video, let info = FLVVideoTagInfo(tag.body), info.avcPacketType == 1 else { return nil }
            return tag.timestamp
        }
        outcome.framesDelivered = stamps.count
        let gaps = zip(stamps, stamps.dropFirst()).map { Int($1) - Int($0) }
        outcome.longestGapMs = gaps.max() ?? 0
        outcome.freezes = gaps.filter { $0 > 200 }.count
    }

    /// Runs ffmpeg over the FLV's video: frames decoded and the error lines it printed.
    static func decode(flv: URL, into outcome: inout ImpairmentOutcome) throws {
        let result = try ExternalTool.run("ffmpeg", ["-v", "error", "-i", flv.path, "-map", "0:v", "-f", "framemd5", "-"])
        outcome.framesDecoded = result.text.split(separator: "\n").filter { !$0.hasPrefix("#") }.count
        outcome.decodeErrors = result.stderr.split(separator: "\n").map(String.init)
        if result.status != 0 { outcome.decodeErrors.append("ffmpeg exited with \(result.status)") }
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

/// When each video frame reached FakeMediaMTX (fed from its state-change callback).
/// `@unchecked Sendable`: `lock` guards `recorded` and `frames`.
final class FrameArrivals: @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [ContinuousClock.Instant] = []
    private var frames = 0

    func observe(frames count: Int?) {
        guard let count else { return }
        let now = ContinuousClock.now
        lock.withLock {
            // Each new frame gets this instant (changes come one tag at a time).
            while frames < count {
                recorded.append(now)
                frames += 1
            }
            if count < frames { frames = count }  // a new publish starts counting again
        }
    }

    var times: [ContinuousClock.Instant] { lock.withLock { recorded } }
}

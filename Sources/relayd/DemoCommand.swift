import ArgumentParser
import FakeCalls
import Foundation
import Logging
import Relay

/// `relayd demo`: the whole flow on one machine, no Cloudflare account needed.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run relayd offline against its embedded fakes with a recorded browser guest.",
        discussion: """
            Starts FakeCalls (fixture mode), FakeMediaMTX and relayd on free loopback ports. A \
            fixture guest POSTs a recorded Chromium offer to relayd's WHIP endpoint; FakeCalls \
            answers and plays the recording of the negotiated codecs (Fixtures/rtp, else the \
            media files) over real ICE/DTLS/SRTP; relayd subscribes at once, relays it for \
            --duration seconds as H.264 + AAC by RTMP into FakeMediaMTX; then the guest leaves. \
            The report says what arrived (setup time from the WHIP POST to the first RTMP video \
            frame, frames, keyframes, size, audio frames, the recording's path) and the teardown.

            With --serve, relayd (on 127.0.0.1:--port, 8088 by default), FakeCalls in forward mode \
            and FakeMediaMTX then keep running: open the printed guest page URL in a browser, \
            press Join, and the camera and microphone are relayed into FakeMediaMTX (path guest1). \
            Ctrl-C (SIGINT) or SIGTERM stops everything cleanly.

            With --impair, FakeCalls' media socket drops, duplicates, delays, reorders and             rate-limits datagrams in both directions (relayd's NACKs and PLIs too), e.g.
              relayd demo --impair loss=5%,burst=300ms/3s,jitter=20ms,seed=1 --duration 60 --progress 10
            Keys: loss=P%, burst=LENGTH/PERIOD (drop everything for LENGTH every PERIOD),             reorder=P%[/EXTRA] (default extra delay 20ms), dup=P%, delay=D, jitter=D (uniform ±),             rate=Nkbit|Nmbit with queue=D (tail drop past that queueing delay, default 500ms), seed=N.
            With --progress, one JSON line per interval on stdout: resident memory of this             process (relayd, FakeCalls and FakeMediaMTX together), frames out, freezes and stalls             (no video frame written for > 200 ms / > 2 s), NACKs, PLIs, datagrams dropped. make             soak runs a long one.
            """
    )

    @Option(help: ArgumentHelp("How long to relay, in seconds (used once media flows).", valueName: "seconds"))
    var duration: Double = 10

    @Flag(help: "Print the report as JSON on stdout.")
    var json = false

    @Flag(help: "After the report, keep relayd, FakeCalls and FakeMediaMTX running for a browser guest (Ctrl-C stops).")
    var serve = false

    @Option(help: ArgumentHelp("With --serve: relayd's HTTP port on 127.0.0.1 (0 picks a free one).", valueName: "port"))
    var port: Int = 8088

    @Option(help: ArgumentHelp("The browser SDP offer to publish.", valueName: "file"))
    var offer: String?

    @Option(help: ArgumentHelp("The recorded guest's video codec: h264 (passed through) or vp8 (transcoded).", valueName: "codec"))
    var video: String = "h264"

    @Option(help: ArgumentHelp(
        "Impair FakeCalls' media socket (both directions), e.g. loss=5%,burst=300ms/3s,reorder=10%,dup=2%,delay=20ms,jitter=50ms,rate=500kbit,seed=1.",
        valueName: "spec"), transform: NetworkImpairment.Profile.commandLine)
    var impair: NetworkImpairment.Profile?

    @Option(help: ArgumentHelp("Print a JSON progress line (memory, frames, freezes, stalls) every SECONDS while relaying.",
                               valueName: "seconds"))
    var progress: Double?

    func validate() throws {
        if let progress, !(progress > 0 && progress.isFinite) {
            throw ValidationError("--progress must be a positive number of seconds, got \(progress)")
        }
        guard duration > 0, duration.isFinite else {
            throw ValidationError("--duration must be a positive number of seconds, got \(duration)")
        }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0…65535, got \(port)") }
        guard ["h264", "vp8"].contains(video) else { throw ValidationError("--video must be h264 or vp8, got \(video)") }
    }

    func run() async throws {
        let fixtures: DemoRunner.Fixtures
        do { fixtures = try DemoRunner.Fixtures.locate(video: video, offer: offer) } catch {
            StandardError.write("demo: \(error)")
            throw RelaydExit.usage
        }
        let capture = LogCapture()
        let level: Logger.Level = json ? .warning : .info
        let logger = Logger(label: "relayd") { label in
            // The report uses info and above only; capturing less keeps a long run's memory flat.
            var captured = CapturingLogHandler(label: label, capture: capture)
            captured.logLevel = .info
            return MultiplexLogHandler([RelayLogging.makeHandler(label: label, level: level), captured])
        }
        let records = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("out/demo")
        var runner = DemoRunner(fixtures: fixtures, recordDirectory: records,
                                duration: .milliseconds(Int(duration * 1000)), logger: logger, capture: capture)
        runner.impairment = impair
        runner.progressInterval = progress.map { .milliseconds(Int($0 * 1000)) }
        runner.onProgress = { line in
            // Straight to the descriptor: a pipe reader (make soak) sees each line as it is taken.
            FileHandle.standardOutput.write(Data((DemoProgress.json(line) + "\n").utf8))
        }
        let report = try await runner.run()
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(Self.summary(report))
        }
        guard report.publish.whipStatus == 201, report.guests.allSatisfy({ $0.pathReady && $0.video.frames > 0 }) else {
            throw RelaydExit.runtimeFailure
        }
        if serve {
            let served = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("out/demo-serve")
            // Without the demo's log capture: serving may run for hours.
            let serveLogger = Logger(label: "relayd") { RelayLogging.makeHandler(label: $0, level: .info) }
            try await DemoServe(port: port, recordDirectory: served, logger: serveLogger).run()
        }
    }

    static func summary(_ report: DemoRunner.Report) -> String {
        let publish = report.publish
        var lines = [
            "",
            "relayd demo: FakeCalls + relayd + FakeMediaMTX on loopback",
            "  publish: recorded Chromium offer → WHIP → \(publish.whipStatus) in \(publish.whipMs) ms; answer mids \(publish.answerMids), codecs \(publish.answerCodecs)",
        ]
        for guest in report.guests {
            lines.append("  relay \(guest.id) (FakeCalls plays \(guest.fixture)): path ready \(guest.pathReady); setup \(report.setupMs.map { "\($0) ms" } ?? "-") (WHIP POST → first RTMP video frame)")
            lines.append("    video \(guest.video.codecIn) → \(guest.video.codecOut): \(guest.video.frames) frames, \(guest.video.keyframes) keyframes, \(guest.video.width ?? 0)x\(guest.video.height ?? 0) in \(report.durationS) s")
            lines.append("    audio \(guest.audio.codecIn) → \(guest.audio.codecOut): \(guest.audio.frames) frames; A/V start offset \(guest.avStartOffsetMs.map { "\($0) ms" } ?? "-"); DTS violations \(guest.dtsViolations)")
            lines.append("    recording: \(guest.flv ?? "-")")
        }
        let media = report.media
        lines.append("  media: impairment \(media.impairment); FakeCalls sent \(media.framesSent) video frames; NACKed \(media.nacksSent) packets, \(media.plisSent) PLIs, \(media.packetsLost) lost; \(media.impairmentDropped) datagrams dropped; freezes \(media.freezes), stalls \(media.stalls), longest gap \(media.longestGapMs) ms")
        let teardown = report.teardown
        lines.append("  leave: DELETE → \(publish.leaveStatus.map(String.init) ?? "-"); path gone after \(teardown.pathGoneMs.map { "\($0) ms" } ?? "-"); Calls sessions left \(teardown.callsSessionsLeft), relays left \(teardown.relaysLeft)")
        lines.append("  log sequence:")
        lines += report.log.enumerated().map { "    \($0.offset + 1). \($0.element)" }
        return lines.joined(separator: "\n")
    }
}

import ArgumentParser
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

    func validate() throws {
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
            MultiplexLogHandler([RelayLogging.makeHandler(label: label, level: level), CapturingLogHandler(label: label, capture: capture)])
        }
        let records = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("out/demo")
        let runner = DemoRunner(fixtures: fixtures, recordDirectory: records,
                                duration: .milliseconds(Int(duration * 1000)), logger: logger, capture: capture)
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
        let teardown = report.teardown
        lines.append("  leave: DELETE → \(publish.leaveStatus.map(String.init) ?? "-"); path gone after \(teardown.pathGoneMs.map { "\($0) ms" } ?? "-"); Calls sessions left \(teardown.callsSessionsLeft), relays left \(teardown.relaysLeft)")
        lines.append("  log sequence:")
        lines += report.log.enumerated().map { "    \($0.offset + 1). \($0.element)" }
        return lines.joined(separator: "\n")
    }
}

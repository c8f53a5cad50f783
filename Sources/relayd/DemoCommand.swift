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
            Starts FakeCalls, FakeMediaMTX and relayd on free loopback ports. First a recorded \
            Chromium offer is published through relayd's WHIP endpoint (two-step publish into \
            FakeCalls) and leaves again. Then FakeCalls plays a fixture guest (H.264 + Opus over \
            real ICE/DTLS/SRTP); relayd subscribes at once, relays it for --duration seconds as \
            H.264 + AAC by RTMP into FakeMediaMTX, and reports what arrived (time to the path \
            being ready, frames, keyframes, size, audio frames, the recording's path).

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

    func validate() throws {
        guard duration > 0, duration.isFinite else {
            throw ValidationError("--duration must be a positive number of seconds, got \(duration)")
        }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0…65535, got \(port)") }
    }

    func run() async throws {
        guard let offerPath = offer ?? DemoRunner.repositoryFile("Fixtures/sdp/chromium-default.sdp"),
              let video = DemoRunner.repositoryFile("Fixtures/media/testsrc2-320x240-60f.h264"),
              let audio = DemoRunner.repositoryFile("Fixtures/audio/tone-440L-660R-stereo-2s.opus.ogg") else {
            StandardError.write("demo: cannot find the Fixtures folder; run from the repository (make demo) or pass --offer FILE")
            throw RelaydExit.usage
        }
        let capture = LogCapture()
        let level: Logger.Level = json ? .warning : .info
        let logger = Logger(label: "relayd") { label in
            MultiplexLogHandler([RelayLogging.makeHandler(label: label, level: level), CapturingLogHandler(label: label, capture: capture)])
        }
        let records = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("out/demo")
        let runner = DemoRunner(offerPath: offerPath, fixtureVideo: video, fixtureAudio: audio, recordDirectory: records,
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
            "  publish: recorded Chromium offer → WHIP → \(publish.whipStatus) in \(publish.whipMs) ms; answer mids \(publish.answerMids), codecs \(publish.answerCodecs); DELETE → \(publish.leaveStatus.map(String.init) ?? "-")",
        ]
        for guest in report.guests {
            lines.append("  relay \(guest.id): path ready \(guest.pathReady) after \(report.setupMs.map { "\($0) ms" } ?? "-") (subscribe → ICE/DTLS → first RTMP frames)")
            lines.append("    video \(guest.video.codecIn) → \(guest.video.codecOut): \(guest.video.frames) frames, \(guest.video.keyframes) keyframes, \(guest.video.width ?? 0)x\(guest.video.height ?? 0) in \(report.durationS) s")
            lines.append("    audio \(guest.audio.codecIn) → \(guest.audio.codecOut): \(guest.audio.frames) frames; A/V start offset \(guest.avStartOffsetMs.map { "\($0) ms" } ?? "-"); DTS violations \(guest.dtsViolations)")
            lines.append("    recording: \(guest.flv ?? "-")")
        }
        lines.append("  log sequence:")
        lines += report.log.enumerated().map { "    \($0.offset + 1). \($0.element)" }
        return lines.joined(separator: "\n")
    }
}

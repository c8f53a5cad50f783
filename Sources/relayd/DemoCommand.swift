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
            Starts FakeCalls and relayd on free loopback ports and publishes a recorded Chromium \
            offer through relayd's WHIP endpoint: the two-step publish runs against FakeCalls and \
            the guest's SDP answer comes back; then the guest leaves. Prints what happened (the \
            expected log sequence, the answer's mids and codecs, timings). The subscribe, \
            transcode and RTMP half of the chain joins this demo as it lands.
            """
    )

    @Option(help: ArgumentHelp("How long to relay, in seconds (used once media flows).", valueName: "seconds"))
    var duration: Double = 10

    @Flag(help: "Print the report as JSON on stdout.")
    var json = false

    @Flag(help: "Keep serving after the recorded guest (not available yet).")
    var serve = false

    @Option(help: ArgumentHelp("The browser SDP offer to publish.", valueName: "file"))
    var offer: String?

    func validate() throws {
        guard duration > 0, duration.isFinite else {
            throw ValidationError("--duration must be a positive number of seconds, got \(duration)")
        }
        if serve { throw ValidationError("--serve needs the guest page, which is not built yet") }
    }

    func run() async throws {
        guard let offerPath = offer ?? DemoRunner.defaultOfferPath() else {
            StandardError.write("demo: cannot find Fixtures/sdp/chromium-default.sdp; run from the repository or pass --offer FILE")
            throw RelaydExit.usage
        }
        let capture = LogCapture()
        let level: Logger.Level = json ? .warning : .info
        let logger = Logger(label: "relayd") { label in
            MultiplexLogHandler([RelayLogging.makeHandler(label: label, level: level), CapturingLogHandler(label: label, capture: capture)])
        }
        let report = try await DemoRunner(offerPath: offerPath, logger: logger, capture: capture).run()
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(Self.summary(report))
        }
        guard report.guests.allSatisfy({ $0.whipStatus == 201 && $0.sessionsAfterLeave == 0 }) else {
            throw RelaydExit.runtimeFailure
        }
    }

    static func summary(_ report: DemoRunner.Report) -> String {
        var lines = ["", "relayd demo (\(report.stage) stage): a recorded Chromium guest through relayd into FakeCalls"]
        for guest in report.guests {
            lines.append("  \(guest.id): WHIP POST → \(guest.whipStatus) in \(report.setupMs) ms, Location \(guest.location ?? "-")")
            lines.append("    Calls session \(guest.callsSession ?? "-"); answer mids \(guest.answerMids), codecs \(guest.answerCodecs), ice-lite \(guest.answerIceLite)")
            lines.append("    listed in /api/calls/sessions: \(guest.listedWhileLive); left with DELETE → \(guest.leaveStatus.map(String.init) ?? "-"); sessions left: \(guest.sessionsAfterLeave)")
        }
        lines.append("  log sequence:")
        lines += report.log.enumerated().map { "    \($0.offset + 1). \($0.element)" }
        return lines.joined(separator: "\n")
    }
}

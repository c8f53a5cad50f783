import ArgumentParser

/// `relayd demo`: the whole flow on one machine, no Cloudflare account needed.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the whole relay offline: a recorded guest → FakeCalls → relayd → FakeMediaMTX.",
        discussion: """
            Starts FakeCalls and FakeMediaMTX on free loopback ports, publishes a recorded guest \
            through relayd's WHIP endpoint, relays it for --duration seconds and reports what \
            arrived (time to first frame, frames, audio, CPU). With --serve it keeps running and \
            prints the guest page's URL so a real browser can join.
            """
    )

    @Option(help: ArgumentHelp("How long to relay, in seconds.", valueName: "seconds"))
    var duration: Double = 10

    @Flag(help: "Print the report as JSON on stdout.")
    var json = false

    @Flag(help: "Keep serving after the recorded guest (open the printed URL in a browser); stop with Ctrl-C.")
    var serve = false

    func validate() throws {
        guard duration > 0, duration.isFinite else {
            throw ValidationError("--duration must be a positive number of seconds, got \(duration)")
        }
    }

    func run() async throws {
        // INTEGRATION POINT: wire the demo here.
        StandardError.write("demo: not wired yet")
        throw RelaydExit.usage
    }
}

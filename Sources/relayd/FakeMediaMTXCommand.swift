import ArgumentParser

/// `relayd fake-mediamtx`: a stand-in for MediaMTX on this machine.
struct FakeMediaMTXCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fake-mediamtx",
        abstract: "Serve a faithful MediaMTX stand-in: RTMP ingest, the v3 API, FLV recording.",
        discussion: """
            Accepts RTMP publishes on rtmp://127.0.0.1:<rtmp-port>/<path>, answers \
            GET /v3/paths/get/<path> on the API port like MediaMTX does, and records each path to \
            <record-dir>/<path>.flv so ffprobe can judge what arrived.
            """
    )

    @Option(help: "RTMP ingest port (0 picks a free port and prints it).")
    var rtmpPort: Int = 1935

    @Option(help: "HTTP port of the v3 API (0 picks a free port and prints it).")
    var apiPort: Int = 9997

    @Option(help: ArgumentHelp("Directory for the recorded FLV files (created if missing).", valueName: "dir"))
    var recordDir: String?

    func run() async throws {
        // INTEGRATION POINT: start FakeMediaMTX here.
        StandardError.write("fake-mediamtx: not wired yet")
        throw RelaydExit.usage
    }
}

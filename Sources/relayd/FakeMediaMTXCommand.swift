import ArgumentParser
import FakeMediaMTX
import Foundation
import Logging
import Relay
import ServiceLifecycle

/// `relayd fake-mediamtx`: a stand-in for MediaMTX on this machine.
struct FakeMediaMTXCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fake-mediamtx",
        abstract: "Serve a faithful MediaMTX stand-in: RTMP ingest, the v3 API, FLV recording.",
        discussion: """
            Accepts RTMP publishes on rtmp://127.0.0.1:<rtmp-port>/<path>, answers \
            GET /v3/paths/get/<path> on the API port like MediaMTX does, and records each path to \
            <record-dir>/<path, / as _>/<time>-<n>.flv (one file per publish) so ffprobe can judge what \
            arrived. GET /v3/fake/streamcheck/<path> shows frame counts, DTS order and A/V offset.
            """
    )

    @Option(help: "RTMP ingest port (0 picks a free port and prints it).")
    var rtmpPort: Int = 1935

    @Option(help: "HTTP port of the v3 API (0 picks a free port and prints it).")
    var apiPort: Int = 9997

    @Option(help: ArgumentHelp("Directory for the recorded FLV files (created if missing).", valueName: "dir"))
    var recordDir: String?

    @Option(help: "Seconds a silent publisher is kept before it is dropped (MediaMTX's readTimeout).")
    var readTimeout: Int = 10

    @Option(help: "Address to listen on (IPv4).")
    var host: String = "127.0.0.1"

    func run() async throws {
        RelayLogging.bootstrap(level: .info, secrets: [])
        let logger = Logger(label: "fake-mediamtx")
        var configuration = FakeMediaMTX.Configuration(host: host, rtmpPort: rtmpPort, apiPort: apiPort)
        configuration.recordDirectory = recordDir.map { URL(fileURLWithPath: $0, isDirectory: true) }
        configuration.readTimeout = .seconds(readTimeout)
        let fake = FakeMediaMTX(configuration: configuration, logger: logger)
        try fake.start()
        print("fake-mediamtx: RTMP rtmp://\(host):\(fake.rtmpPort ?? 0)/<path>, API \(fake.apiBaseURL ?? "-")/v3, "
              + "recordings \(recordDir ?? "off"); Ctrl-C stops it")
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: UntilShutdown { fake.stop() })],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

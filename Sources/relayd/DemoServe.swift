import FakeCalls
import FakeMediaMTX
import Foundation
import Logging
import Relay
import ServiceLifecycle

/// `relayd demo --serve`: after the demo's report, FakeCalls (forward mode: a browser guest's
/// media is forwarded to relayd's subscriber), FakeMediaMTX and relayd keep running on
/// loopback so a person can open the guest page, join with a real camera, and watch the
/// guest's stream arrive in FakeMediaMTX. Ends cleanly on SIGINT (Ctrl-C) or SIGTERM.
struct DemoServe {
    static let guests = ["guest1", "guest2", "guest3"]

    let port: Int
    let recordDirectory: URL
    let logger: Logger

    func run() async throws {
        let mediamtx = FakeMediaMTX(configuration: FakeMediaMTX.Configuration(rtmpPort: 0, apiPort: 0, recordDirectory: recordDirectory),
                                    logger: logger.withComponent("fake-mediamtx"))
        try mediamtx.start()
        defer { mediamtx.stop() }
        // Like real Calls: a browser's tracks can be subscribed once its first RTP arrived.
        let fake = try FakeCallsServer(options: FakeCallsOptions(appId: DemoRunner.appId, token: DemoRunner.token, publisherFlow: .whenMarked),
                                       logger: logger.withComponent("fake-calls"))
        defer { fake.stop() }
        let config = RelayConfig(
            cloudflare: CloudflareConfig(callsAppId: DemoRunner.appId, callsAPIToken: Secret(DemoRunner.token)),
            guests: Self.guests.map { GuestConfig(id: $0) },
            mediamtx: MediaMTXConfig(rtmpPort: mediamtx.rtmpPort ?? 1935),
            relay: RelayServiceConfig(listenHost: "127.0.0.1", listenPort: port, callsBaseURL: fake.baseURL))
        let relay: RelayServer
        do {
            relay = try RelayServer(config: config, logger: logger)
        } catch {
            StandardError.write("demo: cannot serve on 127.0.0.1:\(port): \(error) (is another relayd running? pass --port N)")
            throw RelaydExit.runtimeFailure
        }
        print(Self.banner(relayPort: relay.port, mediamtx: mediamtx, fakeCalls: fake.baseURL, records: recordDirectory))
        fflush(nil)  // stdout may be a pipe or a file: the URL must show now, not at exit
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [
                .init(service: RelayService(server: relay), successTerminationBehavior: .gracefullyShutdownGroup),
                .init(service: PathReporter(mediamtx: mediamtx), successTerminationBehavior: .gracefullyShutdownGroup),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        try await group.run()
        print("relayd demo: stopped (every guest ended, FakeCalls and FakeMediaMTX closed)")
    }

    static func banner(relayPort: Int, mediamtx: FakeMediaMTX, fakeCalls: String, records: URL) -> String {
        let base = "http://127.0.0.1:\(relayPort)"
        return """

            relayd demo --serve: relayd, FakeCalls (forward mode) and FakeMediaMTX keep running on loopback.
              guest page:  \(base)/guest_join?guest=guest1   (also guest2, guest3; camera works on http://127.0.0.1 and http://localhost)
              or:          http://localhost:\(relayPort)/guest_join
              sessions:    \(base)/api/calls/sessions
              metrics:     \(base)/metrics
              FakeMediaMTX: rtmp://127.0.0.1:\(mediamtx.rtmpPort ?? 0)/guest1, API \(mediamtx.apiBaseURL ?? "-")/v3/paths/list, recordings in \(records.path)
              FakeCalls:   \(fakeCalls)
            Press Ctrl-C (SIGINT) or send SIGTERM to stop.
            """
    }
}

/// Prints when a guest's MediaMTX path becomes ready or goes away, with what arrived.
struct PathReporter: Service {
    let mediamtx: FakeMediaMTX

    func run() async throws {
        await cancelWhenGracefulShutdown { [mediamtx] in
            var ready: Set<String> = []
            while !Task.isCancelled {
                let paths = mediamtx.snapshot.paths
                let now = Set(paths.filter { $0.value.ready }.keys)
                for name in now.subtracting(ready).sorted() {
                    print("  path \(name) ready: \(paths[name].map { "\($0.streamCheck)" } ?? "")")
                }
                for name in ready.subtracting(now).sorted() {
                    let check = mediamtx.streamCheck(path: name).map { "\($0)" } ?? "-"
                    print("  path \(name) gone (RTMP closed): \(check)")
                }
                ready = now
                fflush(nil)
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
    }
}

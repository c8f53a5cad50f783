import Logging
import Relay
import ServiceLifecycle

/// Where `relayd run` hands over to the relay service.
enum RelaydRun {
    /// Serves until SIGTERM/SIGINT, then ends every guest cleanly and returns.
    static func startService(config: RelayConfig, logger: Logger) async throws {
        let relay = try RelayServer(config: config, logger: logger)
        _ = SecondSignalExit(onFirst: { logger.notice("\($0)") })
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: RelayService(server: relay), successTerminationBehavior: .gracefullyShutdownGroup)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
    }
}

/// The relay as a swift-service-lifecycle service: runs until graceful shutdown is requested.
struct RelayService: Service {
    let server: RelayServer

    func run() async throws {
        // Wait for SIGTERM/SIGINT (the group turns them into graceful shutdown), then tear down.
        try? await gracefulShutdown()
        await server.shutdown()
    }
}

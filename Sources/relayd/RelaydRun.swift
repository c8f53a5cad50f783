import Logging
import Relay

/// Where `relayd run` hands over to the relay service.
enum RelaydRun {
    struct NotWiredYet: Error, CustomStringConvertible {
        var description: String {
            "the configuration is valid, but this build does not start the relay service yet "
                + "(RelaydRun.startService in Sources/relayd/RelaydRun.swift is a placeholder)"
        }
    }

    /// Starts everything `relayd run` serves and returns when the service has stopped (after
    /// SIGTERM/SIGINT). Throwing makes relayd exit 1 after logging the error.
    ///
    /// INTEGRATION POINT: build the HTTP server (WHIP endpoint), the Calls client
    /// (`config.callsAppBaseURL`, `config.cloudflare.callsAPIToken.reveal()` for the
    /// Authorization header only) and RelayService, and run them in a ServiceGroup with
    /// graceful shutdown on SIGTERM/SIGINT.
    static func startService(config: RelayConfig, logger: Logger) async throws {
        throw NotWiredYet()
    }
}

import ArgumentParser
import Logging
import Relay

/// `relayd run`: load and validate the config, then start the relay service.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the relay service with a YAML config file.",
        discussion: """
            Loads and validates the config (see config.example.yml for every key), prints any \
            warnings to stderr, then serves the WHIP endpoint and relays each guest to MediaMTX \
            until SIGTERM or SIGINT.

            The Calls app token is taken from the environment variable RELAYD_CALLS_API_TOKEN, else \
            from the file named by cloudflare.calls_api_token_file, else from cloudflare.calls_api_token \
            in the config (accepted with a warning).

            Exits 78 when the config is missing or invalid, listing every problem with its key.
            """
    )

    @Option(name: [.short, .long], help: ArgumentHelp("The YAML config file.", valueName: "file"))
    var config: String = "/etc/relayd/config.yml"

    @Flag(help: "Only load and validate the config, print a summary and exit (0 when it is valid).")
    var check = false

    @Option(help: ArgumentHelp(
        "Override relay.log_level: trace, debug, info, notice, warning, error or critical.", valueName: "level"))
    var logLevel: String?

    func validate() throws {
        if let logLevel, Logger.Level(rawValue: logLevel.lowercased()) == nil {
            throw ValidationError(
                "--log-level must be trace, debug, info, notice, warning, error or critical, got '\(logLevel)'")
        }
    }

    func run() async throws {
        let loaded: RelayConfig.Loaded
        do {
            loaded = try RelayConfig.load(path: config)
        } catch {
            StandardError.write("relayd: \(error)")
            for warning in error.warnings { StandardError.write("relayd: warning: \(config): \(warning)") }
            if error.issues.contains(where: { $0.kind == .unreadableFile }) {
                StandardError.write("relayd: pass the config file with --config FILE (config.example.yml documents every key)")
            }
            throw RelaydExit.configuration
        }
        for warning in loaded.warnings {
            StandardError.write("relayd: warning: \(config): \(warning)")
        }
        let settings = loaded.config
        if check {
            print("relayd: configuration \(config) is valid")
            for line in settings.summaryLines { print("  \(line)") }
            return
        }

        let level = logLevel.flatMap { Logger.Level(rawValue: $0.lowercased()) } ?? settings.relay.logLevel
        RelayLogging.bootstrap(level: level, secrets: RelayLogging.secrets(of: settings))
        let logger = Logger(label: "relayd")
        for line in settings.summaryLines { logger.info("\(line)") }
        do {
            try await RelaydRun.startService(config: settings, logger: logger)
        } catch {
            logger.critical("relayd stopped: \(error)")
            throw RelaydExit.runtimeFailure
        }
    }
}

import Foundation
import Logging

/// Process-wide logging for relayd: one readable line per entry on stderr, every registered
/// secret replaced by `<redacted>`.
public enum RelayLogging {
    /// Installs the redacting one-line stderr handler for every `Logger` in the process and
    /// registers `secrets`. swift-log allows one bootstrap per process: later calls only
    /// register their secrets (the level of the first call stays).
    ///
    /// - Parameter timestamps: nil decides by itself: no timestamps under systemd (the journal
    ///   adds its own; detected by `JOURNAL_STREAM`), timestamps otherwise.
    public static func bootstrap(
        level: Logger.Level,
        secrets: [Secret] = [],
        registry: SecretRegistry = .shared,
        timestamps: Bool? = nil
    ) {
        registry.register(secrets)
        guard BootstrapOnce.claim() else { return }
        let stamp = timestamps ?? (ProcessInfo.processInfo.environment["JOURNAL_STREAM"] == nil)
        LoggingSystem.bootstrap { label in
            makeHandler(label: label, level: level, registry: registry, timestamps: stamp)
        }
    }

    /// The handler `bootstrap` installs, with its output injectable (tests pass a closure).
    public static func makeHandler(
        label: String,
        level: Logger.Level,
        registry: SecretRegistry = .shared,
        timestamps: Bool = true,
        output: @escaping @Sendable (String) -> Void = OneLineLogHandler.writeToStandardError
    ) -> RedactingLogHandler {
        RedactingLogHandler(
            wrapping: OneLineLogHandler(label: label, level: level, timestamps: timestamps, output: output),
            registry: registry)
    }

    /// Registers every secret a config holds (Calls token, WHIP and admin tokens).
    public static func secrets(of config: RelayConfig) -> [Secret] {
        [config.cloudflare.callsAPIToken, config.relay.whipBearerToken, config.relay.adminToken].compactMap { $0 }
    }
}

/// swift-log traps on a second `LoggingSystem.bootstrap`; this remembers the first.
/// `@unchecked Sendable`: `done` is only read and written while holding `lock`.
private final class BootstrapOnce: @unchecked Sendable {
    private static let state = BootstrapOnce()
    private let lock = NSLock()
    private var done = false

    static func claim() -> Bool {
        state.lock.lock()
        defer { state.lock.unlock() }
        if state.done { return false }
        state.done = true
        return true
    }
}

import ArgumentParser
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// relayd's exit codes, the same for every subcommand.
enum RelaydExit {
    /// Something failed while running (a port in use, a crash of the service).
    static let runtimeFailure = ExitCode(1)
    /// Bad command line (unknown option, missing value) — or a subcommand not wired into this build yet.
    static let usage = ExitCode(2)
    /// EX_CONFIG from sysexits.h: the configuration is missing or invalid. systemd units can
    /// use `RestartPreventExitStatus=78` so a broken config doesn't restart in a loop.
    static let configuration = ExitCode(78)
}

/// Messages for people go to stderr; stdout is left for output other programs read
/// (`demo --json`, `version`).
enum StandardError {
    static func write(_ text: String) {
        FileHandle.standardError.write(Data((text.hasSuffix("\n") ? text : text + "\n").utf8))
    }
}

/// The escape hatch for a shutdown that hangs (Calls not answering, a stuck thread): the first
/// SIGTERM/SIGINT starts the graceful shutdown (swift-service-lifecycle handles that one), a
/// second one exits at once with 128 + the signal number, saying so. systemd sends SIGTERM once
/// and SIGKILL after TimeoutStopSec; an operator pressing Ctrl-C twice gets the same at once.
///
/// Lives until the process exits (each source's handler holds it).
///
/// `@unchecked Sendable`: `received` is read and written only on `queue` (the sources' handler
/// queue); the sources are set up in `init` and never changed.
final class SecondSignalExit: @unchecked Sendable {
    private let queue = DispatchQueue(label: "relayd.second-signal")
    private var sources: [DispatchSourceSignal] = []
    private var received = 0

    /// Watches SIGTERM and SIGINT. The signals' default action is ignored here, as the service
    /// group does for the same signals; both see every delivery.
    init(onFirst: @escaping @Sendable (String) -> Void) {
        for (number, name) in [(SIGTERM, "SIGTERM"), (SIGINT, "SIGINT")] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { [self] in  // the sources live as long as the process
                received += 1
                guard received >= 2 else {
                    onFirst("\(name) received: shutting down gracefully (send it again to exit at once)")
                    return
                }
                StandardError.write("relayd: second \(name) while shutting down: exiting now without finishing "
                    + "(guests not yet ended stay at Calls until it times them out)")
                _exit(128 + number)
            }
            source.resume()
            sources.append(source)
        }
    }
}

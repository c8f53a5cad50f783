import ArgumentParser
import Foundation

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

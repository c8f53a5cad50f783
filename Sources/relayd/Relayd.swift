import ArgumentParser
import Foundation

/// `relayd`: the root command. Each subcommand lives in its own file; this file only parses and
/// maps failures to exit codes (see `RelaydExit`).
struct Relayd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relayd",
        abstract: "Relay remote guests from Cloudflare Calls (WebRTC) into MediaMTX (RTMP).",
        discussion: """
            A guest's browser publishes camera and microphone to Cloudflare Calls through relayd's \
            WHIP endpoint; relayd subscribes to those tracks itself, turns them into H.264 + AAC and \
            publishes rtmp://<mediamtx>/<guest-id> for the vision mixer.

            Start here:
              relayd run -c config.yml   run the service (every key: config.example.yml)
              relayd demo                the whole flow offline, with the built-in fakes

            Exit codes: 0 ok, 1 runtime failure, 2 usage error, 78 configuration error.
            """,
        version: RelaydVersion.current,
        subcommands: [
            RunCommand.self, FakeCallsCommand.self, FakeMediaMTXCommand.self, DemoCommand.self, VersionCommand.self,
        ]
    )
}

@main
enum RelaydMain {
    static func main() async {
        do {
            var command = try Relayd.parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            // ArgumentParser reports usage errors as 64 (EX_USAGE); relayd promises 2.
            if Relayd.exitCode(for: error) == .validationFailure {
                StandardError.write(Relayd.fullMessage(for: error))
                exit(RelaydExit.usage.rawValue)
            }
            Relayd.exit(withError: error)
        }
    }
}

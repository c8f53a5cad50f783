import Foundation
import Testing
@testable import Relay

/// deploy/relayd.service: systemd accepts it (`systemd-analyze verify`, when installed), its
/// ExecStart is a command line the real CLI accepts, the hardening asked for is there, and
/// deploy/README.md names the real secret sources.
@Suite struct DeployUnitTests {
    static let repository = FixturePaths.root.deletingLastPathComponent()
    static let unitURL = repository.appendingPathComponent("deploy/relayd.service")
    static let systemdAnalyze = "/usr/bin/systemd-analyze"

    static func unit() throws -> String { try String(contentsOf: unitURL, encoding: .utf8) }

    /// `Key=value` lines of the unit (last one wins, as in systemd; comments skipped).
    static func settings() throws -> [String: String] {
        var result: [String: String] = [:]
        for line in try unit().split(separator: "\n") where !line.hasPrefix("#") && !line.hasPrefix("[") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            result[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        return result
    }

    static func execStart() throws -> [String] {
        try #require(try settings()["ExecStart"]).split(separator: " ").map(String.init)
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: systemdAnalyze) && RelaydBinary.location != nil,
                   "needs systemd-analyze and the built relayd"))
    func systemdAnalyzeVerifiesTheUnit() throws {
        // verify insists that ExecStart's binary exists: point it at the built one, keep the rest.
        let binary = try #require(RelaydBinary.location).path
        let directory = try ExternalTool.temporaryDirectory("unit")
        defer { try? FileManager.default.removeItem(at: directory) }
        let copy = directory.appendingPathComponent("relayd.service")
        try Self.unit().replacingOccurrences(of: "ExecStart=/usr/local/bin/relayd ", with: "ExecStart=\(binary) ")
            .write(to: copy, atomically: true, encoding: .utf8)
        let result = try ExternalTool.run("systemd-analyze", ["verify", copy.path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.isEmpty, "systemd-analyze complained: \(result.stderr)")

        // And it does notice a broken unit (so the check above means something).
        try (Self.unit() + "\n[Service]\nNoSuchKey=1\n").replacingOccurrences(of: "/usr/local/bin/relayd ", with: "\(binary) ")
            .write(to: copy, atomically: true, encoding: .utf8)
        let broken = try ExternalTool.run("systemd-analyze", ["verify", copy.path])
        #expect(broken.stderr.contains("NoSuchKey"))
    }

    @Test(.enabled(if: RelaydBinary.location != nil, "relayd binary not built next to the tests"))
    func execStartMatchesTheRealCLI() throws {
        let command = try Self.execStart()
        #expect(command.first == "/usr/local/bin/relayd")
        #expect(command.dropFirst().first == "run")
        let help = try RelaydBinary.run(["run", "--help"])
        #expect(help.status == 0)
        for flag in command where flag.hasPrefix("-") {
            #expect(help.stdout.contains(flag), "relayd run --help does not know \(flag)")
        }
        // The same arguments, with a real config and --check, are accepted by the parser.
        var arguments = Array(command.dropFirst())
        let configIndex = try #require(arguments.firstIndex(of: "--config"))
        #expect(arguments[configIndex + 1] == "/etc/relayd/relayd.yml")
        arguments[configIndex + 1] = FixturePaths.url("config/seed-deployment.yml").path
        let check = try RelaydBinary.run(arguments + ["--check"])
        #expect(check.status == 0, "\(check.stderr)")
    }

    @Test func theUnitIsHardenedAndRestartsOnFailure() throws {
        let settings = try Self.settings()
        let expected = [
            "Type": "simple", "User": "relayd", "Restart": "on-failure", "NoNewPrivileges": "yes",
            "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes", "PrivateDevices": "yes",
            "MemoryDenyWriteExecute": "yes", "LockPersonality": "yes", "CapabilityBoundingSet": "",
            "EnvironmentFile": "/etc/relayd/relayd.env",
        ]
        for (key, value) in expected { #expect(settings[key] == value, "\(key)=\(settings[key] ?? "(missing)")") }
        #expect(Int(settings["RestartSec"] ?? "") ?? 0 > 0)
        let families = Set((settings["RestrictAddressFamilies"] ?? "").split(separator: " ").map(String.init))
        #expect(families.isSuperset(of: ["AF_INET", "AF_INET6", "AF_UNIX"]))
        #expect(families.subtracting(["AF_INET", "AF_INET6", "AF_UNIX", "AF_NETLINK"]).isEmpty, "\(families)")
        #expect(settings["RestartPreventExitStatus"] == "78", "a broken config must not restart in a loop")
    }

    @Test func deployReadmeNamesTheRealSecretSources() throws {
        let readme = try String(contentsOf: Self.repository.appendingPathComponent("deploy/README.md"), encoding: .utf8)
        #expect(readme.contains(RelayConfig.callsTokenEnvironmentVariable))
        #expect(readme.contains(RelayConfig.whipTokenEnvironmentVariable))
        #expect(readme.contains("calls_api_token_file"))
        #expect(readme.contains("calls_app_id"))
        #expect(readme.contains(try #require(try Self.settings()["ExecStart"])) || readme.contains("relayd run --config /etc/relayd/relayd.yml"))
    }
}

import Foundation
import Testing

/// The built `relayd` binary: help, exit codes, config errors. `swift build --build-tests`
/// builds it next to the test bundle; when it isn't there (a test-only build), these tests are
/// skipped rather than failing.
@Suite(.enabled(if: RelaydBinary.location != nil, "relayd binary not built next to the tests"))
struct RelaydCLITests {
    @Test func helpListsEverySubcommand() throws {
        let result = try RelaydBinary.run(["--help"])
        #expect(result.status == 0)
        for word in ["run", "fake-calls", "fake-mediamtx", "demo", "version", "Exit codes"] {
            #expect(result.stdout.contains(word), "\(word) missing from:\n\(result.stdout)")
        }
    }

    @Test func runHelpExplainsWhereTheTokenComesFrom() throws {
        let result = try RelaydBinary.run(["run", "--help"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("--config"))
        #expect(result.stdout.contains("RELAYD_CALLS_API_TOKEN"))
    }

    @Test func missingConfigFileExits78AndNamesTheFile() throws {
        let path = FixturePaths.url("config/missing.yml").path
        let result = try RelaydBinary.run(["run", "--config", path])
        #expect(result.status == 78)
        #expect(result.stderr.contains(path))
        #expect(result.stderr.contains("does not exist"))
        #expect(result.stderr.contains("--config FILE"))
    }

    @Test func invalidConfigExits78WithTheKeyPathAndNoSecret() throws {
        let result = try RelaydBinary.run(["run", "--config", FixturePaths.url("config/invalid-mode.yml").path])
        #expect(result.status == 78)
        #expect(result.stderr.contains("relay.video.mode: must be passthrough or transcode, got 'fast'"))
        #expect(!result.stderr.contains("inline-token-in-invalid-fixture"))
        #expect(!result.stdout.contains("inline-token-in-invalid-fixture"))
    }

    @Test func checkValidatesPrintsWarningsAndExits0() throws {
        let result = try RelaydBinary.run(["run", "--check", "-c", FixturePaths.url("config/seed-deployment.yml").path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("is valid"))
        #expect(result.stdout.contains("guests: guest1 (disabled: guest2)"))
        #expect(result.stderr.contains("warning"))
        #expect(result.stderr.contains("RELAYD_CALLS_API_TOKEN"))
        #expect(!(result.stdout + result.stderr).contains("seed-inline-token"))
    }

    @Test func usageErrorsExit2() throws {
        #expect(try RelaydBinary.run(["no-such-command"]).status == 2)
        #expect(try RelaydBinary.run(["run", "--no-such-flag"]).status == 2)
        let badLevel = try RelaydBinary.run(["run", "--log-level", "loud"])
        #expect(badLevel.status == 2)
        #expect(badLevel.stderr.contains("--log-level must be"))
    }

    @Test func versionPrintsTheLinkedLibraries() throws {
        let result = try RelaydBinary.run(["version"])
        #expect(result.status == 0)
        #expect(result.stdout.hasPrefix("relayd "))
        #expect(result.stdout.contains("libcurl"))
        #expect(result.stdout.contains("x264"))
    }
}

enum RelaydBinary {
    struct NotBuilt: Error {}

    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// Next to the test bundle (`.build/<triple>/debug/`), else the repository's `.build/debug`.
    static let location: URL? = {
        var candidates: [URL] = []
        if let first = CommandLine.arguments.first {
            let executable = URL(fileURLWithPath: first).resolvingSymlinksInPath()
            var directory = executable.deletingLastPathComponent()
            for _ in 0..<4 {  // the test executable may sit inside an .xctest bundle
                candidates.append(directory.appendingPathComponent("relayd"))
                directory = directory.deletingLastPathComponent()
            }
        }
        candidates.append(FixturePaths.root.deletingLastPathComponent().appendingPathComponent(".build/debug/relayd"))
        return candidates.first { candidate in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory)
                && !isDirectory.boolValue && FileManager.default.isExecutableFile(atPath: candidate.path)
        }
    }()

    /// Runs relayd with a clean environment (no Calls token), so the results don't depend on
    /// the shell that started the tests.
    static func run(_ arguments: [String]) throws -> Result {
        let process = Process()
        guard let location else { throw NotBuilt() }
        process.executableURL = location
        process.arguments = arguments
        process.environment = ["PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory()]
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        // Drain stderr on another thread so neither pipe can fill up and stall the child.
        let stderrData = LockedData()
        let drained = DispatchSemaphore(value: 0)
        let errorHandle = errors.fileHandleForReading
        DispatchQueue.global().async {
            stderrData.set(errorHandle.readDataToEndOfFile())
            drained.signal()
        }
        let stdoutData = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        drained.wait()
        return Result(status: process.terminationStatus, stdout: String(decoding: stdoutData, as: UTF8.self),
                      stderr: String(decoding: stderrData.value, as: UTF8.self))
    }

    /// `@unchecked Sendable`: `data` is only touched while holding `lock`.
    private final class LockedData: @unchecked Sendable {
        private let lock = NSLock()
        private var data = Data()
        func set(_ value: Data) { lock.lock(); data = value; lock.unlock() }
        var value: Data { lock.lock(); defer { lock.unlock() }; return data }
    }
}

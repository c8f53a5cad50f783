import Foundation
import Testing

/// `relayd demo --impair SPEC --progress N` and `relayd fake-calls --impair SPEC` as a person
/// (or `make soak`) uses them.
@Suite(.enabled(if: RelaydBinary.location != nil, "relayd binary not built next to the tests"))
struct ImpairmentCommandTests {
    /// Runs relayd in a fresh directory (the demo records into ./out/demo).
    static func relayd(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let directory = try ExternalTool.temporaryDirectory("impair-cli")
        defer { try? FileManager.default.removeItem(at: directory) }
        let binary = try #require(RelaydBinary.location)
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.currentDirectoryURL = directory
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let errors = Results()
        let drained = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            errors.set(err.fileHandleForReading.readDataToEndOfFile())
            drained.signal()
        }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        drained.wait()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self), String(decoding: errors.value, as: UTF8.self))
    }

    /// `@unchecked Sendable`: `lock` guards `data`.
    final class Results: @unchecked Sendable {
        private let lock = NSLock()
        private var data = Data()
        func set(_ value: Data) { lock.withLock { data = value } }
        var value: Data { lock.withLock { data } }
    }

    @Test func demoUnderLossPrintsProgressLinesAndTheMediaSummary() throws {
        let run = try Self.relayd(["demo", "--duration", "2.5", "--impair", "loss=5%,seed=3", "--progress", "1", "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n").filter { $0.hasPrefix("{\"") && $0.contains("\"kind\":\"progress\"") }
        #expect(lines.count >= 2, "\(run.stdout)")
        let progress = try lines.map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        #expect(progress.allSatisfy { ($0["rssMiB"] as? Double ?? 0) > 0 })
        #expect((progress.last?["videoFramesOut"] as? Int ?? 0) > 0)
        #expect((progress.last?["impairmentDropped"] as? Int ?? 0) > 0, "5 % of the datagrams are dropped")
        // After the progress lines, the report (pretty JSON) with the media summary.
        let reportText = run.stdout.split(separator: "\n").filter { !lines.contains($0) }.joined(separator: "\n")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(reportText.utf8)) as? [String: Any])
        let media = try #require(report["media"] as? [String: Any])
        #expect(media["impairment"] as? String == "loss=5%,seed=3")
        #expect((media["framesSent"] as? Int ?? 0) > 0)
        #expect((media["nacksSent"] as? Int ?? 0) > 0, "relayd's counters are read before the guest leaves")
        #expect((report["progress"] as? [Any])?.count == lines.count)
    }

    @Test func aBadSpecIsRefusedWithWhatToWrite() throws {
        for command in ["demo", "fake-calls"] {
            let run = try Self.relayd([command, "--impair", "loss=5"])
            #expect(run.status != 0)
            #expect(run.stderr.contains("write a percentage with %, e.g. loss=5%"), "\(command): \(run.stderr)")
        }
        let help = try Self.relayd(["demo", "--help"])
        #expect(help.stdout.contains("--impair") && help.stdout.contains("burst=300ms/3s"))
    }

    @Test func aBadFaultRuleIsRefusedWithTheForm() throws {
        let run = try Self.relayd(["fake-calls", "--fault", "tracks/new@nobody=425"])
        #expect(run.status != 0)
        #expect(run.stderr.contains("ENDPOINT[@TARGET]=ACTION[xN]"), "\(run.stderr)")
        let help = try Self.relayd(["fake-calls", "--help"])
        #expect(help.stdout.contains("--fault") && help.stdout.contains("renegotiate@subscriber=410x1"))
    }
}

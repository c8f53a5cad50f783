import Foundation
import Testing
@testable import Relay

/// `relayd demo --serve`: after the report it keeps serving, prints the guest page URL and how
/// to stop, the page and /metrics answer, and SIGINT stops it cleanly (exit 0). Runs the built
/// binary (~5 s: the demo itself relays for --duration 1 first).
@Suite(.enabled(if: RelaydBinary.location != nil, "relayd binary not built next to the tests"))
struct DemoServeTests {
    /// Everything the child printed, with a wait for a line to show up.
    final class Output: @unchecked Sendable {
        // @unchecked: `condition` guards `text`.
        private let condition = NSCondition()
        private var text = ""

        func append(_ data: Data) {
            condition.withLock { text += String(decoding: data, as: UTF8.self) }
            condition.broadcast()
        }

        var all: String { condition.withLock { text } }

        func wait(for needle: String, timeout: TimeInterval) -> Bool {
            let deadline = Date().addingTimeInterval(timeout)
            condition.lock()
            defer { condition.unlock() }
            while !text.contains(needle) {
                guard condition.wait(until: deadline) else { return text.contains(needle) }
            }
            return true
        }
    }

    @Test(.timeLimit(.minutes(1))) func serveKeepsRunningPrintsTheURLAndStopsOnSIGINT() async throws {
        let directory = try ExternalTool.temporaryDirectory("demo-serve")
        defer { try? FileManager.default.removeItem(at: directory) }
        let process = Process()
        process.executableURL = RelaydBinary.location
        process.arguments = ["demo", "--duration", "1", "--serve", "--port", "0"]
        process.currentDirectoryURL = directory  // out/ goes here; the fixtures are found next to the binary
        let stdout = Pipe(), stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        let output = Output(), errors = Output()
        stdout.fileHandleForReading.readabilityHandler = { output.append($0.availableData) }
        stderr.fileHandleForReading.readabilityHandler = { errors.append($0.availableData) }
        try process.run()
        defer {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            stdout.fileHandleForReading.readabilityHandler = nil
            stderr.fileHandleForReading.readabilityHandler = nil
        }

        #expect(output.wait(for: "Press Ctrl-C", timeout: 40), "stdout: \(output.all)\nstderr: \(errors.all)")
        let text = output.all
        #expect(text.contains("relayd demo: FakeCalls + relayd + FakeMediaMTX on loopback"), "the normal report comes first")
        let pageLine = try #require(text.split(separator: "\n").first { $0.contains("guest page:") })
        let url = try #require(pageLine.split(separator: " ").first { $0.hasPrefix("http://127.0.0.1:") }.map(String.init))
        #expect(url.hasSuffix("/guest_join?guest=guest1"))
        let base = String(url.prefix(upTo: try #require(url.range(of: "/guest_join")).lowerBound))

        let http = try CurlHTTPClient()
        let page = try await http.send(HTTPClientRequest(method: "GET", url: url))
        #expect(page.status == 200)
        #expect(page.text.contains("window.relaydGuest"))
        let metrics = try await http.send(HTTPClientRequest(method: "GET", url: base + "/metrics"))
        #expect(metrics.text.contains("relayd_guests{state=\"relaying\"}"))
        let sessions = try await http.send(HTTPClientRequest(method: "GET", url: base + "/api/calls/sessions"))
        #expect(sessions.text == "{\"sessions\":[]}")

        kill(process.processIdentifier, SIGINT)
        let stopped = output.wait(for: "relayd demo: stopped", timeout: 10)
        process.waitUntilExit()
        #expect(stopped, "stdout: \(output.all)\nstderr: \(errors.all)")
        #expect(process.terminationReason == .exit && process.terminationStatus == 0, "\(process.terminationStatus)")
        // The port is free again: nothing is left listening.
        await #expect(throws: HTTPClientError.self) {
            _ = try await http.send(HTTPClientRequest(method: "GET", url: base + "/healthz", timeout: .seconds(2)))
        }
    }
}

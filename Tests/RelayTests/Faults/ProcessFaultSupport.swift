@testable import FakeCalls
import FakeMediaMTX
import Foundation
import Logging
import Testing
@testable import Relay

#if canImport(Glibc)
import Glibc
#endif

/// FakeCalls in fixture mode (synthetic H.264 + Opus recordings in the Fixtures/rtp layout, as
/// WHIPFixtureChainTests uses) for the process fault suites. FakeMediaMTX is made by each test,
/// because each fault needs it differently (a fixed port to restart on, a full disk).
final class ProcessFaultCalls: Sendable {
    static let appId = "procfault-app"
    static let token = "procfault-token-never-logged-8c3f"
    static let offer = "sdp/chromium-h264.sdp"

    let directory: URL
    let fake: FakeCallsServer
    let capture = LogCapture()

    init(label: String) throws {
        directory = try ExternalTool.temporaryDirectory("procfault-\(label)")
        let recordings = directory.appendingPathComponent("rtp")
        _ = try SyntheticRecordingWriter.write(.init(audioLeadMicros: 40_000), into: recordings, name: "chromium-h264-opus")
        var options = FakeCallsOptions(appId: Self.appId, token: Self.token)
        options.mediaMode = .fixtures(try FixtureCatalog(directory: recordings.path))
        fake = try FakeCallsServer(options: options, logger: capture.logger(label: "fake-calls"))
    }

    /// A FakeMediaMTX that records into `recordings` (default: this rig's directory).
    func mediamtx(port: Int = 0, recordings: URL? = nil) throws -> FakeMediaMTX {
        let mediamtx = FakeMediaMTX(configuration: .init(rtmpPort: port, apiPort: nil, recordDirectory: recordings ?? directory),
                                    logger: capture.logger(label: "fake-mediamtx"))
        try mediamtx.start()
        return mediamtx
    }

    /// relayd in process, with the lifecycle chain's short timers.
    func relay(rtmpPort: Int) throws -> RelayServer {
        try RelayServer(config: RelayConfig(
            cloudflare: CloudflareConfig(callsAppId: Self.appId, callsAPIToken: Secret(Self.token)),
            guests: [GuestConfig(id: "guest1")],
            mediamtx: MediaMTXConfig(rtmpPort: rtmpPort),
            relay: RelayServiceConfig(listenHost: "127.0.0.1", listenPort: 0, callsBaseURL: fake.baseURL)),
            logger: capture.logger(label: "relayd"), relayOptions: LifecycleChain.fastOptions())
    }

    /// POSTs the recorded Chrome offer to a relayd's WHIP endpoint; returns the resource's Location.
    static func publish(relayPort: Int) async throws -> String {
        let response = try await CurlHTTPClient().send(HTTPClientRequest(
            method: "POST", url: "http://127.0.0.1:\(relayPort)/api/calls/whip/guest1",
            headers: ["Content-Type": "application/sdp"], body: Data(try FixturePaths.text(offer).utf8)))
        try #require(response.status == 201, "WHIP said \(response.status): \(response.text)")
        return try #require(response.headers["Location"])
    }

    func finish() {
        fake.stop()
        try? FileManager.default.removeItem(at: directory)
    }
}

/// The built relayd binary as a child process, its stdout and stderr collected into one text.
///
/// `@unchecked Sendable`: `output` is read and written only while holding `lock`; `process`
/// is set up before the reader thread starts and only signalled or read afterwards.
final class RelaydChild: @unchecked Sendable {
    let process = Process()
    private let lock = NSLock()
    private var output = Data()
    private let readerDone = DispatchSemaphore(value: 0)

    /// Starts `relayd run --config FILE` with only `environment` (no inherited Calls token).
    init(binary: URL, arguments: [String], environment: [String: String]) throws {
        process.executableURL = binary
        process.arguments = arguments
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        try? pipe.fileHandleForWriting.close()  // our copy: EOF comes when the child's copies close
        let reading = pipe.fileHandleForReading
        let thread = Thread { [self] in
            while true {
                let chunk = reading.availableData
                if chunk.isEmpty { break }
                lock.withLock { output.append(chunk) }
            }
            readerDone.signal()
        }
        thread.name = "relayd-child-output"
        thread.start()
    }

    var text: String { lock.withLock { String(decoding: output, as: UTF8.self) } }
    var pid: Int32 { process.processIdentifier }

    func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Waits for a line containing `fragment` (the output is checked as it grows).
    func waitForOutput(containing fragment: String, timeout: Duration = .seconds(10)) async -> Bool {
        await LifecycleChain.eventually(timeout) { text.contains(fragment) }
    }

    /// The port from "relayd listening on HOST:PORT".
    func listeningPort(timeout: Duration = .seconds(10)) async -> Int? {
        guard await waitForOutput(containing: "relayd listening on ", timeout: timeout) else { return nil }
        let line = text.split(separator: "\n").first { $0.contains("relayd listening on ") } ?? ""
        let after = line.components(separatedBy: "relayd listening on ").last ?? ""
        let address = after.split(separator: " ").first ?? ""
        return address.split(separator: ":").last.flatMap { Int($0) }
    }

    /// Waits for the process to exit and its output to end; the elapsed time, or nil on timeout.
    func waitForExit(timeout: Duration) async -> Duration? {
        let start = ContinuousClock.now
        guard await LifecycleChain.eventually(timeout, { !process.isRunning }) else { return nil }
        let elapsed = ContinuousClock.now - start
        _ = readerDone.wait(timeout: .now() + 2)
        return elapsed
    }

    /// Kills it if a test left it running (a failed expectation must not leave a stray relayd).
    func killIfRunning() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}

/// What the process fault suites ask ffprobe about a recording.
struct RecordingProbe {
    var videoFrames: Int
    var audioFrames: Int
    var firstVideoIsKey: Bool
    var keyframes: Int
    var errors: String
    /// "dts flags" of the first video packets, for a failure message.
    var head: [String]
    /// What `ffmpeg -i FILE -f null -` said.
    var nullMuxer: String

    static func of(_ file: URL) throws -> RecordingProbe {
        let streams = try ExternalTool.run("ffprobe", ["-v", "error", "-count_frames", "-show_streams", "-of", "json", file.path])
        let list = (try? JSONSerialization.jsonObject(with: streams.stdout) as? [String: Any])?["streams"] as? [[String: Any]] ?? []
        func frames(_ type: String) -> Int {
            Int(list.first { $0["codec_type"] as? String == type }?["nb_read_frames"] as? String ?? "") ?? 0
        }
        let packets = try ExternalTool.run("ffprobe", ["-v", "error", "-select_streams", "v", "-show_entries", "packet=flags,dts",
                                                       "-of", "csv=p=0", file.path])
        let rows = packets.text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        let flags = rows.map { $0.split(separator: ",").last.map(String.init) ?? "" }
        // `-count_frames` decodes every frame, so its stderr is the decode judge. (Not `ffmpeg -f
        // null`: its muxer rounds video times into a 1/fps time base and calls two frames 20 ms
        // apart "non monotonically increasing dts" when a recording starts off that grid.)
        let errors = [streams.stderr, packets.stderr].filter { !$0.isEmpty }.joined(separator: "\n")
        let decode = try ExternalTool.run("ffmpeg", ["-v", "error", "-i", file.path, "-f", "null", "-"])
        return RecordingProbe(videoFrames: frames("video"), audioFrames: frames("audio"),
                              firstVideoIsKey: flags.first?.hasPrefix("K") == true,
                              keyframes: flags.filter { $0.hasPrefix("K") }.count,
                              errors: streams.status == 0 ? errors : "ffprobe exit \(streams.status): \(errors)",
                              head: Array(rows.prefix(40)), nullMuxer: decode.stderr)
    }
}

/// A small tmpfs for the disk-full fault; nil (with the reason) where mounting is not permitted.
final class SmallTmpfs {
    let url: URL

    private init(url: URL) { self.url = url }

    static func mount(sizeKiB: Int) throws -> Result<SmallTmpfs, MountRefused> {
        let url = try ExternalTool.temporaryDirectory("tmpfs")
        guard let mount = ["/usr/bin/mount", "/bin/mount"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            try? FileManager.default.removeItem(at: url)
            return .failure(MountRefused(reason: "mount(8) is not installed"))
        }
        let result = try ExternalTool.runAt(mount, ["-t", "tmpfs", "-o", "size=\(sizeKiB)k", "tmpfs", url.path])
        guard result.status == 0 else {
            try? FileManager.default.removeItem(at: url)
            return .failure(MountRefused(reason: "mount -t tmpfs failed (\(result.status)): \(result.stderr)"))
        }
        return .success(SmallTmpfs(url: url))
    }

    func unmount() {
        if let umount = ["/usr/bin/umount", "/bin/umount"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) {
            _ = try? ExternalTool.runAt(umount, [url.path])
        }
        try? FileManager.default.removeItem(at: url)
    }

    struct MountRefused: Error, CustomStringConvertible {
        var reason: String
        var description: String { "cannot mount a small tmpfs here (needs root or CAP_SYS_ADMIN): \(reason)" }
    }
}

extension ExternalTool {
    /// Runs a tool by its full path, to completion.
    static func runAt(_ path: String, _ arguments: [String]) throws -> (status: Int32, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let err = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = err
        try process.run()
        let data = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

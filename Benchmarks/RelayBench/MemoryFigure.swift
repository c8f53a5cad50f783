import Foundation
import Relay

/// RSS of a process that is only relayd's RelayServer (`memory-child`), idle and then with N
/// fixture guests relaying through FakeCalls → it → FakeMediaMTX. Per guest = (RSS_N − RSS_idle) / N.
enum MemoryFigure {
    static func figures(fakes: LoopbackFakes, guests count: Int = 8, reference ffmpegPeakMiB: (copy: Double, transcode: Double))
        async throws -> [Figure]
    {
        let ids = (0..<count).map { "bench-mem-\($0)" }
        let child = try ChildRelay(arguments: ["memory-child", fakes.calls.baseURL, String(fakes.rtmpPort), ids.joined(separator: ",")])
        defer { child.terminate() }
        try child.expect("ready")
        try await Task.sleep(for: .seconds(2))
        let idle = try child.rssMiB()
        let idleParts = try child.rssParts()
        for id in ids {
            let session = try await fakes.publishFixtureGuest()
            try child.send("start \(id) \(session)")
            try child.expect("started")
        }
        // Relaying for real: every path has 3 s of pictures (90 at 30 fps), then settle.
        let flowing = await fakes.mediamtx.wait(timeout: .seconds(30)) { snapshot in
            ids.allSatisfy { (snapshot.paths[$0]?.streamCheck.video.frames ?? 0) >= 90 }
        }
        try await Task.sleep(for: .seconds(2))
        let loaded = try child.rssMiB()
        let loadedParts = try child.rssParts()
        try child.send("quit")
        try? child.expect("bye")
        for id in ids { _ = await fakes.mediamtx.waitUntilGone(path: id, timeout: .seconds(5)) }
        let perGuest = (loaded - idle) / Double(count)
        let reference = "ffmpeg peak: -c copy \(rounded(ffmpegPeakMiB.copy, 1)), x264 \(rounded(ffmpegPeakMiB.transcode, 1)) MiB"
        return [
            Figure("RSS idle (RelayServer up, no guest)", value: rounded(idle, 1), unit: "MiB", reference: reference, goal: "< 40 MiB",
                   met: idle < 40, note: "VmRSS of the child 2 s after RelayServer started: \(idleParts) (anon = heap and stacks, file = mapped code of the binary and its libraries: libavcodec, x264, OpenSSL, libcurl…)"),
            Figure("RSS per guest ((RSS_\(count) − RSS_idle) / \(count))", value: rounded(perGuest, 2), unit: "MiB",
                   reference: "old system: ≈230 MB per guest", goal: "< 8 MiB", met: flowing && perGuest < 8,
                   note: "a child process that is only RelayServer; \(count) fixture guests (320x240 H.264 passthrough + Opus→AAC) relaying for 3 s before the sample; RSS_\(count) = \(rounded(loaded, 1)) MiB (\(loadedParts))\(flowing ? "" : "; NOT every guest reached 90 frames in 30 s"). The ffmpeg reference is its peak RSS in the CPU runs (720p)."),
        ]
    }
}

/// The memory child: this very executable, driven over its stdin/stdout.
final class ChildRelay {
    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private var buffered = Data()

    init(arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
        process.arguments = arguments
        process.standardInput = input
        process.standardOutput = output
        try process.run()
    }

    func send(_ line: String) throws {
        try input.fileHandleForWriting.write(contentsOf: Data((line + "\n").utf8))
    }

    /// Reads lines until `line` (blocking; the child answers within seconds).
    func expect(_ line: String) throws {
        while true {
            if let newline = buffered.firstIndex(of: 0x0A) {
                let got = String(decoding: buffered[buffered.startIndex..<newline], as: UTF8.self)
                buffered = Data(buffered[(newline + 1)...])
                if got == line { return }
                continue
            }
            let more = output.fileHandleForReading.availableData
            guard !more.isEmpty else { throw ChildProcessError(description: "memory child exited before saying '\(line)'") }
            buffered += more
        }
    }

    /// Resident set size now, MiB (VmRSS in /proc/<pid>/status).
    func rssMiB() throws -> Double {
        let status = try String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kB = Double(line.split(separator: " ").dropFirst().first ?? "")
        else { throw ChildProcessError(description: "no VmRSS for the memory child") }
        return kB / 1024
    }

    /// "anon A, file F, shmem S MiB" from /proc/<pid>/status.
    func rssParts() throws -> String {
        let status = try String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)
        func field(_ name: String) -> String {
            guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }),
                  let kB = Double(line.split(separator: " ").dropFirst().first ?? "") else { return "?" }
            return "\(rounded(kB / 1024, 1))"
        }
        // PSS shares each library page among the processes mapping it (ffmpeg, other relays).
        let rollup = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/smaps_rollup", encoding: .utf8)) ?? ""
        let pss = rollup.split(separator: "\n").first { $0.hasPrefix("Pss:") }
            .flatMap { Double($0.split(separator: " ").dropFirst().first ?? "") }.map { "\(rounded($0 / 1024, 1))" } ?? "?"
        return "anon \(field("RssAnon")), file \(field("RssFile")), shmem \(field("RssShmem")) MiB; PSS \(pss) MiB"
    }

    func terminate() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }
}

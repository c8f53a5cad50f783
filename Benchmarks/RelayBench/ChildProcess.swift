import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Runs a tool (ffmpeg) to completion and reports the CPU time the child itself used, from
/// wait4's rusage of that one child: no other process is counted, whatever else runs beside.
struct ChildRun {
    var status: Int32
    /// User + system CPU of the child.
    var cpuSeconds: Double
    var wallSeconds: Double
    /// The child's peak RSS, MiB.
    var maxRSSMiB: Double
    /// The tail of its stderr, for an error message.
    var stderr: String
    /// Its stdout when asked for (`captureOutput`), else empty.
    var stdout: String = ""
}

struct ChildProcessError: Error, CustomStringConvertible {
    var description: String
}

enum ChildProcess {
    /// Runs `tool` (looked up on PATH) with `arguments`; stdout goes to /dev/null (or to a
    /// temporary file read back, with `captureOutput`), stderr to a temporary file read back.
    static func run(_ tool: String, _ arguments: [String], captureOutput: Bool = false) throws -> ChildRun {
        let errorFile = FileManager.default.temporaryDirectory.appendingPathComponent("relayd-bench-\(getpid())-\(UUID().uuidString).err")
        let outputFile = FileManager.default.temporaryDirectory.appendingPathComponent("relayd-bench-\(getpid())-\(UUID().uuidString).out")
        defer {
            try? FileManager.default.removeItem(at: errorFile)
            try? FileManager.default.removeItem(at: outputFile)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if captureOutput {
            posix_spawn_file_actions_addopen(&actions, 1, outputFile.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        } else {
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        }
        posix_spawn_file_actions_addopen(&actions, 2, errorFile.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let argv: [UnsafeMutablePointer<CChar>?] = ([tool] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let begin = CPUTime.wall()
        let spawned = posix_spawnp(&pid, tool, &actions, nil, argv, environ)
        guard spawned == 0 else {
            throw ChildProcessError(description: "could not start \(tool): \(String(cString: strerror(spawned))) (is it installed and on PATH?)")
        }
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 {
            guard errno == EINTR else { throw ChildProcessError(description: "waiting for \(tool) failed: \(String(cString: strerror(errno)))") }
        }
        let wall = CPUTime.wall() - begin
        let exitStatus = status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        let errorText = (try? String(contentsOf: errorFile, encoding: .utf8)) ?? ""
        return ChildRun(status: exitStatus, cpuSeconds: CPUTime.seconds(usage.ru_utime) + CPUTime.seconds(usage.ru_stime),
                        wallSeconds: wall, maxRSSMiB: Double(usage.ru_maxrss) / 1024, stderr: String(errorText.suffix(2000)),
                        stdout: captureOutput ? (try? String(contentsOf: outputFile, encoding: .utf8)) ?? "" : "")
    }

    /// Like `run`, but a non-zero exit is an error naming the command.
    static func check(_ tool: String, _ arguments: [String], captureOutput: Bool = false) throws -> ChildRun {
        let result = try run(tool, arguments, captureOutput: captureOutput)
        guard result.status == 0 else {
            throw ChildProcessError(description: "\(tool) \(arguments.joined(separator: " ")) exited with \(result.status): \(result.stderr)")
        }
        return result
    }
}

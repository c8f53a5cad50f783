import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// CPU-time clocks. These machines are shared (other builds run beside the bench), so the
/// figures are CPU time wherever that is what the question is about: wall time would measure
/// the neighbours.
enum CPUTime {
    /// CPU time of the calling thread.
    static func thread() -> Double { clock(CLOCK_THREAD_CPUTIME_ID) }

    /// CPU time of every thread of this process (user + system).
    static func process() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// Monotonic wall clock, seconds.
    static func wall() -> Double { clock(CLOCK_MONOTONIC) }

    static func seconds(_ value: timeval) -> Double { Double(value.tv_sec) + Double(value.tv_usec) / 1e6 }

    private static func clock(_ id: clockid_t) -> Double {
        var time = timespec()
        clock_gettime(id, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}

/// The machine the figures were measured on: uname and core count, and the load at the start.
struct Machine: Codable {
    var system: String
    var cores: Int
    var loadAverageAtStart: String

    static func current() -> Machine {
        var uts = utsname()
        uname(&uts)
        func text<T>(_ field: inout T) -> String {
            withUnsafeBytes(of: &field) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        }
        let description = "\(text(&uts.sysname)) \(text(&uts.release)) \(text(&uts.machine))"
        let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
        return Machine(system: description, cores: ProcessInfo.processInfo.activeProcessorCount, loadAverageAtStart: load)
    }
}

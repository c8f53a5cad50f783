import Foundation

/// `relayd demo --progress SECONDS`: what a long run (the soak) watches. The demo samples
/// relayd's counters often (`sample`) to find freezes and stalls in the video it writes, and
/// every interval prints one JSON line (`Line`) with them, the process's resident memory and
/// the media counters. FakeCalls, FakeMediaMTX and relayd share the demo's process, so the
/// memory is theirs together.
struct DemoProgress: Sendable {
    /// One line of progress (printed as compact JSON, `kind` = "progress").
    struct Line: Codable, Sendable, Equatable {
        var kind = "progress"
        var elapsedS: Double
        /// VmRSS of the demo process (FakeCalls + FakeMediaMTX + relayd), MiB.
        var rssMiB: Double?
        /// relayd: video and audio frames written by RTMP.
        var videoFramesOut: Int
        var audioFramesOut: Int
        /// FakeCalls: video frames of the recording it sent to relayd.
        var framesSent: Int
        /// Gaps of more than 200 ms with no video frame written (sampled every 50 ms).
        var freezes: Int
        /// Gaps of more than 2 s with no video frame written.
        var stalls: Int
        var longestGapMs: Int
        var nacksSent: Int
        var plisSent: Int
        var packetsLost: Int
        /// Datagrams FakeCalls' impairment dropped (both directions).
        var impairmentDropped: Int
        var relayState: String
        /// Entries in the demo's in-memory log capture (part of the memory).
        var logEntries: Int
    }

    static let freezeGap: Duration = .milliseconds(200)
    static let stallGap: Duration = .seconds(2)

    private(set) var freezes = 0
    private(set) var stalls = 0
    private(set) var longestGap: Duration = .zero
    private var lastFrames = -1
    private var lastFrameAt: ContinuousClock.Instant?
    private var inFreeze = false
    private var inStall = false

    /// Takes relayd's video frame count at `now`: a count that did not move for more than 200 ms
    /// is one freeze, for more than 2 s also one stall (each counted once, when it passes).
    mutating func sample(videoFramesOut frames: Int, now: ContinuousClock.Instant) {
        if frames != lastFrames {
            lastFrames = frames
            lastFrameAt = now
            inFreeze = false
            inStall = false
            return
        }
        guard let since = lastFrameAt, frames > 0 else { return }
        let gap = now - since
        longestGap = max(longestGap, gap)
        if gap > Self.freezeGap, !inFreeze {
            inFreeze = true
            freezes += 1
        }
        if gap > Self.stallGap, !inStall {
            inStall = true
            stalls += 1
        }
    }

    /// The resident memory of this process from /proc/self/status (nil where there is none).
    static func residentMiB() -> Double? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 2, let kib = Double(fields[1]) else { return nil }
            return (kib / 1024 * 10).rounded() / 10
        }
        return nil
    }

    static func json(_ line: Line) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(line)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}

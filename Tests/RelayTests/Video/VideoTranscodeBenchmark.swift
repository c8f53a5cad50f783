import Foundation
import Testing
@testable import Relay

/// Not a timed test: run by hand with RELAY_VIDEO_BENCH=/path/to/720p.ivf to print the CPU
/// seconds and per-frame latency of VP8 → H.264 (compare with the ffmpeg command it prints).
@Suite struct VideoTranscodeBenchmark {
    @Test(.enabled(if: ProcessInfo.processInfo.environment["RELAY_VIDEO_BENCH"] != nil))
    func vp8ToH264CPUSeconds() throws {
        let path = try #require(ProcessInfo.processInfo.environment["RELAY_VIDEO_BENCH"])
        let ivf = try IVFReader([UInt8](Data(contentsOf: URL(fileURLWithPath: path))))
        let frames = ivf.frames.enumerated().map { index, frame in
            VP8Frame(rtpTimestamp: UInt32(index * 3000), data: frame.data, isKeyframe: frame.data.first.map { $0 & 1 == 0 } ?? false)
        }
        let transcoder = try VideoTranscoder(inputCodec: .vp8, settings: X264Settings())
        let clock = ContinuousClock()
        var latencies: [Duration] = []
        var bytes = 0
        let before = Self.cpuSeconds()
        for frame in frames {
            let start = clock.now
            let units = try transcoder.transcode(frame)
            latencies.append(clock.now - start)
            bytes += units.reduce(0) { $0 + $1.avcc.count }
        }
        bytes += try transcoder.flush().reduce(0) { $0 + $1.avcc.count }
        let cpu = Self.cpuSeconds() - before
        latencies.sort()
        func ms(_ d: Duration) -> Double { Double(d.components.attoseconds) / 1e15 + Double(d.components.seconds) * 1000 }
        print("""
            relay VP8→H.264 \(ivf.width)x\(ivf.height) \(frames.count) frames: CPU \(String(format: "%.2f", cpu)) s, \
            per-frame latency p50 \(String(format: "%.1f", ms(latencies[latencies.count / 2]))) ms \
            p99 \(String(format: "%.1f", ms(latencies[latencies.count * 99 / 100]))) ms, \
            \(bytes * 8 * 30 / max(1, frames.count) / 1000) kbit/s
            compare: ffmpeg -threads 1 -i \(path) -c:v libx264 -preset veryfast -tune zerolatency -profile:v baseline \
            -b:v 2500k -maxrate 2500k -bufsize 2500k -g 60 -bf 0 -f null -
            """)
    }

    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }
}

import Foundation
import Relay
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// N guests received at once, in real time: one thread per guest (as relayd runs one UDP
/// driver thread per guest), each handed its packets when they are due, video and audio
/// interleaved, phases spread over one frame interval. Reports whether any guest dropped a
/// picture or fell behind: a picture's FLV tag written more than `lateLimit` after its last
/// packet was due.
struct RealTimeGuests {
    struct Outcome {
        var guests: Int
        var seconds: Double
        var framesExpected: Int
        var framesOut: Int
        var guestsShort: Int
        /// Due time of a picture's last packet → its tag written, over every guest.
        var lateness: LatencyHistogram
        var cpuSeconds: Double
        /// From the first packet due to the last guest done.
        var wallSeconds: Double
        var lateLimitMs: Double
        /// Cores' worth of CPU this process got while the guests ran.
        var coresObtained: Double { cpuSeconds / max(wallSeconds, 1e-9) }
        var held: Bool { guestsShort == 0 && lateness.p99 <= lateLimitMs }
        /// Measured CPU per guest while they all ran, % of a core.
        var coreSharePerGuest: Double { cpuSeconds / (seconds * Double(guests)) * 100 }
    }

    private struct Item: Sendable {
        var due: Double
        var video: Bool
        var index: Int
    }

    fileprivate struct GuestResult: Sendable {
        var framesOut: Int
        var lateness: [Double]
    }

    /// - Parameter transcode: VP8 guests through x264 (one thread each) instead of H.264 passthrough.
    static func run(guests: Int, seconds: Double, video: RTPStream, audio: RTPStream, transcode: Bool,
                    lateLimitMs: Double = 100) -> Outcome {
        var items: [Item] = video.packets.enumerated().map { Item(due: $0.element.due, video: true, index: $0.offset) }
        items += audio.packets.enumerated().map { Item(due: $0.element.due, video: false, index: $0.offset) }
        items = items.filter { $0.due < seconds }.sorted { ($0.due, $0.index) < ($1.due, $1.index) }
        let schedule = items
        let videoPackets = video.packets, audioPackets = audio.packets
        let framesExpected = video.packets.filter { $0.endsFrame && $0.due < seconds }.count
        let results = Collected()
        let done = DispatchGroup()
        let start = CPUTime.wall() + 0.5 + Double(guests) * 0.002  // every thread exists before the first packet is due
        let cpuBegin = CPUTime.process()
        for guest in 0..<guests {
            done.enter()
            let offset = Double(guest) / Double(guests) * video.frameInterval
            let thread = Thread {
                let result = Self.guest(schedule: schedule, video: videoPackets, audio: audioPackets, transcode: transcode,
                                        start: start + offset)
                results.add(result)
                done.leave()
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        done.wait()
        let cpu = CPUTime.process() - cpuBegin
        let wall = CPUTime.wall() - start
        let all = results.all
        var lateness = LatencyHistogram()
        for result in all { result.lateness.forEach { lateness.record(seconds: $0) } }
        return Outcome(guests: guests, seconds: seconds, framesExpected: framesExpected * guests,
                       framesOut: all.reduce(0) { $0 + $1.framesOut }, guestsShort: all.filter { $0.framesOut < framesExpected }.count,
                       lateness: lateness, cpuSeconds: cpu, wallSeconds: wall, lateLimitMs: lateLimitMs)
    }

    private static func guest(schedule: [Item], video: [RTPStream.Packet], audio: [RTPStream.Packet], transcode: Bool,
                              start: Double) -> GuestResult {
        guard let receiver = try? GuestReceiver(video: transcode ? .vp8 : .h264,
                                                transcoder: transcode ? try? GuestReceiver.singleThreadTranscoder() : nil, audio: true)
        else { return GuestResult(framesOut: 0, lateness: []) }
        var due: [UInt32: Double] = [:]
        var lateness: [Double] = []
        lateness.reserveCapacity(schedule.count / 4)
        receiver.sink.onVideoTag = { timestamp, _, wall in
            if let d = due.removeValue(forKey: timestamp) { lateness.append(wall - d) }
        }
        for item in schedule {
            let at = start + item.due
            sleep(until: at)
            let packet = item.video ? video[item.index] : audio[item.index]
            if item.video && packet.endsFrame { due[packet.timestamp] = at }
            receiver.receive(packet, kind: item.video ? .video : .audio, sequence: UInt64(item.index), now: .now)
        }
        return GuestResult(framesOut: receiver.sink.videoFrames, lateness: lateness)
    }

    private static func sleep(until wall: Double) {
        guard wall > CPUTime.wall() else { return }
        var time = timespec(tv_sec: Int(wall), tv_nsec: Int((wall - wall.rounded(.down)) * 1e9))
        while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &time, nil) == EINTR {}
    }
}

/// Results from the guest threads; the lock guards the array.
private final class Collected: Sendable {
    private let results = Mutex<[RealTimeGuests.GuestResult]>([])
    func add(_ result: RealTimeGuests.GuestResult) { results.withLock { $0.append(result) } }
    var all: [RealTimeGuests.GuestResult] { results.withLock { $0 } }
}

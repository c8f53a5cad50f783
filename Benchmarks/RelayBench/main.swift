// relayd-bench: the figures the issues ask for, measured in CPU time of this thread (these
// machines are shared and noisy; wall time would measure the neighbours). Not a test: it
// prints a table, writes bench/results.json and flags goals it misses. `make bench` runs it.
import Foundation
import Relay

#if canImport(Glibc)
import Glibc
#endif

struct Figure: Codable {
    var name: String
    var value: Double
    var unit: String
    var goal: String
    var met: Bool
}

func threadCPUSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

func percentile(_ values: [Double], _ p: Double) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
}

let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
var figures: [Figure] = []

// 1. SRTP unprotect + RTP parse, one core (issue 4: goal ≥ 200,000 packets/s).
for profile in [SRTPProfile.aeadAes128Gcm, .aes128CmSha1_80] {
    for payloadSize in [160, 1200] {
        let key = try SRTPMasterKey(profile: profile, key: [UInt8](repeating: 7, count: profile.keyLength),
                                    salt: [UInt8](repeating: 9, count: profile.saltLength))
        let sender = try SRTPContext(key: key, direction: .outbound)
        let receiver = try SRTPContext(key: key, direction: .inbound)
        let count = 100_000
        var protected: [[UInt8]] = []
        protected.reserveCapacity(count)
        for n in 0..<count {
            var packet = RTPPacketBuilder(marker: n % 10 == 0, payloadType: 96, sequenceNumber: UInt16(truncatingIfNeeded: n),
                                          timestamp: UInt32(n * 3000), ssrc: 42,
                                          payload: [UInt8](repeating: UInt8(truncatingIfNeeded: n), count: payloadSize)).serialize()
            packet.reserveCapacity(packet.count + SRTPContext.protectOverhead)
            _ = sender.protectRTP(&packet)
            protected.append(packet)
        }
        var parsed = 0
        let begin = threadCPUSeconds()
        for index in protected.indices {
            if case .ok = receiver.unprotectRTP(&protected[index]), let view = try? RTPPacketView.parse(protected[index]) {
                parsed += view.payloadLength > 0 ? 1 : 0
            }
        }
        let rate = Double(parsed) / (threadCPUSeconds() - begin)
        figures.append(Figure(name: "SRTP unprotect + RTP parse, \(profile), \(payloadSize) B payload", value: rate.rounded(),
                              unit: "packets/s/core", goal: "≥ 200000", met: rate >= 200_000))
    }
}

// 2. H.264 passthrough pipeline: jitter buffer → depacketizer → passthrough → FLV (issue 6:
//    < 3 % of a core per 30 fps guest; latency p99 < 5 ms from a frame's last packet to its tag).
do {
    let stream = try [UInt8](Data(contentsOf: repository.appendingPathComponent("Fixtures/media/testsrc2-320x240-60f.h264")))
    let pictures = AnnexB.accessUnits(stream)
    let packetizer = H264Packetizer()
    var packets: [(payload: [UInt8], timestamp: UInt32, marker: Bool)] = []
    var pictureIndex = 0
    for _ in 0..<50 {  // 3000 frames = 100 s of 30 fps video
        for picture in pictures {
            let payloads = packetizer.payloads(for: picture)
            for (n, payload) in payloads.enumerated() {
                packets.append((payload, UInt32(truncatingIfNeeded: pictureIndex * 3000), n == payloads.count - 1))
            }
            pictureIndex += 1
        }
    }
    final class CountingSink: MediaSink {
        var frames = 0
        var lastTagCPU = 0.0
        func videoConfiguration(_ record: AVCDecoderConfiguration, stream: H264StreamInfo) {}
        func video(_ unit: H264AccessUnit, milliseconds: Int64) { frames += 1; lastTagCPU = threadCPUSeconds() }
        func audioConfiguration(_ audioSpecificConfig: [UInt8]) {}
        func audio(_ frame: [UInt8], milliseconds: Int64) {}
    }
    let start = ContinuousClock.now
    let pipeline = VideoReceivePipeline(inputCodec: .h264, transcoder: nil, now: start)
    let sink = CountingSink()
    var latencies: [Double] = []
    let begin = threadCPUSeconds()
    for (index, packet) in packets.enumerated() {
        let arrival = ContinuousClock.now
        let arrivalCPU = threadCPUSeconds()
        let before = sink.frames
        pipeline.receive(payload: packet.payload, sequence: UInt64(index), timestamp: packet.timestamp, marker: packet.marker,
                         arrival: arrival)
        pipeline.process(now: arrival, into: sink)
        if sink.frames > before {
            // CPU time of this thread from the frame's last packet to its tag: the relay's own
            // cost, without the preemption noise of a shared machine.
            latencies.append((sink.lastTagCPU - arrivalCPU) * 1000)
        }
    }
    let cpu = threadCPUSeconds() - begin
    let seconds = Double(sink.frames) / 30
    let share = cpu / seconds * 100
    figures.append(Figure(name: "H.264 passthrough CPU per 30 fps guest (\(sink.frames) frames)", value: (share * 1000).rounded() / 1000,
                          unit: "% of a core", goal: "< 3", met: share < 3))
    let p50 = percentile(latencies, 0.5), p99 = percentile(latencies, 0.99)
    figures.append(Figure(name: "passthrough latency p50 (last packet in → tag out, CPU time)", value: (p50 * 1000).rounded() / 1000,
                          unit: "ms", goal: "—", met: true))
    figures.append(Figure(name: "passthrough latency p99", value: (p99 * 1000).rounded() / 1000, unit: "ms", goal: "< 5", met: p99 < 5))
}

print(String(repeating: "-", count: 100))
for figure in figures {
    let mark = figure.met ? "ok  " : "MISS"
    print("\(mark) \(figure.name.padding(toLength: 62, withPad: " ", startingAt: 0)) \(String(figure.value).padding(toLength: 12, withPad: " ", startingAt: 0)) \(figure.unit) (goal \(figure.goal))")
}
let output = repository.appendingPathComponent("bench")
try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
struct Results: Codable {
    var date: String
    var machine: String
    var figures: [Figure]
}
var uts = utsname()
uname(&uts)
let machine = withUnsafeBytes(of: &uts.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
let encoder = JSONEncoder()
encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
try encoder.encode(Results(date: ISO8601DateFormatter().string(from: Date()), machine: "\(machine), \(ProcessInfo.processInfo.activeProcessorCount) cores",
                           figures: figures)).write(to: output.appendingPathComponent("results.json"))
print("wrote bench/results.json")

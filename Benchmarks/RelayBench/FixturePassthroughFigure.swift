import Foundation
import Relay

/// The committed 320x240 fixture looped to 3000 pictures (100 s at 30 fps) through jitter
/// buffer → depacketizer → passthrough (no SRTP, no FLV): the figure the first bench printed,
/// kept so runs stay comparable. Thread CPU time.
enum FixturePassthroughFigure {
    static func figures(repository: URL) throws -> [Figure] {
        let stream = try [UInt8](Data(contentsOf: repository.appendingPathComponent("Fixtures/media/testsrc2-320x240-60f.h264")))
        let pictures = AnnexB.accessUnits(stream)
        let packetizer = H264Packetizer()
        var packets: [(payload: [UInt8], timestamp: UInt32, marker: Bool)] = []
        var pictureIndex = 0
        for _ in 0..<50 {
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
            func video(_ unit: H264AccessUnit, milliseconds: Int64) { frames += 1; lastTagCPU = CPUTime.thread() }
            func audioConfiguration(_ audioSpecificConfig: [UInt8]) {}
            func audio(_ frame: [UInt8], milliseconds: Int64) {}
        }
        let pipeline = VideoReceivePipeline(inputCodec: .h264, transcoder: nil, now: .now)
        let sink = CountingSink()
        var latency = LatencyHistogram()
        let begin = CPUTime.thread()
        for (index, packet) in packets.enumerated() {
            let arrival = ContinuousClock.now
            let arrivalCPU = CPUTime.thread()
            let before = sink.frames
            pipeline.receive(payload: packet.payload, sequence: UInt64(index), timestamp: packet.timestamp, marker: packet.marker,
                             arrival: arrival)
            pipeline.process(now: arrival, into: sink)
            if sink.frames > before { latency.record(seconds: sink.lastTagCPU - arrivalCPU) }
        }
        let share = (CPUTime.thread() - begin) / (Double(sink.frames) / 30) * 100
        return [
            Figure("fixture 320x240 passthrough CPU (\(sink.frames) frames)", value: rounded(share), unit: "% core", goal: "< 3 %",
                   met: share < 3),
            Figure("fixture 320x240 passthrough latency p99 (CPU)", value: rounded(latency.p99), unit: "ms", goal: "< 5 ms",
                   met: latency.p99 < 5),
        ]
    }
}

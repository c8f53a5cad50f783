import Foundation
import Relay

/// The operator page's thumbnail cost in passthrough: relayd decodes one output keyframe per
/// 2 s and encodes a 320-pixel JPEG. Measured as the snapshot worker's thread CPU per render on
/// the 720p keyframes of the generated stream, turned into a share of a core at one render per
/// 2 s. Reference: the passthrough path's own cost per guest, from the same run.
enum SnapshotFigure {
    /// Collects the access units the pipeline puts out.
    final class KeyframeSink: MediaSink {
        var keyframes: [H264AccessUnit] = []
        func videoConfiguration(_ record: AVCDecoderConfiguration, stream: H264StreamInfo) {}
        func video(_ unit: H264AccessUnit, milliseconds: Int64) { if unit.isKeyframe { keyframes.append(unit) } }
        func audioConfiguration(_ audioSpecificConfig: [UInt8]) {}
        func audio(_ frame: [UInt8], milliseconds: Int64) {}
    }

    static func figures(h264 annexB: URL, passthroughShare: Double) throws -> [Figure] {
        let pictures = AnnexB.accessUnits([UInt8](try Data(contentsOf: annexB)))
        let packetizer = H264Packetizer()
        let start = ContinuousClock.now
        let pipeline = VideoReceivePipeline(inputCodec: .h264, transcoder: nil, now: start)
        let sink = KeyframeSink()
        var sequence: UInt64 = 1
        for (index, picture) in pictures.enumerated() {
            let payloads = packetizer.payloads(for: picture)
            let arrival = start + .milliseconds(33 * index)
            for (position, payload) in payloads.enumerated() {
                pipeline.receive(payload: payload, sequence: sequence, timestamp: UInt32(index * 3000),
                                 marker: position == payloads.count - 1, arrival: arrival)
                sequence += 1
            }
            pipeline.process(now: arrival, into: sink)
        }
        guard !sink.keyframes.isEmpty else {
            return [Figure("snapshot per guest (passthrough)", value: 0, unit: "%", goal: "< 0.5 % of a core", met: false,
                           note: "the generated stream gave no keyframe")]
        }
        let snapshot = GuestSnapshot(interval: .zero)
        // Several rounds over the stream's keyframes: enough renders for a stable mean.
        for _ in 0..<4 {
            for keyframe in sink.keyframes {
                snapshot.offer(keyframe, now: .now)
                snapshot.drain()
            }
        }
        let cost = snapshot.cost
        let perRender = cost.cpuSeconds / Double(max(1, cost.renders))
        let share = perRender / 2 * 100
        let size = snapshot.picture.map { "\($0.size.width)x\($0.size.height), \($0.jpeg.count / 1024) KB" } ?? "none"
        return [Figure("snapshot per guest (passthrough, 720p keyframe → JPEG every 2 s)", value: rounded(share, 3), unit: "% core",
                       reference: "passthrough itself: \(rounded(passthroughShare, 3)) %", goal: "< 0.5 % of a core",
                       met: share < 0.5 && snapshot.lastFailure == nil,
                       note: "\(cost.renders) renders, \(rounded(perRender * 1000, 2)) ms CPU each (decode + scale + JPEG), thumbnail \(size)\(snapshot.lastFailure.map { "; failure: \($0)" } ?? "")")]
    }
}

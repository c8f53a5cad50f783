import Foundation
import Relay

/// One guest's video stream pushed through a GuestReceiver as fast as it goes, on this thread:
/// the CPU it costs per second of media, and per picture the time from its last RTP packet
/// entering (before SRTP unprotect) to its FLV tag being written.
struct PipelineRun {
    var framesIn: Int
    var framesOut: Int
    var mediaSeconds: Double
    /// Process CPU (every thread) for the whole stream.
    var cpuSeconds: Double
    /// CPU per second of media, in % of one core.
    var coreShare: Double { cpuSeconds / mediaSeconds * 100 }
    /// Last packet in → tag written, in CPU time of this thread (the relay's own cost).
    var latencyCPU: LatencyHistogram
    /// The same in wall time (includes whatever the neighbours took from this core).
    var latencyWall: LatencyHistogram

    static func run(_ stream: RTPStream, receiver: GuestReceiver) -> PipelineRun {
        // Marker-packet arrival per RTP timestamp; transcoded units carry their input's timestamp.
        var arrivals: [UInt32: (cpu: Double, wall: Double)] = [:]
        arrivals.reserveCapacity(stream.frames)
        var latencyCPU = LatencyHistogram(), latencyWall = LatencyHistogram()
        receiver.sink.onVideoTag = { timestamp, cpu, wall in
            guard let arrival = arrivals.removeValue(forKey: timestamp) else { return }
            latencyCPU.record(seconds: cpu - arrival.cpu)
            latencyWall.record(seconds: wall - arrival.wall)
        }
        let begin = CPUTime.process()
        for (index, packet) in stream.packets.enumerated() {
            if packet.endsFrame { arrivals[packet.timestamp] = (CPUTime.thread(), CPUTime.wall()) }
            receiver.receive(packet, kind: stream.kind, sequence: UInt64(index), now: .now)
        }
        let cpu = CPUTime.process() - begin
        receiver.sink.onVideoTag = nil
        return PipelineRun(framesIn: stream.frames, framesOut: receiver.sink.videoFrames, mediaSeconds: stream.seconds,
                           cpuSeconds: cpu, latencyCPU: latencyCPU, latencyWall: latencyWall)
    }

    /// An audio stream the same way (CPU only: Opus decode + AAC encode per 20 ms packet).
    static func runAudio(_ stream: RTPStream, receiver: GuestReceiver) -> (cpuSeconds: Double, mediaSeconds: Double, framesOut: Int) {
        let begin = CPUTime.process()
        for (index, packet) in stream.packets.enumerated() {
            receiver.receive(packet, kind: .audio, sequence: UInt64(index), now: .now)
        }
        return (CPUTime.process() - begin, stream.seconds, receiver.sink.audioFrames)
    }
}

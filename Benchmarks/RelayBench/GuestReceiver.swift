import Foundation
import Relay

/// One guest's receive path without the socket: SRTP unprotect → RTP parse → jitter buffer →
/// depacketize → passthrough or transcode (video), Opus → AAC (audio) → FLV tags. What
/// GuestMediaSession does per packet, minus the UDP syscall and the RTMP socket write.
/// Confined to one thread.
final class GuestReceiver {
    let video: VideoReceivePipeline?
    let audio: AudioReceivePipeline?
    let sink = FLVTagSink()
    private let srtp: SRTPContext
    private var scratch: [UInt8] = []
    private(set) var srtpFailures = 0

    /// - Parameter transcoder: nil for H.264 passthrough, an x264 transcoder for VP8.
    init(video codec: VideoReceivePipeline.InputCodec?, transcoder: VideoTranscoder?, audio hasAudio: Bool) throws {
        srtp = try SRTPContext(key: try RTPStream.makeKey(), direction: .inbound)
        let now = ContinuousClock.now
        video = codec.map { VideoReceivePipeline(inputCodec: $0, transcoder: transcoder, now: now) }
        audio = hasAudio ? AudioReceivePipeline(transcoder: try AudioTranscoder(configuration: .init(bitrate: AudioConfig().bitrateKbps * 1000)),
                                                now: now) : nil
        scratch.reserveCapacity(2048)
    }

    /// The x264 settings both sides of the CPU comparison use: relayd's defaults (veryfast,
    /// zerolatency, constrained baseline, 2500 kbit/s ABR with a 1 s VBV, IDR every 2 s = 60
    /// frames, no B-frames) on ONE thread, decoder on one thread too.
    static func singleThreadTranscoder() throws -> VideoTranscoder {
        try VideoTranscoder(inputCodec: .vp8, settings: X264Settings(preset: "veryfast", profile: .constrainedBaseline,
                                                                     bitrateKbps: GeneratedInputs.bitrateKbps,
                                                                     keyframeIntervalSeconds: 2, frameRate: 30, threads: 1),
                            decoderThreads: 1)
    }

    /// Handles one protected packet arriving now (`sequence` already extended).
    func receive(_ packet: RTPStream.Packet, kind: RTPStream.Kind, sequence: UInt64, now: ContinuousClock.Instant) {
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: packet.bytes)
        guard case .ok = srtp.unprotectRTP(&scratch), let view = try? RTPPacketView.parse(scratch) else {
            srtpFailures += 1
            return
        }
        scratch.withUnsafeBytes { bytes in
            let payload = UnsafeRawBufferPointer(rebasing: bytes[view.payloadRange])
            switch kind {
            case .video:
                video?.receive(payload: payload, sequence: sequence, timestamp: view.timestamp, marker: view.marker, arrival: now)
                video?.process(now: now, into: sink)
            case .audio:
                audio?.receive(payload: payload, sequence: sequence, timestamp: view.timestamp, arrival: now)
                audio?.process(now: now, into: sink)
            }
        }
    }
}

/// Serializes every tag as the FLV/RTMP writer would (into a reused buffer) and notes, per
/// video tag, the input RTP timestamp and when it was written (thread CPU and wall clock).
final class FLVTagSink: MediaSink {
    private(set) var videoFrames = 0
    private(set) var audioFrames = 0
    private(set) var bytes = 0
    /// Called with (rtpTimestamp, thread CPU, wall) right after each video tag is written.
    var onVideoTag: ((UInt32, Double, Double) -> Void)?
    private var buffer: [UInt8] = []
    private var body: [UInt8] = []

    init() {
        buffer.reserveCapacity(1 << 20)
        body.reserveCapacity(1 << 20)
    }

    func videoConfiguration(_ record: AVCDecoderConfiguration, stream: H264StreamInfo) {
        write(FLVTag(kind: .video, timestamp: 0, body: FLVTagBody.avcSequenceHeader(record: record.bytes)))
    }

    func video(_ unit: H264AccessUnit, milliseconds: Int64) {
        body.removeAll(keepingCapacity: true)
        FLVTagBody.appendAVCFrameHeader(keyframe: unit.isKeyframe, compositionTime: 0, into: &body)
        body.append(contentsOf: unit.avcc)
        write(FLVTag(kind: .video, timestamp: UInt32(clamping: max(0, milliseconds)), body: body))
        videoFrames += 1
        onVideoTag?(unit.rtpTimestamp, CPUTime.thread(), CPUTime.wall())
    }

    func audioConfiguration(_ audioSpecificConfig: [UInt8]) {
        write(FLVTag(kind: .audio, timestamp: 0, body: FLVTagBody.aacSequenceHeader(config: audioSpecificConfig)))
    }

    func audio(_ frame: [UInt8], milliseconds: Int64) {
        write(FLVTag(kind: .audio, timestamp: UInt32(clamping: max(0, milliseconds)), body: FLVTagBody.aacFrame(frame)))
        audioFrames += 1
    }

    private func write(_ tag: FLVTag) {
        buffer.removeAll(keepingCapacity: true)
        FLVFileWriter.appendTag(tag, into: &buffer)
        bytes += buffer.count
    }
}

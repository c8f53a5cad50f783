/// CPU per guest, per second of media, in % of one core: relayd's receive path for one guest
/// (process CPU while it runs alone on this thread) next to ffmpeg doing the same work.
enum CPUPerGuestFigure {
    static func figures(passthrough: PipelineRun, transcode: PipelineRun, transcodeBytes: Int, audio: (cpuSeconds: Double, mediaSeconds: Double),
                        ffmpeg: FFmpegReference, mediaSeconds: Double) -> [Figure] {
        let copyShare = ffmpeg.copyCPU / FFmpegReference.copySeconds * 100
        let copyRaw = ffmpeg.copy.cpuSeconds / FFmpegReference.copySeconds * 100
        let ffmpegTranscode = ffmpeg.transcodeCPU / mediaSeconds * 100
        let ratio = transcode.coreShare / max(ffmpegTranscode, 1e-9)
        let audioShare = audio.cpuSeconds / audio.mediaSeconds * 100
        let ffmpegAudio = ffmpeg.audioCPU / audio.mediaSeconds * 100
        let kbps = Double(transcodeBytes) * 8 / transcode.mediaSeconds / 1000
        return [
            Figure("CPU/guest: H.264 720p30 passthrough", value: rounded(passthrough.coreShare), unit: "% core",
                   reference: "ffmpeg -c copy: \(rounded(copyShare, 4)) % (\(rounded(copyRaw, 4)) raw)", goal: "< 3 %",
                   met: passthrough.coreShare < 3 && passthrough.framesOut == passthrough.framesIn,
                   note: "SRTP unprotect + RTP parse + jitter buffer + depacketize + passthrough + FLV tag, \(passthrough.framesOut)/\(passthrough.framesIn) pictures out; no UDP syscalls, no RTMP socket. Best of 3 runs. ffmpeg reads the Annex-B file \(FFmpegReference.copyLoops) times over (\(Int(FFmpegReference.copySeconds)) s of media) and writes FLV to /dev/null; raw = with its process start."),
            Figure("CPU/guest: VP8→H.264 720p30 transcode", value: rounded(transcode.coreShare, 2), unit: "% core",
                   reference: "ffmpeg vp8→libx264: \(rounded(ffmpegTranscode, 2)) %", goal: "≤ 1.1× ffmpeg", met: ratio <= 1.1,
                   note: "ratio \(rounded(ratio, 3))×. Both: FFmpeg's vp8 decoder and libx264 veryfast/zerolatency/baseline, \(GeneratedInputs.bitrateKbps) kbit/s ABR + 1 s VBV, keyint 60, no B-frames, ONE thread each for decoder and encoder; best of 3 runs each, in alternation. relayd wrote \(rounded(kbps, 0)) kbit/s, \(transcode.framesOut)/\(transcode.framesIn) pictures."),
            Figure("CPU/guest: audio Opus→AAC 48k stereo", value: rounded(audioShare), unit: "% core",
                   reference: "ffmpeg opus→aac: \(rounded(ffmpegAudio)) %", goal: "—", met: true,
                   note: "every guest has it; counted in the capacity figures"),
        ]
    }
}

/// Last RTP packet of a picture in → its FLV tag written, CPU time of the receiving thread
/// (wall time in the note). The reference is ffmpeg's mean CPU per picture for the same work.
enum FrameLatencyFigure {
    static func figures(passthrough: PipelineRun, transcode: PipelineRun, ffmpeg: FFmpegReference, frames: Int) -> [Figure] {
        let copyPerFrame = ffmpeg.copyCPU / Double(frames * FFmpegReference.copyLoops) * 1e6
        let transcodePerFrame = ffmpeg.transcodeCPU / Double(frames) * 1000
        return [
            Figure("added latency passthrough p50 (CPU)", value: rounded(passthrough.latencyCPU.p50), unit: "ms",
                   reference: "ffmpeg -c copy: \(rounded(copyPerFrame, 1)) µs CPU/frame", goal: "—", met: true),
            Figure("added latency passthrough p99 (CPU)", value: rounded(passthrough.latencyCPU.p99), unit: "ms",
                   reference: "ffmpeg -c copy: \(rounded(copyPerFrame, 1)) µs CPU/frame", goal: "< 5 ms", met: passthrough.latencyCPU.p99 < 5,
                   note: "720p30 H.264, \(passthrough.latencyCPU.count) pictures; wall p50/p99/max \(rounded(passthrough.latencyWall.p50))/\(rounded(passthrough.latencyWall.p99))/\(rounded(passthrough.latencyWall.max)) ms"),
            Figure("added latency transcode p50 (CPU)", value: rounded(transcode.latencyCPU.p50, 2), unit: "ms",
                   reference: "ffmpeg vp8→x264: \(rounded(transcodePerFrame, 2)) ms CPU/frame", goal: "—", met: true),
            Figure("added latency transcode p99 (CPU)", value: rounded(transcode.latencyCPU.p99, 2), unit: "ms",
                   reference: "ffmpeg vp8→x264: \(rounded(transcodePerFrame, 2)) ms CPU/frame", goal: "< 50 ms",
                   met: transcode.latencyCPU.p99 < 50,
                   note: "720p30 VP8 → x264 one thread, \(transcode.latencyCPU.count) pictures; wall p50/p99/max \(rounded(transcode.latencyWall.p50, 2))/\(rounded(transcode.latencyWall.p99, 2))/\(rounded(transcode.latencyWall.max, 2)) ms"),
        ]
    }
}

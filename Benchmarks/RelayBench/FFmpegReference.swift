import Foundation

/// The same work done by the ffmpeg command line, run in this bench, its CPU read from wait4
/// for that child alone. Each command also runs once on its first frame only; that run's CPU
/// (process start, probing, codec open) is subtracted, so the reference is ffmpeg's
/// steady-state cost — the stricter comparison for relayd.
struct FFmpegReference {
    var copy: ChildRun
    var copyStartup: ChildRun
    var transcode: ChildRun
    var transcodeStartup: ChildRun
    var audio: ChildRun
    var audioStartup: ChildRun

    var copyCPU: Double { max(0, copy.cpuSeconds - copyStartup.cpuSeconds) }
    var transcodeCPU: Double { max(0, transcode.cpuSeconds - transcodeStartup.cpuSeconds) }
    var audioCPU: Double { max(0, audio.cpuSeconds - audioStartup.cpuSeconds) }

    /// x264 exactly as relayd drives it (GuestReceiver.singleThreadTranscoder): one thread for the
    /// decoder (FFmpeg's own vp8 decoder, the one relayd links), one for x264.
    static func transcodeArguments(input: String) -> [String] {
        ["-v", "error", "-threads", "1", "-c:v", "vp8", "-i", input, "-threads", "1", "-filter_threads", "1",
         "-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-profile:v", "baseline",
         "-b:v", "\(GeneratedInputs.bitrateKbps)k", "-maxrate", "\(GeneratedInputs.bitrateKbps)k",
         "-bufsize", "\(GeneratedInputs.bitrateKbps)k", "-g", "60", "-keyint_min", "1", "-sc_threshold", "0", "-bf", "0",
         "-an", "-f", "flv", "-y", "/dev/null"]
    }

    /// Copying costs so little that 10 s of it drowns in ffmpeg's start-up: the input is read
    /// `copyLoops` times over (`copySeconds` of media) to give a measurable steady state.
    static let copyLoops = 100
    static var copySeconds: Double { Double(copyLoops * GeneratedInputs.seconds) }

    static func copyArguments(input: String) -> [String] {
        ["-v", "error", "-threads", "1", "-stream_loop", "\(copyLoops - 1)", "-f", "h264", "-framerate", "30", "-i", input,
         "-c", "copy", "-f", "flv", "-y", "/dev/null"]
    }

    /// Opus → AAC-LC 128 kbit/s, the fixture looped to `loops` × 2 s.
    static func audioArguments(input: String, loops: Int) -> [String] {
        ["-v", "error", "-threads", "1", "-stream_loop", "\(loops - 1)", "-i", input, "-c:a", "aac", "-b:a", "128k", "-ar", "48000",
         "-ac", "2", "-vn", "-f", "flv", "-y", "/dev/null"]
    }

    static func measure(inputs: GeneratedInputs, opus: URL, audioLoops: Int) throws -> FFmpegReference {
        func firstFrameOnly(_ arguments: [String], stream: String) -> [String] {
            Array(arguments.dropLast(4)) + ["-frames:\(stream)", "1"] + arguments.suffix(4)
        }
        let copy = copyArguments(input: inputs.h264.path)
        let transcode = transcodeArguments(input: inputs.vp8.path)
        let audio = audioArguments(input: opus.path, loops: audioLoops)
        return FFmpegReference(
            copy: try ChildProcess.check("ffmpeg", copy), copyStartup: try ChildProcess.check("ffmpeg", firstFrameOnly(copy, stream: "v")),
            transcode: try ChildProcess.check("ffmpeg", transcode),
            transcodeStartup: try ChildProcess.check("ffmpeg", firstFrameOnly(transcode, stream: "v")),
            audio: try ChildProcess.check("ffmpeg", audio), audioStartup: try ChildProcess.check("ffmpeg", firstFrameOnly(audio, stream: "a")))
    }
}

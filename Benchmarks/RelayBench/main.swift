// relayd-bench (`make bench`): the figures the issues ask for, each next to a reference
// measured in the same run, printed as one table (misses flagged, never hidden) and written to
// bench/results.json. CPU time wherever the question is about cost: the machine is shared and
// wall time would measure the neighbours. See bench/README.md.
import Foundation
import Relay

#if canImport(Glibc)
import Glibc
#endif

let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.first == "memory-child" {
    exit(await MemoryChild.main(Array(arguments.dropFirst())))
}

let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let machine = Machine.current()
let began = CPUTime.wall()
func step(_ text: String) {
    print("[\(Int(CPUTime.wall() - began)) s] \(text)")
    fflush(nil)  // progress shows under `make` too (stdout is a pipe there)
}
print("relayd-bench on \(machine.system), \(machine.cores) cores, load \(machine.loadAverageAtStart)")

var figures: [Figure] = []
// `relayd-bench snapshot`: only the thumbnail figure (its cost is in FFmpeg's C code, so even a
// debug build measures it fairly).
// `relayd-bench setup`: only the join-time figure (timers and loopback, not CPU: a debug build
// measures it too).
if arguments.first == "setup" {
    let fakes = try LoopbackFakes(repository: repository)
    FigureTable.print(try await SetupLatencyFigure.figures(fakes: fakes))
    fakes.stop()
    exit(0)
}
if arguments.first == "snapshot" {
    let inputs = try GeneratedInputs.make()
    defer { inputs.remove() }
    FigureTable.print(try SnapshotFigure.figures(h264: inputs.h264, passthroughShare: 0))
    exit(0)
}
do {
    step("generating 10 s of 720p30 H.264 and VP8 with ffmpeg")
    let inputs = try GeneratedInputs.make()
    defer { inputs.remove() }

    step("SRTP and the fixture passthrough (the first bench's figures)")
    figures += try SRTPFigure.figures()
    figures += try FixturePassthroughFigure.figures(repository: repository)

    step("one guest's receive path: passthrough, audio")
    let h264 = try RTPStream.h264(annexB: inputs.h264)
    let vp8 = try RTPStream.vp8(ivf: inputs.vp8)
    let opusFile = repository.appendingPathComponent("Fixtures/audio/tone-440L-660R-stereo-2s.opus.ogg")
    let audioLoops = 5
    let opus = try RTPStream.opus(ogg: opusFile, loops: audioLoops)
    // Passthrough costs so little that one run is at the mercy of a cache miss: best of three.
    var passthrough = PipelineRun.run(h264, receiver: try GuestReceiver(video: .h264, transcoder: nil, audio: false))
    for _ in 0..<2 {
        let again = PipelineRun.run(h264, receiver: try GuestReceiver(video: .h264, transcoder: nil, audio: false))
        if again.cpuSeconds < passthrough.cpuSeconds { passthrough = again }
    }
    let audio = PipelineRun.runAudio(opus, receiver: try GuestReceiver(video: nil, transcoder: nil, audio: true))

    step("the same work with the ffmpeg command line")
    var ffmpeg = try FFmpegReference.measure(inputs: inputs, opus: opusFile, audioLoops: audioLoops)
    step("transcode: relayd and ffmpeg in alternation, best of 3 each")
    let (transcode, transcodeBytes) = try TranscodeRounds.best(rounds: 3, stream: vp8, inputs: inputs, reference: &ffmpeg)
    figures += FrameLatencyFigure.figures(passthrough: passthrough, transcode: transcode, ffmpeg: ffmpeg, frames: h264.frames)
    let perGuest = CPUPerGuestFigure.figures(passthrough: passthrough, transcode: transcode, transcodeBytes: transcodeBytes,
                                             audio: (audio.cpuSeconds, audio.mediaSeconds), ffmpeg: ffmpeg,
                                             mediaSeconds: Double(GeneratedInputs.seconds))
    figures += perGuest

    step("operator thumbnails: keyframe → JPEG cost")
    figures += try SnapshotFigure.figures(h264: inputs.h264, passthroughShare: passthrough.coreShare)

    step("capacity: CPU budget, then guests in real time")
    let audioShare = audio.cpuSeconds / audio.mediaSeconds * 100
    figures += CapacityFigure.figures(cores: machine.cores, videoShare: passthrough.coreShare, audioShare: audioShare,
                                      video: h264, audio: opus, transcode: false, goal: 100)
    figures += CapacityFigure.figures(cores: machine.cores, videoShare: transcode.coreShare, audioShare: audioShare,
                                      video: vp8, audio: opus, transcode: true, goal: 4)

    step("setup latency over loopback (FakeCalls → relayd → FakeMediaMTX)")
    let fakes = try LoopbackFakes(repository: repository)
    figures += try await SetupLatencyFigure.figures(fakes: fakes)

    step("memory: a RelayServer-only child, idle and with guests")
    figures += try await MemoryFigure.figures(fakes: fakes, reference: (ffmpeg.copy.maxRSSMiB, ffmpeg.transcode.maxRSSMiB))
    fakes.stop()
} catch {
    print("relayd-bench stopped early: \(error)")
    figures.append(Figure("bench run", value: 0, unit: "", goal: "completes", met: false, note: "\(error)"))
}

let elapsed = CPUTime.wall() - began
print("")
FigureTable.print(figures)
struct Results: Codable {
    var date: String
    var machine: Machine
    var benchSeconds: Double
    var figures: [Figure]
}
let output = repository.appendingPathComponent("bench")
try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
let encoder = JSONEncoder()
encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
let results = Results(date: ISO8601DateFormatter().string(from: Date()), machine: machine, benchSeconds: rounded(elapsed, 1), figures: figures)
try encoder.encode(results).write(to: output.appendingPathComponent("results.json"))
print("wrote bench/results.json (\(Int(elapsed)) s); `make bench-baseline` copies it to bench/baseline.json")

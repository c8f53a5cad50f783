import Foundation

/// relayd's transcode and ffmpeg's, measured in alternation and each kept at its best (least
/// CPU) of `rounds`: the neighbours' load changes from minute to minute, so one run each, a
/// minute apart, compares two different machines. The least-disturbed run of each is the
/// fairest pair this machine can give.
enum TranscodeRounds {
    static func best(rounds: Int, stream: RTPStream, inputs: GeneratedInputs, reference: inout FFmpegReference) throws
        -> (run: PipelineRun, bytes: Int)
    {
        var best: (run: PipelineRun, bytes: Int)?
        for round in 0..<rounds {
            let receiver = try GuestReceiver(video: .vp8, transcoder: try GuestReceiver.singleThreadTranscoder(), audio: false)
            let run = PipelineRun.run(stream, receiver: receiver)
            if best.map({ run.cpuSeconds < $0.run.cpuSeconds }) ?? true { best = (run, receiver.sink.bytes) }
            if round > 0 {  // `reference` already holds one ffmpeg transcode
                let again = try ChildProcess.check("ffmpeg", FFmpegReference.transcodeArguments(input: inputs.vp8.path))
                if again.cpuSeconds < reference.transcode.cpuSeconds { reference.transcode = again }
            }
        }
        guard let best else { throw ChildProcessError(description: "no transcode round ran (rounds = \(rounds))") }
        return best
    }
}

import Foundation

/// Most concurrent guests on this machine before any drops a picture or falls behind real
/// time, in two rows per kind of guest:
/// 1. the CPU budget: N = ⌊cores × 80 % / (video % + audio %)⌋, from the per-guest shares
///    measured above on one guest (CPU per second of media); 20 % of the machine is left for
///    the UDP and RTMP syscalls and the kernel, which the per-guest figure does not include;
/// 2. the confirmation: N guests at once in real time for a few seconds (RealTimeGuests). It
///    holds when no guest dropped a picture and p99 of (picture due → its tag written) stays
///    under 100 ms. It also says how much CPU the bench actually got meanwhile: on a shared
///    machine a failure with less CPU than the budget assumes is the neighbours', not relayd's.
enum CapacityFigure {
    static let budget = 0.8

    static func figures(cores: Int, videoShare: Double, audioShare: Double, video: RTPStream, audio: RTPStream, transcode: Bool,
                        goal: Int, seconds: Double = 6) -> [Figure] {
        let perGuest = videoShare + audioShare
        let computed = max(1, Int((Double(cores) * 100 * budget / perGuest).rounded(.down)))
        let videoOnly = Int((Double(cores) * 100 * budget / videoShare).rounded(.down))
        let kind = transcode ? "transcoded VP8→H.264" : "passthrough H.264"
        let load = Machine.current().loadAverageAtStart
        let outcome = RealTimeGuests.run(guests: computed, seconds: seconds, video: video, audio: audio, transcode: transcode)
        let needed = Double(computed) * perGuest / 100
        return [
            Figure("capacity (CPU budget): \(kind) 720p30 + audio", value: Double(computed), unit: "guests",
                   reference: "video alone: \(videoOnly) guests", goal: "≥ \(goal)", met: computed >= goal,
                   note: "⌊\(cores) cores × 80 % / (\(rounded(videoShare, 3)) % video + \(rounded(audioShare, 3)) % audio)⌋ = \(computed); without the audio transcode \(videoOnly)."),
            Figure("capacity confirmation: \(computed) \(transcode ? "transcoded" : "passthrough") guests in real time", value: rounded(outcome.lateness.p99, 1),
                   unit: "ms p99 late", reference: "CPU got \(rounded(outcome.coresObtained, 2)) of \(rounded(needed, 2)) needed",
                   goal: "no drops, p99 < 100 ms", met: outcome.held,
                   note: "\(Int(seconds)) s, one thread per guest, phases spread over a frame: pictures \(outcome.framesOut)/\(outcome.framesExpected), \(outcome.guestsShort) guests short, lateness p50/p99/max \(rounded(outcome.lateness.p50, 1))/\(rounded(outcome.lateness.p99, 1))/\(rounded(outcome.lateness.max, 1)) ms, took \(rounded(outcome.wallSeconds, 1)) s, \(rounded(outcome.coreSharePerGuest, 2)) % core per guest while all ran; the bench got \(rounded(outcome.coresObtained, 2)) cores (needed \(rounded(needed, 2))); load average before \(load) on \(cores) cores (shared machine)."),
        ]
    }
}

import Foundation

/// Most concurrent guests on this machine before any drops a picture or falls behind real
/// time. Computed as a CPU budget, then confirmed:
///   N = floor(cores × 80 % / (video % + audio %)), the per-guest shares measured above on one
///   guest (CPU per second of media); 20 % of the machine is left for the UDP and RTMP
///   syscalls and the kernel, which the per-guest figure does not include.
/// Confirmation: N guests in real time at once for a few seconds (RealTimeGuests); if a guest
/// drops a picture or a picture's tag leaves > 100 ms after it was due (p99), N × 0.75 is tried.
enum CapacityFigure {
    static let budget = 0.8

    static func figures(cores: Int, videoShare: Double, audioShare: Double, video: RTPStream, audio: RTPStream, transcode: Bool,
                        goal: Int, seconds: Double = 6) -> Figure {
        let perGuest = videoShare + audioShare
        let computed = max(1, Int((Double(cores) * 100 * budget / perGuest).rounded(.down)))
        var tried: [RealTimeGuests.Outcome] = []
        var confirmed = 0
        for candidate in Array(Set([computed, max(1, computed * 3 / 4)])).sorted(by: >) {
            let outcome = RealTimeGuests.run(guests: candidate, seconds: seconds, video: video, audio: audio, transcode: transcode)
            tried.append(outcome)
            if outcome.held { confirmed = candidate; break }
        }
        let kind = transcode ? "transcoded (VP8→H.264)" : "passthrough (H.264)"
        let runs = tried.map { o in
            "\(o.guests) guests: \(o.held ? "held" : "FAILED") (pictures \(o.framesOut)/\(o.framesExpected), \(o.guestsShort) short, lateness p50/p99/max \(rounded(o.lateness.p50, 1))/\(rounded(o.lateness.p99, 1))/\(rounded(o.lateness.max, 1)) ms, \(rounded(o.coreSharePerGuest, 2)) % core/guest measured)"
        }.joined(separator: "; ")
        return Figure("capacity: \(kind) 720p30 + audio guests", value: Double(confirmed), unit: "guests",
                      reference: "computed \(computed) = ⌊\(cores)×80 %/\(rounded(perGuest, 2)) %⌋", goal: "≥ \(goal)",
                      met: confirmed >= goal,
                      note: "per guest \(rounded(videoShare, 3)) % video + \(rounded(audioShare, 3)) % audio of a core; real-time confirmation, \(Int(seconds)) s, one thread per guest: \(runs). Load average before: \(Machine.current().loadAverageAtStart) (the machine is shared).")
    }
}

import Foundation
import Testing
@testable import Relay

/// A sender with its own clocks (NTP wall clock, one RTP clock per track with a random origin
/// and optionally a drift), a network that delays each track differently, and the timeline that
/// must put the frames back where they were captured. Time is simulated; nothing sleeps.
struct SimulatedAVSender {
    struct Options {
        var videoBase: UInt32
        var audioBase: UInt32
        /// Extra network delay of the audio packets over the video ones (seconds).
        var audioExtraDelay = 0.080
        var videoDelay = 0.030
        /// When Sender Reports start (seconds of capture time) and how often they come; nil: never.
        var senderReportsFrom: Double? = 0.5
        var senderReportInterval = 1.0
        /// RTP clock rate errors against the sender's NTP clock (1e-4 = 100 ppm fast).
        var videoDrift = 0.0
        var audioDrift = 0.0
        /// The receiver's clock runs this much fast against the sender's.
        var receiverDrift = 0.0
        /// Random network jitter, up to this many seconds, on every packet.
        var jitter = 0.0
        var duration = 4.0
        /// Hold frames this long after arrival before stamping (the jitter buffer, decoder).
        var videoHold = 0.010
        var audioHold = 0.040
        var seed: UInt64 = 1
    }

    struct Stamp {
        var track: MediaTimeline.Track
        /// True capture time of the frame, seconds.
        var capture: Double
        var milliseconds: Int64
        /// The RTP step from the previous frame of the track, ms (0 for the first).
        var rtpStep: Double
    }

    let options: Options

    func rtp(_ track: MediaTimeline.Track, capture: Double) -> UInt32 {
        switch track {
        case .video:
            return options.videoBase &+ UInt32(truncatingIfNeeded: Int64((capture * 90000 * (1 + options.videoDrift)).rounded()))
        case .audio:
            return options.audioBase &+ UInt32(truncatingIfNeeded: Int64((capture * 48000 * (1 + options.audioDrift)).rounded()))
        }
    }

    /// Runs the whole stream through a timeline; returns every frame's stamp in output order.
    func run(_ timeline: inout MediaTimeline, start: ContinuousClock.Instant,
             rtpOverride: ((MediaTimeline.Track, Double) -> UInt32)? = nil,
             senderReportsOverride: ((MediaTimeline.Track, Double) -> UInt32)? = nil) -> [Stamp] {
        enum Kind { case packet, frame, report }
        struct Event { var at: Double; var kind: Kind; var track: MediaTimeline.Track; var capture: Double }
        var rng = SeededRandom(seed: options.seed)
        func local(_ seconds: Double) -> Double { seconds * (1 + options.receiverDrift) }
        var events: [Event] = []
        // Video: 30 fps, one packet per frame is enough for the clock. Audio: Opus packets every
        // 20 ms in, AAC frames (1024 samples) out.
        for n in 0..<Int(options.duration * 30) {
            let capture = Double(n) / 30
            let arrival = local(capture + options.videoDelay + Double(rng.next() % 1000) / 1000 * options.jitter)
            events.append(Event(at: arrival, kind: .packet, track: .video, capture: capture))
            events.append(Event(at: arrival + options.videoHold, kind: .frame, track: .video, capture: capture))
        }
        for n in 0..<Int(options.duration * 50) {
            let capture = Double(n) * 0.020
            let arrival = local(capture + options.videoDelay + options.audioExtraDelay + Double(rng.next() % 1000) / 1000 * options.jitter)
            events.append(Event(at: arrival, kind: .packet, track: .audio, capture: capture))
        }
        for n in 0..<Int(options.duration * 48000 / 1024) {
            let capture = Double(n * 1024) / 48000
            // An AAC frame leaves once the Opus packet holding its last sample has arrived.
            let arrival = local(capture + 1024.0 / 48000 + options.videoDelay + options.audioExtraDelay) + options.audioHold
            events.append(Event(at: arrival, kind: .frame, track: .audio, capture: capture))
        }
        if let from = options.senderReportsFrom {
            var at = from
            while at < options.duration {
                events.append(Event(at: local(at + 0.005), kind: .report, track: .video, capture: at))
                events.append(Event(at: local(at + 0.105), kind: .report, track: .audio, capture: at + 0.1))
                at += options.senderReportInterval
            }
        }
        events.sort { $0.at < $1.at }
        var stamps: [Stamp] = []
        var lastRTP: [MediaTimeline.Track: UInt32] = [:]
        let rate: [MediaTimeline.Track: Double] = [.video: 90000, .audio: 48000]
        for event in events {
            let now = start + .nanoseconds(Int64(event.at * 1e9))
            let timestamp = rtpOverride?(event.track, event.capture) ?? rtp(event.track, capture: event.capture)
            switch event.kind {
            case .packet:
                timeline.observe(event.track, rtpTimestamp: timestamp, arrival: now)
            case .report:
                // The sender's NTP clock reads capture time + an arbitrary epoch.
                let ntp = UInt64(3_900_000_000) << 32 + UInt64(event.capture * 4_294_967_296)
                let reported = senderReportsOverride?(event.track, event.capture) ?? timestamp
                timeline.senderReport(event.track, ntpTimestamp: ntp, rtpTimestamp: reported, arrival: now)
            case .frame:
                let step = lastRTP[event.track].map { Double(Int32(bitPattern: timestamp &- $0)) * 1000 / rate[event.track]! } ?? 0
                lastRTP[event.track] = timestamp
                stamps.append(Stamp(track: event.track, capture: event.capture,
                                    milliseconds: timeline.milliseconds(event.track, rtpTimestamp: timestamp, now: now),
                                    rtpStep: step))
            }
        }
        return stamps
    }
}

@Suite struct MediaTimelineTests {
    let start = ContinuousClock.now

    /// Output minus capture time (ms) of each frame of a track, in order.
    func offsets(_ stamps: [SimulatedAVSender.Stamp], _ track: MediaTimeline.Track, from: Double = 0, to: Double = .infinity)
        -> [Double] {
        stamps.filter { $0.track == track && $0.capture >= from && $0.capture < to }.map { Double($0.milliseconds) - $0.capture * 1000 }
    }

    /// Every frame after the first follows its RTP step to within the slew bound (+1 ms of
    /// rounding), and output times only grow.
    func expectSmoothAndMonotonic(_ stamps: [SimulatedAVSender.Stamp], slew: Double = 5,
                                  sourceLocation: SourceLocation = #_sourceLocation) {
        for track in MediaTimeline.Track.allCases {
            let frames = stamps.filter { $0.track == track }
            for (previous, frame) in zip(frames, frames.dropFirst()) {
                #expect(frame.milliseconds > previous.milliseconds, "\(track) went back at \(frame.capture)", sourceLocation: sourceLocation)
                let step = Double(frame.milliseconds - previous.milliseconds)
                // Video keeps its RTP cadence exactly; audio slews.
                #expect(abs(step - frame.rtpStep) <= (track == .video ? 0 : slew) + 1.01,
                        "\(track) at \(frame.capture): step \(step) vs RTP \(frame.rtpStep)", sourceLocation: sourceLocation)
            }
        }
    }

    func randomBases(_ seed: UInt64) -> (UInt32, UInt32) {
        var rng = SeededRandom(seed: seed)
        return (UInt32.random(in: 0...UInt32.max, using: &rng), UInt32.random(in: 0...UInt32.max, using: &rng))
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func aLateSenderReportAlignsTracksThatArrivalSkewed(seed: UInt64) {
        let (video, audio) = randomBases(seed)
        let sender = SimulatedAVSender(options: .init(videoBase: video, audioBase: audio, senderReportsFrom: 1.5, seed: seed))
        var timeline = MediaTimeline()
        let stamps = sender.run(&timeline, start: start)
        expectSmoothAndMonotonic(stamps)
        // Before the reports: placed by arrival, so the audio lags by the network's 80 ms skew.
        let skewBefore = offsets(stamps, .audio, to: 1.3).last! - offsets(stamps, .video, to: 1.3).last!
        #expect(abs(skewBefore - 80) < 3, "skew before the reports: \(skewBefore)")
        // 80 ms at 5 ms a frame: aligned within ~16 audio frames of the audio report (1.6 s).
        let videoAfter = offsets(stamps, .video, from: 2.1), audioAfter = offsets(stamps, .audio, from: 2.1)
        let videoLevel = videoAfter.reduce(0, +) / Double(videoAfter.count)
        for offset in audioAfter + videoAfter { #expect(abs(offset - videoLevel) <= 1.5, "\(offset) vs \(videoLevel)") }
        // Starts near 0.
        #expect(stamps.first!.milliseconds <= 200)
        #expect(timeline.isSynchronized(.audio) && timeline.isSynchronized(.video))
    }

    @Test func bothRTPClocksWrapWithoutAStep() {
        // Video wraps after 1 s, audio after 2 s.
        let sender = SimulatedAVSender(options: .init(videoBase: UInt32.max - 90000, audioBase: UInt32.max - 96000))
        var timeline = MediaTimeline()
        let stamps = sender.run(&timeline, start: start)
        expectSmoothAndMonotonic(stamps)
        let video = offsets(stamps, .video, from: 1.0), audio = offsets(stamps, .audio, from: 1.0)
        let level = video.first!
        for offset in video + audio { #expect(abs(offset - level) <= 1.5) }
    }

    @Test func clockDriftOf100ppmStaysAlignedForTenMinutes() {
        let (video, audio) = randomBases(7)
        // The audio RTP clock runs 100 ppm fast, the video one 100 ppm slow, the receiver's
        // clock 100 ppm fast against the sender's; packets jitter by up to 15 ms.
        let sender = SimulatedAVSender(options: .init(
            videoBase: video, audioBase: audio, senderReportsFrom: 0.2, senderReportInterval: 2, videoDrift: -1e-4,
            audioDrift: 1e-4, receiverDrift: 1e-4, jitter: 0.015, duration: 600, seed: 7))
        var timeline = MediaTimeline()
        let stamps = sender.run(&timeline, start: start)
        expectSmoothAndMonotonic(stamps)
        // From one second on, audio and video sit on the same offset from capture (to ~1 ms of
        // rounding plus the extrapolation between two reports: 100 ppm × 2 s = 0.2 ms).
        for window in stride(from: 1.0, to: 600, by: 60) {
            let video = offsets(stamps, .video, from: window, to: window + 5)
            let audio = offsets(stamps, .audio, from: window, to: window + 5)
            let level = video.reduce(0, +) / Double(video.count)
            for offset in audio + video { #expect(abs(offset - level) <= 2, "at \(window) s: \(offset) vs \(level)") }
        }
    }

    @Test func withoutSenderReportsArrivalPlacesTheTracks() {
        let (video, audio) = randomBases(11)
        let sender = SimulatedAVSender(options: .init(videoBase: video, audioBase: audio, senderReportsFrom: nil))
        var timeline = MediaTimeline()
        let stamps = sender.run(&timeline, start: start)
        expectSmoothAndMonotonic(stamps)
        #expect(!timeline.isSynchronized(.audio))
        // The fallback is as good as the network is symmetric: here audio is 80 ms late.
        let skew = offsets(stamps, .audio, from: 1).first! - offsets(stamps, .video, from: 1).first!
        #expect(abs(skew - 80) < 3)
        #expect(stamps.first!.milliseconds <= 200)
    }

    @Test func aSenderRestartingItsVideoClockNeitherJumpsBackNorStalls() {
        let (video, audio) = randomBases(13)
        var options = SimulatedAVSender.Options(videoBase: video, audioBase: audio, senderReportsFrom: 0.2, duration: 6)
        options.audioExtraDelay = 0
        let sender = SimulatedAVSender(options: options)
        // At 3 s the video RTP clock restarts from another random origin; its reports follow.
        let restarted = video &+ 0x7000_0000
        let clock: (MediaTimeline.Track, Double) -> UInt32 = { track, capture in
            guard track == .video, capture >= 3 else { return sender.rtp(track, capture: capture) }
            return restarted &+ UInt32((capture - 3) * 90000)
        }
        var timeline = MediaTimeline()
        let stamps = sender.run(&timeline, start: start, rtpOverride: clock)
        let frames = stamps.filter { $0.track == .video }
        for (previous, frame) in zip(frames, frames.dropFirst()) {
            #expect(frame.milliseconds > previous.milliseconds)
            #expect(frame.milliseconds - previous.milliseconds < 100, "at \(frame.capture)")
        }
        #expect(timeline.stats.discontinuities >= 1)
        // Aligned again once the new clock has been reported (4.2 s on).
        let videoAfter = offsets(stamps, .video, from: 4.5), audioAfter = offsets(stamps, .audio, from: 4.5)
        let level = videoAfter.reduce(0, +) / Double(videoAfter.count)
        for offset in audioAfter + videoAfter { #expect(abs(offset - level) <= 1.5, "\(offset) vs \(level)") }
    }

    @Test func aBogusSenderReportIsRejectedWhileTheOtherTrackIsReported() {
        let (video, audio) = randomBases(17)
        let sender = SimulatedAVSender(options: .init(videoBase: video, audioBase: audio, senderReportsFrom: 0.2))
        // The audio reports claim an RTP time an hour off the packets.
        let bogus: (MediaTimeline.Track, Double) -> UInt32 = { track, capture in
            let right = sender.rtp(track, capture: capture)
            return track == .audio ? right &+ 48000 * 3600 : right
        }
        var timeline = MediaTimeline()
        let stamps = sender.run(&timeline, start: start, senderReportsOverride: bogus)
        expectSmoothAndMonotonic(stamps)
        #expect(timeline.stats.rejectedSenderReports >= 1)
        #expect(timeline.isSynchronized(.video))
    }

    @Test func aCorrectionIsSlewedAtFiveMillisecondsAFrameAndNeverBackwards() {
        var timeline = MediaTimeline()
        // Video arrives on time; audio arrives 200 ms "late" against what its report will say.
        for n in 0..<30 {
            let arrival = start + .nanoseconds(33_333_333 * n)
            timeline.observe(.video, rtpTimestamp: UInt32(3000 * n), arrival: arrival)
            _ = timeline.milliseconds(.video, rtpTimestamp: UInt32(3000 * n), now: arrival)
        }
        for n in 0..<50 {
            let arrival = start + .milliseconds(20 * n + 200)
            timeline.observe(.audio, rtpTimestamp: UInt32(960 * n), arrival: arrival)
        }
        var last = timeline.milliseconds(.audio, rtpTimestamp: 0, now: start + .seconds(1))
        #expect(abs(last - 300) <= 1)  // by arrival: 200 ms late, after the 100 ms lead-in
        // Both tracks' reports: captured together.
        timeline.senderReport(.audio, ntpTimestamp: 1 << 40, rtpTimestamp: 0, arrival: start + .milliseconds(1000))
        timeline.senderReport(.video, ntpTimestamp: 1 << 40, rtpTimestamp: 0, arrival: start + .milliseconds(1000))
        var steps: [Int64] = []
        for n in 1..<80 {
            let output = timeline.milliseconds(.audio, rtpTimestamp: UInt32(1024 * n), now: start + .seconds(1))
            steps.append(output - last)
            last = output
        }
        // 21.3 ms a frame minus at most 5: the 200 ms come off over 40 frames, none of them backwards.
        #expect(steps.allSatisfy { $0 >= 16 && $0 <= 22 }, "\(steps)")
        #expect(abs(steps.prefix(30).reduce(0, +) - (640 - 150)) <= 2)
        #expect(steps.suffix(30).allSatisfy { $0 >= 21 && $0 <= 22 })
        #expect(abs(last - (100 + 79 * 1024 * 1000 / 48000)) <= 1)  // where video puts capture time 1.685 s
    }
}

/// Puts a guest's audio and video on one output timeline, aligned as they were captured.
///
/// Each track's RTP clock has its own random origin, so RTP timestamps alone cannot line the
/// tracks up. Sender Reports pair a track's RTP timestamp with the sender's NTP wall clock,
/// which both tracks share: through them a frame's capture time is known on one clock. Before a
/// track's first Sender Report its frames are placed by arrival (the fastest packet seen gives
/// the mapping, so jitter does not move it), which is right to within the network's skew between
/// the tracks.
///
/// Capture times become output milliseconds on the receiver's clock: the sender's NTP clock is
/// placed on it by the smallest "arrival − capture" seen over both tracks (the fastest path),
/// and 0 is the first packet's arrival minus a lead-in (so the earliest frames — the AAC
/// priming frame comes 21 ms before the first packet — still land at 0 or later).
///
/// Output times are monotonic per track and follow the RTP timestamps frame to frame. Video keeps
/// exactly its RTP cadence from its first frame (a squeezed frame interval upsets players and
/// remuxers that assume a constant frame rate); audio is placed relative to where video actually
/// went, and when the mapping moves (the first Sender Report, a corrected clock offset, drift
/// between the video RTP clock and NTP) audio slews towards it by at most
/// `maximumSlewPerFrame` per frame, never backwards. A move too large to slew (a sender restart,
/// a bogus report) follows whichever of the RTP step and the mapping still continues the track,
/// never going back.
///
/// Sans-IO: RTP timestamps, reports and arrival instants in; milliseconds out.
public struct MediaTimeline: Sendable {
    public enum Track: Int, Sendable, CaseIterable {
        case audio = 0
        case video = 1
    }

    public struct Configuration: Sendable, Equatable {
        /// Where the first packet's arrival lands on the output timeline, in milliseconds.
        public var leadInMilliseconds: Double = 100
        /// The most a frame's output time may differ from what its RTP timestamp step predicts.
        public var maximumSlewPerFrame: Double = 5
        /// A correction larger than this (ms) is not slewed: the RTP clock or the mapping jumped.
        public var resyncMilliseconds: Double = 2000
        /// A packet whose transit differs from the fastest by more than this (seconds) means the
        /// sender's RTP clock jumped: the track's mapping starts again.
        public var discontinuitySeconds: Double = 5

        public init() {}
    }

    public struct Stats: Sendable, Equatable {
        public var senderReports = 0
        /// Sender Reports ignored because they contradict the track's packets or the other
        /// track's reports by seconds.
        public var rejectedSenderReports = 0
        /// Tracks whose mapping restarted (RTP clock jump, report gone stale).
        public var discontinuities = 0
        /// Frames whose RTP step and mapping disagreed by more than `resyncMilliseconds`.
        public var resyncs = 0
    }

    private struct TrackState: Sendable {
        let clockRate: Double
        /// Extended RTP timestamp of the most advanced packet: the unwrap reference.
        var reference: Int64?
        /// Smallest arrival − rtp/clockRate seen (seconds on the local timeline): the fallback mapping.
        var minimumTransit: Double?
        /// The last Sender Report: NTP seconds (from `ntpBase`) and extended RTP timestamp.
        var senderReport: (ntp: Double, rtp: Int64)?
        var lastRTP: Int64?
        /// Output time of the last frame, exact and as written.
        var lastExact: Double = 0
        var lastMilliseconds: Int64 = -1
    }

    public let configuration: Configuration
    public private(set) var stats = Stats()
    private var tracks: [TrackState]
    private var origin: ContinuousClock.Instant?
    private var ntpBase: UInt64?
    /// Local seconds (from `origin`) = NTP seconds (from `ntpBase`) + this.
    private var ntpToLocal: Double?
    /// Where the last video frame went minus where its mapping put it (ms): video follows its
    /// RTP clock, so audio follows video by this much to stay aligned with it.
    private var videoError: Double = 0

    public init(configuration: Configuration = Configuration(), audioClockRate: Int = 48000, videoClockRate: Int = 90000) {
        self.configuration = configuration
        tracks = [TrackState(clockRate: Double(audioClockRate)), TrackState(clockRate: Double(videoClockRate))]
    }

    /// True once `track` is placed by Sender Reports rather than by arrival.
    public func isSynchronized(_ track: Track) -> Bool {
        tracks[track.rawValue].senderReport != nil && ntpToLocal != nil
    }

    /// Notes one RTP packet's arrival (every packet, before any buffering).
    public mutating func observe(_ track: Track, rtpTimestamp: UInt32, arrival: ContinuousClock.Instant) {
        let local = localSeconds(arrival)
        var state = tracks[track.rawValue]
        let extended = Self.extend(rtpTimestamp, near: state.reference)
        if extended > state.reference ?? .min { state.reference = extended }
        let transit = local - Double(extended) / state.clockRate
        if let minimum = state.minimumTransit, abs(transit - minimum) > configuration.discontinuitySeconds {
            // The RTP clock jumped (a sender restart): neither mapping holds any more.
            state.minimumTransit = nil
            state.senderReport = nil
            state.reference = extended
            stats.discontinuities += 1
        }
        state.minimumTransit = min(state.minimumTransit ?? transit, transit)
        if let report = state.senderReport, let offset = ntpToLocal {
            let sample = local - (report.ntp + Double(extended - report.rtp) / state.clockRate)
            if abs(sample - offset) > configuration.discontinuitySeconds {
                state.senderReport = nil  // the report no longer describes this clock
                stats.discontinuities += 1
            } else if sample < offset {
                ntpToLocal = sample  // a faster packet: the clocks' offset is a little smaller
            }
        }
        tracks[track.rawValue] = state
    }

    /// Takes a Sender Report of `track`'s source: its RTP clock on the sender's NTP clock.
    public mutating func senderReport(_ track: Track, ntpTimestamp: UInt64, rtpTimestamp: UInt32,
                                      arrival: ContinuousClock.Instant) {
        let local = localSeconds(arrival)
        let base = ntpBase ?? ntpTimestamp
        ntpBase = base
        let ntp = Double(Int64(bitPattern: ntpTimestamp &- base)) / 4_294_967_296
        var state = tracks[track.rawValue]
        let extended = Self.extend(rtpTimestamp, near: state.reference)
        if state.reference == nil { state.reference = extended }
        stats.senderReports += 1
        // The report itself left the sender at `ntp`: its arrival bounds the offset too.
        var candidate = local - ntp
        if let minimum = state.minimumTransit {
            let fromPackets = minimum - (ntp - Double(extended) / state.clockRate)
            guard abs(fromPackets - candidate) <= configuration.discontinuitySeconds else {
                // Its RTP time is seconds away from where this track's packets are.
                stats.rejectedSenderReports += 1
                return
            }
            candidate = min(candidate, fromPackets)
        }
        if let offset = ntpToLocal, abs(candidate - offset) > configuration.discontinuitySeconds {
            let otherSynchronized = tracks.indices.contains { $0 != track.rawValue && tracks[$0].senderReport != nil }
            if otherSynchronized {
                stats.rejectedSenderReports += 1
                return
            }
            ntpToLocal = candidate  // this track alone defines the mapping: take its new clock
        } else {
            ntpToLocal = min(ntpToLocal ?? candidate, candidate)
        }
        state.senderReport = (ntp, extended)
        tracks[track.rawValue] = state
    }

    /// The output time, in milliseconds, of `track`'s next frame, whose RTP timestamp is given.
    /// Frames of a track must be stamped in output order. `now` places a frame whose track has
    /// never been observed.
    public mutating func milliseconds(_ track: Track, rtpTimestamp: UInt32, now: ContinuousClock.Instant) -> Int64 {
        if tracks[track.rawValue].minimumTransit == nil {
            observe(track, rtpTimestamp: rtpTimestamp, arrival: now)
        }
        var state = tracks[track.rawValue]
        let extended = Self.extend(rtpTimestamp, near: state.reference)
        let mapped = targetMilliseconds(state, extended: extended)
        // Audio goes where video actually is, not where video's mapping says it should be.
        let target = track == .audio ? mapped + videoError : mapped
        var exact = target
        if let lastRTP = state.lastRTP {
            let step = Double(extended - lastRTP) * 1000 / state.clockRate
            let predicted = state.lastExact + step
            let difference = target - predicted
            let resync = configuration.resyncMilliseconds
            if abs(difference) <= resync {
                // Video keeps its RTP cadence (a squeezed frame interval upsets players and
                // remuxers that assume a constant rate); audio slews.
                let slew = track == .video ? 0 : configuration.maximumSlewPerFrame
                exact = predicted + min(max(difference, -slew), slew)
            } else {
                // The RTP step and the mapping disagree by seconds: one of them jumped. Take
                // whichever still continues the track plausibly.
                stats.resyncs += 1
                if target > state.lastExact, target - state.lastExact < resync {
                    exact = target  // the RTP clock restarted; the mapping has followed it
                } else if step > 0, step < resync {
                    exact = predicted  // the mapping jumped; the RTP clock still runs on
                } else if target > state.lastExact {
                    exact = target
                } else {
                    exact = state.lastExact + 1  // a frame from before a restart: squeeze it in
                }
            }
        }
        exact = max(exact, state.lastExact, 0)
        if track == .video { videoError = exact - mapped }
        var output = Int64(exact.rounded())
        if output <= state.lastMilliseconds { output = state.lastMilliseconds + 1 }
        state.lastExact = exact
        state.lastMilliseconds = output
        state.lastRTP = extended
        tracks[track.rawValue] = state
        return output
    }

    /// Where a frame belongs on the output timeline before slewing, in milliseconds.
    private func targetMilliseconds(_ state: TrackState, extended: Int64) -> Double {
        let local: Double
        if let report = state.senderReport, let offset = ntpToLocal {
            local = report.ntp + Double(extended - report.rtp) / state.clockRate + offset
        } else {
            local = Double(extended) / state.clockRate + (state.minimumTransit ?? 0)
        }
        return local * 1000 + configuration.leadInMilliseconds
    }

    private mutating func localSeconds(_ instant: ContinuousClock.Instant) -> Double {
        let origin = self.origin ?? instant
        self.origin = origin
        return ReceiveStatistics.seconds(instant - origin)
    }

    /// The 64-bit timestamp nearest to `reference` whose low 32 bits are `timestamp`.
    private static func extend(_ timestamp: UInt32, near reference: Int64?) -> Int64 {
        guard let reference else { return Int64(timestamp) }
        return reference + Int64(Int32(bitPattern: timestamp &- UInt32(truncatingIfNeeded: reference)))
    }
}

/// The one timeline of a guest, shared by its session and both pipelines on the media thread.
public final class SharedMediaTimeline {
    public var timeline: MediaTimeline

    public init(_ timeline: MediaTimeline = MediaTimeline()) { self.timeline = timeline }

    public func milliseconds(_ track: MediaTimeline.Track, rtpTimestamp: UInt32, now: ContinuousClock.Instant) -> Int64 {
        timeline.milliseconds(track, rtpTimestamp: rtpTimestamp, now: now)
    }
}

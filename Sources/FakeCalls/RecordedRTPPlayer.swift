import Relay

/// Plays the recorded tracks of one publisher session (video and audio of one recording) as
/// live RTP, sans-IO: time is passed in, packets come out; the driver polls at `nextDeadline`.
///
/// **Timing.** Each frame is sent at its place on the recording's timeline, which comes from its
/// RTP timestamp through the sender's clock (its Sender Report, else the capture times), not
/// from when its packets happened to be captured: capture times carry the recorder's network
/// and Chrome's pacer bursts, while the RTP timestamp is the media clock a receiver plays out by.
/// So the output is the recording as the sender sampled it, and a loop is exact.
///
/// **Start and A/V.** Playback starts at the first video keyframe (H.264: IDR with SPS/PPS;
/// VP8: key frame); audio starts at its first frame at or after that moment. Both tracks keep
/// the offset they were recorded with, and one output clock maps send time to every track's
/// RTP timestamp (`timestamp = base + (sendTime − start) · clockRate`), so the Sender Reports
/// (`senderReport`) of all tracks agree and a receiver lines them up as recorded.
///
/// **Loop.** The loop is the span every track covers: from the keyframe to the end of the
/// shortest track (video: its last frame + one frame interval). At the end, each track starts
/// again at its first frame: video at the keyframe. Sequence numbers go on by one, timestamps go
/// on by the loop's length (for video: after its last frame, one frame interval).
///
/// **Keyframe requests (PLI/FIR).** The session jumps forward to the next keyframe (the loop's
/// start when the recording has only one, as Chrome's usually do), sending it at the next frame
/// time; audio jumps by the same amount, so lip sync holds. Sequence numbers and timestamps stay
/// continuous.
///
/// **Headers.** Each packet is written afresh: the negotiated payload type, one SSRC per track,
/// the recorded marker bit and payload; no header extensions (an SFU writes its own).
public struct RecordedRTPPlayer: Sendable {
    public struct TrackSetup: Sendable {
        public var mid: String
        public var track: RecordedTrack
        /// What the publisher negotiated for this mid (its numbering).
        public var payloadType: UInt8
        public var ssrc: UInt32

        public init(mid: String, track: RecordedTrack, payloadType: UInt8, ssrc: UInt32) {
            self.mid = mid
            self.track = track
            self.payloadType = payloadType
            self.ssrc = ssrc
        }
    }

    public struct SetupError: Error, CustomStringConvertible, Equatable {
        public var description: String
    }

    /// A frame in playback order, at `position` ns from the loop's start.
    struct Slot: Sendable {
        var frame: Int
        var position: Int64
        var isKeyframe: Bool
    }

    struct TrackState: Sendable {
        let setup: TrackSetup
        let slots: [Slot]
        let frameNanos: Int64
        /// Loop number and slot of the next frame to send.
        var loop: Int64 = 0
        var slot = 0
        var sequenceNumber: UInt16
        let timestampBase: UInt32
        var packetCount: UInt32 = 0
        var octetCount: UInt32 = 0

        /// Position of the next frame on the endless recording timeline (ns).
        func linear(period: Int64) -> Int64 { loop * period + slots[slot].position }
    }

    /// One packet for the track at `track` (index in the setups given to `init`).
    public struct Output: Sendable {
        public var track: Int
        public var packet: [UInt8]
    }

    private var tracks: [TrackState]
    private let start: ContinuousClock.Instant
    /// Loop length (ns).
    public let period: Int64
    /// Send time − recording timeline (ns); moves back by each keyframe jump.
    private var offset: Int64 = 0
    public private(set) var keyframeRestarts = 0
    /// Frames skipped because the driver fell more than `maximumLag` behind.
    public private(set) var framesSkipped = 0
    static let maximumLag: Int64 = 1_000_000_000

    public var mids: [String] { tracks.map(\.setup.mid) }
    public var ssrcs: [UInt32] { tracks.map(\.setup.ssrc) }

    /// - Parameters:
    ///   - setups: the session's tracks; at most one video track decides where playback starts.
    ///   - start: when the first frame goes out.
    ///   - random: initial sequence numbers and timestamps (random, as a browser's).
    public init(tracks setups: [TrackSetup], start: ContinuousClock.Instant,
                using random: inout some RandomNumberGenerator) throws {
        guard !setups.isEmpty else { throw SetupError(description: "no tracks to play") }
        // One clock for all: the senders' Sender Reports when every track has one, else capture times.
        let useSR = setups.allSatisfy(\.track.clockFromSenderReport)
        func wall(_ track: RecordedTrack, _ index: Int) -> Int64 {
            useSR ? track.frames[index].wallNanos : track.frames[index].captureWallNanos
        }
        let video = setups.firstIndex { $0.track.codec.kind == "video" }
        let origin: Int64
        if let video {
            let track = setups[video].track
            guard let keyframe = track.frames.firstIndex(where: \.isKeyframe) else {
                throw SetupError(description: "the \(track.codec.rawValue) recording for mid \(setups[video].mid) has no keyframe"
                    + (track.codec == .h264 ? " (an IDR with SPS and PPS in one access unit)" : "") + ": record from the start of the call")
            }
            origin = wall(track, keyframe)
        } else {
            origin = setups.map { wall($0.track, 0) }.min() ?? 0
        }
        let ends = setups.map { setup -> Int64 in
            wall(setup.track, setup.track.frames.count - 1) + MediaTime.nanos(ticks: setup.track.frameTicks, rate: setup.track.clockRate)
        }
        let period = (ends.min() ?? origin) - origin
        guard period > 0 else {
            throw SetupError(description: "the recordings of mids \(setups.map(\.mid)) do not overlap in time after the first keyframe")
        }
        var states: [TrackState] = []
        for setup in setups {
            let frames = setup.track.frames
            let slots = frames.indices.compactMap { index -> Slot? in
                // A millisecond of slack: NTP and tick rounding must not drop the frame sampled
                // with the keyframe.
                let position = wall(setup.track, index) - origin
                guard position > -1_000_000, position < period else { return nil }
                return Slot(frame: index, position: max(0, position), isKeyframe: frames[index].isKeyframe)
            }
            guard !slots.isEmpty else {
                throw SetupError(description: "mid \(setup.mid) has no frame inside the common span of the recording")
            }
            states.append(TrackState(setup: setup, slots: slots,
                                     frameNanos: MediaTime.nanos(ticks: setup.track.frameTicks, rate: setup.track.clockRate),
                                     sequenceNumber: UInt16.random(in: 0...UInt16.max, using: &random),
                                     timestampBase: UInt32.random(in: 0...UInt32.max, using: &random)))
        }
        tracks = states
        self.start = start
        self.period = period
    }

    // MARK: Playing

    /// When the next frame of any track is due.
    public var nextDeadline: ContinuousClock.Instant {
        start + .nanoseconds(tracks.indices.map(sendTime).min() ?? 0)
    }

    /// Send time of track `index`'s next frame (ns after `start`).
    private func sendTime(_ index: Int) -> Int64 { offset + tracks[index].linear(period: period) }

    /// Appends every packet due by `now` to `out`, tracks interleaved in time order. Frames more
    /// than a second late are skipped (their sequence numbers too, as lost packets would be).
    public mutating func packets(dueBy now: ContinuousClock.Instant, into out: inout [Output]) {
        let elapsed = MediaTime.nanos(now - start)
        while true {
            var earliest: Int?
            for index in tracks.indices where sendTime(index) <= elapsed {
                if earliest.map({ sendTime(index) < sendTime($0) }) ?? true { earliest = index }
            }
            guard let index = earliest else { return }
            emitFrame(track: index, skip: elapsed - sendTime(index) > Self.maximumLag, into: &out)
        }
    }

    private mutating func emitFrame(track index: Int, skip: Bool, into out: inout [Output]) {
        let time = sendTime(index)
        var state = tracks[index]
        let frame = state.setup.track.frames[state.slots[state.slot].frame]
        if skip {
            state.sequenceNumber &+= UInt16(truncatingIfNeeded: frame.packets.count)
            framesSkipped += 1
        } else {
            let timestamp = state.timestampBase &+ UInt32(truncatingIfNeeded: MediaTime.ticks(nanos: time, rate: state.setup.track.clockRate))
            for packet in frame.packets {
                let bytes = RTPPacketBuilder(marker: packet.marker, payloadType: state.setup.payloadType,
                                             sequenceNumber: state.sequenceNumber, timestamp: timestamp,
                                             ssrc: state.setup.ssrc, payload: packet.payload).serialize()
                state.sequenceNumber &+= 1
                state.packetCount &+= 1
                state.octetCount &+= UInt32(truncatingIfNeeded: packet.payload.count)
                out.append(Output(track: index, packet: bytes))
            }
        }
        state.slot += 1
        if state.slot == state.slots.count {
            state.slot = 0
            state.loop += 1
        }
        tracks[index] = state
    }

    /// A subscriber asked track `index` for a keyframe (PLI/FIR). Returns true when playback
    /// jumped; false when the next frame is a keyframe already or the track is audio.
    @discardableResult
    public mutating func requestKeyframe(track index: Int) -> Bool {
        guard tracks.indices.contains(index), tracks[index].setup.track.codec.kind == "video" else { return false }
        let state = tracks[index]
        guard !state.slots[state.slot].isKeyframe else { return false }
        var slot = state.slot, loop = state.loop
        repeat {
            slot += 1
            if slot == state.slots.count { slot = 0; loop += 1 }
        } while !state.slots[slot].isKeyframe
        let jump = loop * period + state.slots[slot].position - state.linear(period: period)
        for other in tracks.indices { seek(track: other, toLinear: tracks[other].linear(period: period) + jump) }
        offset -= jump
        keyframeRestarts += 1
        return true
    }

    /// Moves a track's cursor to its first frame at or after `target` on the endless timeline.
    private mutating func seek(track index: Int, toLinear target: Int64) {
        var loop = target / period
        let position = target - loop * period
        var slot = tracks[index].slots.firstIndex { $0.position >= position }
        if slot == nil {
            loop += 1
            slot = 0
        }
        tracks[index].loop = loop
        tracks[index].slot = slot ?? 0
    }

    // MARK: Sender Reports

    /// What track `index`'s Sender Report says at `now`: the RTP timestamp of that instant on
    /// the output clock, and the packets and payload octets sent so far.
    public func senderReport(track index: Int, at now: ContinuousClock.Instant)
        -> (rtpTimestamp: UInt32, packetCount: UInt32, octetCount: UInt32)
    {
        let state = tracks[index]
        let ticks = MediaTime.ticks(nanos: MediaTime.nanos(now - start), rate: state.setup.track.clockRate)
        return (state.timestampBase &+ UInt32(truncatingIfNeeded: ticks), state.packetCount, state.octetCount)
    }
}

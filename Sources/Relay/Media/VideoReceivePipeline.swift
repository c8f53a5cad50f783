/// One guest's video from RTP to the sink: jitter buffer → depacketizer → H.264 passthrough
/// (browser H.264, exact) or decode + x264 (VP8, or `video.mode: transcode`) → MediaSink.
/// Sans-IO: packets and time in; sink calls, NACK lists, keyframe requests and a deadline out.
/// Runs on the guest's media thread; owns its codecs.
public final class VideoReceivePipeline {
    public enum InputCodec: Sendable, Equatable { case h264, vp8 }

    public struct Stats: Sendable, Equatable {
        public var framesOut = 0
        public var keyframesOut = 0
        public var sequenceHeaders = 0
        public var transcodeErrors = 0
        public var depacketizer = DepacketizerStats()
        public var jitter = JitterBuffer.Stats()
        /// How long packets waited in the jitter buffer lately (a moving average), in milliseconds.
        public var jitterBufferDelayMilliseconds: Double = 0
    }

    public let inputCodec: InputCodec
    public private(set) var stats = Stats()
    /// The guest's common A/V timeline; nil stamps pictures by their own RTP clock from 0.
    public var timeline: SharedMediaTimeline?
    public private(set) var stream: H264StreamInfo?

    private var jitterBuffer: JitterBuffer
    private var h264 = H264Depacketizer()
    private var vp8 = VP8Depacketizer()
    private var passthrough = H264Passthrough()
    private let transcoder: VideoTranscoder?
    private var clock = RTPTimestampUnwrapper()
    private var keyframeWanted = true

    /// - Parameter transcoder: nil for H.264 passthrough; required for VP8.
    public init(inputCodec: InputCodec, transcoder: VideoTranscoder?, jitter: JitterBuffer.Configuration = .init(),
                now: ContinuousClock.Instant) {
        precondition(inputCodec == .h264 || transcoder != nil, "VP8 needs a transcoder to become H.264")
        self.inputCodec = inputCodec
        self.transcoder = transcoder
        jitterBuffer = JitterBuffer(configuration: jitter, now: now)
    }

    public var roundTripTime: Duration {
        get { jitterBuffer.roundTripTime }
        set { jitterBuffer.roundTripTime = newValue }
    }

    /// Buffers one RTP packet (sequence already extended).
    public func receive(payload: UnsafeRawBufferPointer, sequence: UInt64, timestamp: UInt32, marker: Bool,
                        arrival: ContinuousClock.Instant) {
        _ = jitterBuffer.insert(payload: payload, sequence: sequence, timestamp: timestamp, marker: marker, arrival: arrival)
    }

    public func receive(payload: [UInt8], sequence: UInt64, timestamp: UInt32, marker: Bool, arrival: ContinuousClock.Instant) {
        payload.withUnsafeBytes { receive(payload: $0, sequence: sequence, timestamp: timestamp, marker: marker, arrival: arrival) }
    }

    /// Moves everything that may leave at `now` through to the sink.
    public func process(now: ContinuousClock.Instant, into sink: MediaSink) {
        jitterBuffer.drain(now: now) { packet in
            DelayAverage.add(now - packet.arrival, to: &stats.jitterBufferDelayMilliseconds)
            switch inputCodec {
            case .h264:
                if let unit = h264.push(payload: packet.payload, timestamp: packet.timestamp, sequence: packet.sequence,
                                        marker: packet.marker) {
                    deliver(unit, now: now, into: sink)
                }
            case .vp8:
                if let frame = vp8.push(payload: packet.payload, timestamp: packet.timestamp, sequence: packet.sequence,
                                        marker: packet.marker) {
                    transcode { try $0.transcode(frame) }.forEach { deliver($0, now: now, into: sink) }
                }
            }
        }
        stats.jitter = jitterBuffer.stats
        stats.depacketizer = inputCodec == .h264 ? h264.stats : vp8.stats
    }

    /// Bytes held between the network and the sink: packets waiting in the jitter buffer and
    /// the picture being assembled.
    public var bufferedBytes: Int {
        jitterBuffer.bufferedBytes + (inputCodec == .h264 ? h264.bufferedBytes : vp8.bufferedBytes)
    }

    /// When `process` must run again even without new packets (a hole's wait ending).
    public var nextDeadline: ContinuousClock.Instant? { jitterBuffer.nextDeadline() }

    /// Sequence numbers to NACK now.
    public func nackList(now: ContinuousClock.Instant) -> [UInt64] { jitterBuffer.nackList(now: now) }

    /// True when the sender should be asked for a keyframe (PLI): at start, after loss the
    /// depacketizer could not repair, after a decode error. Clears the request.
    public func takeKeyframeRequest() -> Bool {
        var wanted = keyframeWanted
        keyframeWanted = false
        switch inputCodec {
        case .h264: wanted = h264.takeKeyframeRequest() || wanted
        case .vp8: wanted = vp8.takeKeyframeRequest() || wanted
        }
        if let transcoder, transcoder.takeSourceKeyframeRequest() { wanted = true }
        return wanted
    }

    /// The output needs a keyframe (e.g. the RTMP server reconnected): ask the source, and
    /// the encoder too when transcoding.
    public func requestKeyframe() {
        keyframeWanted = true
        transcoder?.requestKeyframe()
    }

    private func transcode(_ work: (VideoTranscoder) throws -> [H264AccessUnit]) -> [H264AccessUnit] {
        guard let transcoder else { return [] }
        do {
            return try work(transcoder)
        } catch {
            stats.transcodeErrors += 1
            keyframeWanted = true
            return []
        }
    }

    private func deliver(_ unit: H264AccessUnit, now: ContinuousClock.Instant, into sink: MediaSink) {
        let units = inputCodec == .h264 && transcoder != nil ? transcode { try $0.transcode(unit) } : [unit]
        for unit in units {
            guard let output = passthrough.push(unit) else { continue }
            if let header = output.sequenceHeader {
                sink.videoConfiguration(header, stream: output.stream)
                stats.sequenceHeaders += 1
            }
            stream = output.stream
            // On the guest's A/V timeline, or 90 kHz RTP ticks since the first picture → milliseconds.
            let milliseconds = timeline?.milliseconds(.video, rtpTimestamp: output.unit.rtpTimestamp, now: now)
                ?? clock.unwrap(output.unit.rtpTimestamp) / 90
            sink.video(output.unit, milliseconds: milliseconds)
            stats.framesOut += 1
            if output.unit.isKeyframe { stats.keyframesOut += 1 }
        }
    }
}

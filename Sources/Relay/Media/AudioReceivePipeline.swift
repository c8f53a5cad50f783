/// One guest's audio from RTP to the sink: jitter buffer → Opus decode (PLC/FEC) → AAC-LC →
/// MediaSink. Sans-IO like the video pipeline; runs on the guest's media thread.
public final class AudioReceivePipeline {
    public struct Stats: Sendable, Equatable {
        public var framesOut = 0
        public var encodeErrors = 0
        public var jitter = JitterBuffer.Stats()
        /// How long packets waited in the jitter buffer lately (a moving average), in milliseconds.
        public var jitterBufferDelayMilliseconds: Double = 0
    }

    public private(set) var stats = Stats()
    /// The guest's common A/V timeline; nil stamps frames by their own sample count from 0.
    public var timeline: SharedMediaTimeline?
    private var jitterBuffer: JitterBuffer
    private var lastNow: ContinuousClock.Instant
    private let transcoder: AudioTranscoder
    private var configurationSent = false

    public init(transcoder: AudioTranscoder, jitter: JitterBuffer.Configuration = .init(), now: ContinuousClock.Instant) {
        var configuration = jitter
        configuration.clockRate = 48000
        self.transcoder = transcoder
        jitterBuffer = JitterBuffer(configuration: configuration, now: now)
        lastNow = now
    }

    public var transcoderStats: AudioTranscoder.Stats { transcoder.stats }

    public var roundTripTime: Duration {
        get { jitterBuffer.roundTripTime }
        set { jitterBuffer.roundTripTime = newValue }
    }

    public func receive(payload: UnsafeRawBufferPointer, sequence: UInt64, timestamp: UInt32, arrival: ContinuousClock.Instant) {
        _ = jitterBuffer.insert(payload: payload, sequence: sequence, timestamp: timestamp, marker: false, arrival: arrival)
    }

    public func receive(payload: [UInt8], sequence: UInt64, timestamp: UInt32, arrival: ContinuousClock.Instant) {
        payload.withUnsafeBytes { receive(payload: $0, sequence: sequence, timestamp: timestamp, arrival: arrival) }
    }

    public func process(now: ContinuousClock.Instant, into sink: MediaSink) {
        lastNow = now
        jitterBuffer.drain(now: now) { packet in
            DelayAverage.add(now - packet.arrival, to: &stats.jitterBufferDelayMilliseconds)
            let frames: [AACFrame]
            do {
                frames = try transcoder.push(payload: packet.payload, rtpTimestamp: packet.timestamp, sequence: packet.sequence)
            } catch {
                stats.encodeErrors += 1
                return
            }
            deliver(frames, into: sink)
        }
        stats.jitter = jitterBuffer.stats
    }

    /// Flushes the encoder at the end of the stream.
    public func finish(into sink: MediaSink) {
        if let frames = try? transcoder.finish() { deliver(frames, into: sink) }
    }

    public var nextDeadline: ContinuousClock.Instant? { jitterBuffer.nextDeadline() }
    /// Bytes of the packets waiting in the jitter buffer.
    public var bufferedBytes: Int { jitterBuffer.bufferedBytes }
    public func nackList(now: ContinuousClock.Instant) -> [UInt64] { jitterBuffer.nackList(now: now) }

    private func deliver(_ frames: [AACFrame], into sink: MediaSink) {
        guard !frames.isEmpty else { return }
        if !configurationSent {
            sink.audioConfiguration(transcoder.audioSpecificConfig)
            configurationSent = true
        }
        for frame in frames {
            if let timeline, let rtp = transcoder.rtpTimestamp(atOutputPosition: frame.pts) {
                // The frame's first sample is the input sample at its pts: its RTP time places it.
                sink.audio(frame.data, milliseconds: timeline.milliseconds(.audio, rtpTimestamp: rtp, now: lastNow))
            } else {
                // The encoder's priming frame sits at -encoderDelay; FLV has no negative time, so
                // the whole audio timeline moves by the delay (the first frame lands on 0).
                let samples = frame.pts + Int64(transcoder.encoderDelay)
                sink.audio(frame.data, milliseconds: samples * 1000 / Int64(frame.sampleRate))
            }
            stats.framesOut += 1
        }
    }
}

import Foundation

/// Opus RTP payloads in, AAC-LC frames with exact sample timestamps out.
///
/// Input is one Opus packet per RTP packet, in sequence order (what a jitter buffer releases),
/// with its 32-bit RTP timestamp (48 kHz clock) and extended sequence number. The RTP
/// timestamps alone decide the output timeline, so it stays continuous whatever arrives:
/// - a sequence gap (lost packets) is filled by concealment, or recovered with in-band FEC when
///   the packet after the gap carries it;
/// - a timestamp jump without a sequence gap (DTX: the sender stopped sending in silence) is
///   filled by concealment, which libopus turns into comfort noise fading to silence;
/// - a corrupt packet is counted and its time filled like a lost one when the next packet comes;
/// - a packet reaching back into time already written has that part dropped.
/// Concealment longer than `concealmentLimit` continues as digital silence, and a jump beyond
/// `maximumGap` (a sender restart, a bogus timestamp) moves the anchor instead of filling hours.
///
/// Output sample 0 is the first packet's RTP timestamp (`firstRTPTimestamp`); `pts` of a frame is
/// its presentation time on that timeline, so the encoder's priming frame comes first with
/// pts −`encoderDelay` (−1024). A muxer that cannot write negative times shifts the whole
/// output, video included, by `encoderDelay` rather than clamping the audio alone.
///
/// No I/O, clocks or threads: the caller drives it. Not thread-safe; one owner at a time.
public final class AudioTranscoder {
    public struct Configuration: Sendable, Equatable {
        /// AAC bitrate in bit/s.
        public var bitrate: Int = 128_000
        /// Samples per channel of decoder concealment at most per gap; silence after that.
        public var concealmentLimit: Int = 9600
        /// A timestamp jump larger than this (either way, in samples) re-anchors the timeline
        /// instead of being filled. 10 s at 48 kHz.
        public var maximumGap: Int = 480_000

        public init(bitrate: Int = 128_000, concealmentLimit: Int = 9600, maximumGap: Int = 480_000) {
            self.bitrate = bitrate
            self.concealmentLimit = concealmentLimit
            self.maximumGap = maximumGap
        }
    }

    public struct Stats: Sendable, Equatable {
        /// Packets pushed.
        public var packets = 0
        /// Packets decoded into the output.
        public var decodedPackets = 0
        /// Missing sequence numbers (lost in the network or given up by the jitter buffer).
        public var lostPackets = 0
        /// Packets that failed to parse or decode; their time was concealed.
        public var corruptPackets = 0
        /// Packets older than one already pushed (the input should be in order): ignored.
        public var outOfOrderPackets = 0
        /// Lost frames recovered from the next packet's in-band FEC.
        public var fecRecoveredFrames = 0
        /// Timestamp gaps with no sequence gap (DTX).
        public var dtxGaps = 0
        /// Samples per channel produced by decoder concealment (PLC).
        public var concealedSamples = 0
        /// Samples per channel filled with digital silence (concealment past its limit, or
        /// concealment the decoder refused).
        public var silenceSamples = 0
        /// Samples per channel dropped because a packet overlapped time already written.
        public var overlappingSamples = 0
        /// Timestamp jumps beyond `maximumGap` that re-anchored the timeline.
        public var discontinuities = 0
        /// AAC frames produced.
        public var outputFrames = 0
        /// Loudness of the last ~100 ms sent to the encoder, RMS in dBFS (−100 for silence):
        /// the operator page's audio meter.
        public var levelDBFS: Double = -100
    }

    public let configuration: Configuration
    public private(set) var stats = Stats()
    /// The first packet's RTP timestamp: output sample 0. Nil before the first packet.
    public private(set) var firstRTPTimestamp: UInt32?
    /// Samples per channel written to the encoder so far (the next output sample's position).
    public private(set) var samplesWritten: Int64 = 0

    public var sampleRate: Int { encoder.sampleRate }
    public var channels: Int { encoder.channels }
    /// Priming samples the encoder puts first (the first frame's pts is −encoderDelay).
    public var encoderDelay: Int { encoder.encoderDelay }
    /// The AudioSpecificConfig for the FLV AAC sequence header (0x11 0x90 for 48 kHz stereo).
    public var audioSpecificConfig: [UInt8] { encoder.decoderConfiguration }

    private let decoder: any AudioDecoder
    private let encoder: any AudioEncoder
    /// Decoder output, big enough for the longest packet; allocated once.
    private let scratch: UnsafeMutableBufferPointer<Float>
    private var levelSquares: Double = 0
    private var levelSamples = 0
    /// Extended RTP timestamp of output sample 0 (moves only at a discontinuity).
    private var anchor: Int64 = 0
    private var expectedSequence: UInt64 = 0
    private var finished = false
    /// The last packet pushed could not be decoded, so its time is still to be filled.
    private var previousPacketBroken = false

    /// Opus (2-channel output) → libavcodec AAC-LC at 48 kHz stereo.
    public convenience init(configuration: Configuration = Configuration()) throws(AudioCodecError) {
        try self.init(
            configuration: configuration,
            decoder: OpusAudioDecoder(channels: 2),
            encoder: AACEncoder(configuration: .init(bitrate: configuration.bitrate)))
    }

    /// Any decoder and encoder that agree on rate and channel count.
    public init(configuration: Configuration, decoder: any AudioDecoder, encoder: any AudioEncoder) throws(AudioCodecError) {
        guard decoder.sampleRate == encoder.sampleRate, decoder.channels == encoder.channels else {
            throw AudioCodecError(
                .setupFailed,
                "audio transcoder: decoder gives \(decoder.sampleRate) Hz × \(decoder.channels) ch but the encoder takes \(encoder.sampleRate) Hz × \(encoder.channels) ch")
        }
        self.configuration = configuration
        self.decoder = decoder
        self.encoder = encoder
        scratch = .allocate(capacity: decoder.maximumPacketSamples * decoder.channels)
        scratch.initialize(repeating: 0)
    }

    deinit { scratch.deallocate() }

    /// The output position of an RTP timestamp (for the A/V clock), in samples; nil before the
    /// first packet. Valid near the current position (the 32-bit timestamp is unwrapped there).
    public func outputPosition(ofRTPTimestamp timestamp: UInt32) -> Int64? {
        guard firstRTPTimestamp != nil else { return nil }
        return extend(timestamp) - anchor
    }

    /// The RTP timestamp at an output position (a frame's `pts`), to look it up in the track's
    /// Sender Report mapping; nil before the first packet.
    public func rtpTimestamp(atOutputPosition position: Int64) -> UInt32? {
        guard firstRTPTimestamp != nil else { return nil }
        return UInt32(truncatingIfNeeded: anchor &+ position)
    }

    public func push(payload: [UInt8], rtpTimestamp: UInt32, sequence: UInt64) throws(AudioCodecError) -> [AACFrame] {
        // withUnsafeBytes cannot forward a typed throw; carry the error out as a value.
        let result: Result<[AACFrame], AudioCodecError> = payload.withUnsafeBytes { bytes in
            do throws(AudioCodecError) {
                return .success(try push(payload: bytes, rtpTimestamp: rtpTimestamp, sequence: sequence))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// Pushes the next packet. Throws only when the encoder fails (input errors are counted).
    public func push(payload: UnsafeRawBufferPointer, rtpTimestamp: UInt32, sequence: UInt64) throws(AudioCodecError) -> [AACFrame] {
        guard !finished else { throw AudioCodecError(.encodeFailed, "audio transcoder: packet pushed after finish()") }
        stats.packets += 1
        if firstRTPTimestamp == nil {
            firstRTPTimestamp = rtpTimestamp
            anchor = Int64(rtpTimestamp)
            expectedSequence = sequence
        }
        guard sequence >= expectedSequence else {
            stats.outOfOrderPackets += 1
            return []
        }
        let lost = sequence - expectedSequence
        stats.lostPackets += Int(min(lost, UInt64(Int32.max)))  // a wild jump must not overflow the counter
        expectedSequence = sequence &+ 1

        var gap = extend(rtpTimestamp) - anchor - samplesWritten
        if abs(gap) > Int64(configuration.maximumGap) {
            anchor += gap
            gap = 0
            stats.discontinuities += 1
        }
        var output: [AACFrame] = []
        guard decoder.sampleCount(of: payload) != nil else {
            stats.corruptPackets += 1
            previousPacketBroken = true
            return output
        }
        if gap > 0 {
            let missing = Int(gap)
            if lost > 0 || previousPacketBroken {
                let recoverable = decoder.recoverableSamples(before: payload)
                if recoverable > 0, recoverable <= missing {
                    try fill(missing - recoverable, into: &output)
                    try recover(recoverable, from: payload, into: &output)
                } else {
                    try fill(missing, into: &output)
                }
            } else {
                stats.dtxGaps += 1
                try fill(missing, into: &output)
            }
        }
        let decoded: Int
        do {
            decoded = try decoder.decode(payload, into: scratch)
        } catch {
            stats.corruptPackets += 1
            previousPacketBroken = true
            return output
        }
        previousPacketBroken = false
        stats.decodedPackets += 1
        let overlap = gap < 0 ? min(decoded, Int(-gap)) : 0
        stats.overlappingSamples += overlap
        try write(from: overlap, to: decoded, into: &output)
        return output
    }

    /// Encodes what is buffered and drains the encoder. Call once at the end of the stream.
    public func finish() throws(AudioCodecError) -> [AACFrame] {
        guard !finished else { return [] }
        finished = true
        let frames = try encoder.flush()
        stats.outputFrames += frames.count
        return frames
    }

    /// Unwraps a 32-bit RTP timestamp next to the current position.
    private func extend(_ timestamp: UInt32) -> Int64 {
        let expected = anchor + samplesWritten
        let delta = Int32(bitPattern: timestamp &- UInt32(truncatingIfNeeded: expected))
        return expected + Int64(delta)
    }

    /// Fills `samples` of missing time: decoder concealment up to the limit, then silence.
    private func fill(_ samples: Int, into output: inout [AACFrame]) throws(AudioCodecError) {
        let step = 120  // libopus conceals in multiples of 2.5 ms
        let chunkLimit = decoder.maximumPacketSamples / step * step
        var concealable = min(samples, configuration.concealmentLimit) / step * step
        var silence = samples - concealable
        while concealable > 0 {
            let chunk = min(concealable, chunkLimit)
            concealable -= chunk
            do {
                let produced = try decoder.conceal(samples: chunk, into: scratch)
                stats.concealedSamples += produced
                silence += chunk - produced
                try write(from: 0, to: produced, into: &output)
            } catch {
                silence += chunk
            }
        }
        if silence > 0 { try writeSilence(silence, into: &output) }
    }

    private func recover(_ samples: Int, from payload: UnsafeRawBufferPointer, into output: inout [AACFrame]) throws(AudioCodecError) {
        do {
            let produced = try decoder.recover(samples: samples, from: payload, into: scratch)
            stats.fecRecoveredFrames += 1
            try write(from: 0, to: produced, into: &output)
            if produced < samples { try fill(samples - produced, into: &output) }
        } catch {
            try fill(samples, into: &output)
        }
    }

    private func writeSilence(_ samples: Int, into output: inout [AACFrame]) throws(AudioCodecError) {
        stats.silenceSamples += samples
        let chunkLimit = decoder.maximumPacketSamples
        var remaining = samples
        while remaining > 0 {
            let chunk = min(remaining, chunkLimit)
            remaining -= chunk
            UnsafeMutableBufferPointer(rebasing: scratch[0..<(chunk * channels)]).update(repeating: 0)
            try write(from: 0, to: chunk, into: &output)
        }
    }

    /// Encodes scratch samples [first, end) (per channel) and advances the timeline.
    private func write(from first: Int, to end: Int, into output: inout [AACFrame]) throws(AudioCodecError) {
        guard end > first else { return }
        let slice = UnsafeBufferPointer(rebasing: scratch[(first * channels)..<(end * channels)])
        measureLevel(slice)
        let frames = try encoder.encode(interleaved: slice)
        samplesWritten += Int64(end - first)
        stats.outputFrames += frames.count
        output.append(contentsOf: frames)
    }

    /// Accumulates the squares of the samples and publishes the RMS every 100 ms of audio. A
    /// multiply-add per sample: nothing next to the AAC encoder's cost.
    private func measureLevel(_ samples: UnsafeBufferPointer<Float>) {
        for sample in samples { levelSquares += Double(sample * sample) }
        levelSamples += samples.count
        guard levelSamples >= sampleRate * channels / 10 else { return }
        let rms = (levelSquares / Double(levelSamples)).squareRoot()
        stats.levelDBFS = rms > 0.00001 ? max(-100, 20 * log10(rms)) : -100
        levelSquares = 0
        levelSamples = 0
    }
}

/// The seams of the audio path: a decoder turns one compressed packet into interleaved PCM, an
/// encoder turns PCM into compressed frames. libopus and libavcodec's AAC encoder implement
/// them today; another codec or a hardware encoder can plug in behind the same shapes.
///
/// Both work on caller-owned buffers so the per-packet path does not allocate.

/// Why an audio codec call failed, with what to check.
public struct AudioCodecError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The codec library could not be set up (missing encoder, bad parameters).
        case setupFailed
        /// A packet could not be decoded (corrupt or truncated input from outside).
        case invalidPacket
        /// The output buffer is smaller than the packet decodes to.
        case bufferTooSmall
        /// The encoder refused input or failed to produce output.
        case encodeFailed
    }

    public var kind: Kind
    /// The library's own error code (libopus OPUS_*, FFmpeg AVERROR), 0 when there is none.
    public var code: Int32
    public var description: String

    public init(_ kind: Kind, code: Int32 = 0, _ description: String) {
        self.kind = kind
        self.code = code
        self.description = description
    }
}

/// Decodes compressed audio packets to interleaved Float PCM at a fixed rate and channel count.
/// A class because it owns codec state (a packet's meaning depends on the ones before it).
public protocol AudioDecoder: AnyObject {
    /// Output sample rate in Hz.
    var sampleRate: Int { get }
    /// Interleaved output channels (a mono stream is upmixed when this is 2).
    var channels: Int { get }
    /// The most samples per channel one packet can decode to; size output buffers with it.
    var maximumPacketSamples: Int { get }

    /// Samples per channel the packet will decode to, or nil when its header is malformed.
    func sampleCount(of packet: UnsafeRawBufferPointer) -> Int?
    /// Decodes one packet into `output` (interleaved), returning samples per channel written.
    func decode(_ packet: UnsafeRawBufferPointer, into output: UnsafeMutableBufferPointer<Float>) throws(AudioCodecError) -> Int
    /// Produces `samples` per channel of concealment for audio that never arrived.
    func conceal(samples: Int, into output: UnsafeMutableBufferPointer<Float>) throws(AudioCodecError) -> Int
    /// How many samples per channel just before `packet` it can recover from the redundant copy
    /// it carries (in-band FEC); 0 when it carries none.
    func recoverableSamples(before packet: UnsafeRawBufferPointer) -> Int
    /// Recovers the `samples` just before `packet` (as many as `recoverableSamples(before:)`
    /// said) from the redundancy it carries; the packet itself must still be decoded afterwards.
    func recover(samples: Int, from packet: UnsafeRawBufferPointer, into output: UnsafeMutableBufferPointer<Float>) throws(AudioCodecError) -> Int
    /// Forgets all state (after a stream restart).
    func reset()
}

/// One compressed audio frame leaving an encoder.
public struct EncodedAudioFrame: Sendable, Equatable {
    public var data: [UInt8]
    /// Presentation time in samples, on the encoder's input timeline (input sample 0 = 0). The
    /// encoder's priming frame(s) come out first with a negative pts (−encoderDelay).
    public var pts: Int64
    /// Samples per channel the frame decodes to.
    public var duration: Int
    /// The clock `pts` and `duration` count in (Hz).
    public var sampleRate: Int

    public init(data: [UInt8], pts: Int64, duration: Int, sampleRate: Int) {
        self.data = data
        self.pts = pts
        self.duration = duration
        self.sampleRate = sampleRate
    }

    /// `pts` in milliseconds, rounded to the nearest (each frame on its own, so no drift builds up).
    public var ptsMilliseconds: Int64 {
        let scaled = pts * 1000
        let half = Int64(sampleRate / 2)
        return scaled >= 0 ? (scaled + half) / Int64(sampleRate) : -((-scaled + half) / Int64(sampleRate))
    }
}

/// An AAC-LC access unit (raw, no ADTS header) as the audio transcoder hands it to a muxer.
public typealias AACFrame = EncodedAudioFrame

/// Encodes interleaved Float PCM into compressed frames of a fixed size.
public protocol AudioEncoder: AnyObject {
    var sampleRate: Int { get }
    var channels: Int { get }
    /// Samples per channel in each frame (1024 for AAC-LC).
    var frameSize: Int { get }
    /// Samples of priming the encoder puts before the input (its first frame's pts is −this).
    var encoderDelay: Int { get }
    /// The decoder configuration a container needs (AAC: the AudioSpecificConfig).
    var decoderConfiguration: [UInt8] { get }

    /// Buffers interleaved samples and returns every frame that became complete.
    func encode(interleaved samples: UnsafeBufferPointer<Float>) throws(AudioCodecError) -> [EncodedAudioFrame]
    /// Encodes what is buffered (a short last frame) and drains the encoder. Call once at the end.
    func flush() throws(AudioCodecError) -> [EncodedAudioFrame]
}

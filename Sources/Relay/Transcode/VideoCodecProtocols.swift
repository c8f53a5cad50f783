/// The compressed video codecs the relay receives from browsers.
public enum VideoCodec: String, Sendable, Equatable {
    case vp8
    case h264
}

/// One compressed frame for a decoder.
public enum CompressedVideoFrame: Sendable {
    case vp8(VP8Frame)
    /// AVCC access unit; a decoder that needs Annex-B converts it. SPS/PPS from the unit's
    /// `sps`/`pps` are supplied in front of a keyframe that does not carry them in-band.
    case h264(H264AccessUnit)

    public var isKeyframe: Bool {
        switch self {
        case .vp8(let frame): frame.isKeyframe
        case .h264(let unit): unit.isKeyframe
        }
    }
}

/// What one `decode` call did. Bad input is counted here, never thrown.
public struct VideoDecodeStatus: Sendable, Equatable {
    /// Pictures delivered to the callback.
    public var pictures: Int = 0
    /// The decoder rejected the data (corrupt, truncated, inter frame without a reference…):
    /// ask the sender for a keyframe.
    public var failed: Bool = false
    /// The picture size differs from the previous picture's.
    public var sizeChanged: Bool = false

    public init(pictures: Int = 0, failed: Bool = false, sizeChanged: Bool = false) {
        self.pictures = pictures
        self.failed = failed
        self.sizeChanged = sizeChanged
    }
}

public struct VideoDecoderStats: Sendable, Equatable {
    public var framesIn = 0
    public var picturesOut = 0
    /// Frames the decoder refused (send or receive failed).
    public var errors = 0
    public var sizeChanges = 0
    /// The decoder's own words for the last error, for logs.
    public var lastError: String?

    public init() {}
}

/// Compressed frame → decoded pictures. Software (libavcodec) today; a hardware decoder can
/// implement the same shape.
public protocol VideoDecoder: AnyObject {
    var codec: VideoCodec { get }
    var stats: VideoDecoderStats { get }

    /// Decodes one frame stamped `pts` (90 kHz, unwrapped) and calls `body` for each picture
    /// that comes out (usually one; none while a decoder is still filling its delay). The
    /// picture borrows the decoder's memory and is valid only inside `body`. Corrupt input is
    /// counted in `stats` and reported in the status; only `body`'s own errors are thrown.
    @discardableResult
    func decode(_ frame: CompressedVideoFrame, pts: Int64, _ body: (DecodedPicture) throws -> Void) rethrows -> VideoDecodeStatus

    /// Drains pictures the decoder still holds (end of stream) and makes it ready for a new stream.
    @discardableResult
    func flush(_ body: (DecodedPicture) throws -> Void) rethrows -> VideoDecodeStatus
}

/// Raised when an encoder cannot be set up or refuses a picture: a configuration or
/// resource problem, not bad input from a guest.
public struct VideoEncoderError: Error, Sendable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) { self.description = description }
}

/// Decoded picture → H.264 access units (AVCC, 4-byte lengths, `sps`/`pps` filled in,
/// `parameterSetsChanged` on the first unit after the encoder (re)opened with new parameter
/// sets). `rtpTimestamp` of an output unit is the low 32 bits of the picture's `pts` (90 kHz);
/// there are no B-frames, so decode order equals presentation order (dts == pts).
/// x264 today; an RK3588 MPP encoder can implement the same shape.
public protocol VideoEncoder: AnyObject {
    /// Encodes one picture. A picture whose size differs from the previous one re-opens the
    /// encoder (new SPS/PPS). Returns the units that are ready (zero or more).
    func encode(_ picture: DecodedPicture) throws -> [H264AccessUnit]

    /// The next picture passed to `encode` becomes an IDR frame.
    func requestKeyframe()

    /// Returns the frames the encoder still holds (end of stream).
    func flush() throws -> [H264AccessUnit]

    /// The parameter sets in force (nil before the first picture opened the encoder).
    var parameterSets: (sps: [UInt8], pps: [UInt8])? { get }
}

/// The layout of a decoded picture's planes.
public enum VideoPixelFormat: Sendable, Equatable {
    /// 8-bit 4:2:0 planar, limited range (Y, U, V planes): what x264 and most encoders take.
    case i420
    /// 8-bit 4:2:0, Y plane + interleaved UV plane (what hardware decoders such as RK3588 MPP give).
    case nv12
    /// Any other layout, as an FFmpeg `AVPixelFormat` value (e.g. full-range yuvj420p from an
    /// H.264 decoder); FrameScaler converts it to I420.
    case ffmpeg(Int32)
}

public struct VideoSize: Sendable, Equatable, CustomStringConvertible {
    public var width: Int
    public var height: Int

    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }

    public var description: String { "\(width)x\(height)" }

    /// The output size for `relay.video.width/height`: both set → that size; one set → the other
    /// follows the input's aspect ratio (rounded to an even number, as 4:2:0 needs); none → the
    /// input size.
    public static func target(input: VideoSize, width: Int?, height: Int?) -> VideoSize {
        func even(_ value: Double) -> Int { max(2, Int((value / 2).rounded()) * 2) }
        switch (width, height) {
        case let (width?, height?):
            return VideoSize(width: width, height: height)
        case let (width?, nil):
            return VideoSize(width: width, height: even(Double(width) * Double(input.height) / Double(max(1, input.width))))
        case let (nil, height?):
            return VideoSize(width: even(Double(height) * Double(input.width) / Double(max(1, input.height))), height: height)
        case (nil, nil):
            return input
        }
    }
}

/// One plane of a picture: a pointer to its first row and the distance between rows in bytes.
public struct VideoPlane {
    public var base: UnsafePointer<UInt8>?
    public var stride: Int

    public init(base: UnsafePointer<UInt8>?, stride: Int) {
        self.base = base
        self.stride = stride
    }
}

/// A decoded picture that borrows its pixels instead of copying them.
///
/// Lifetime: the planes belong to whoever produced the picture — the decoder's frame
/// (AVVideoDecoder: valid only inside the `decode` callback that delivered it), the scaler's
/// output buffer (FrameScaler: valid until its next `convert` call or its deinit) or an
/// `I420Buffer` (valid while `withPicture`'s closure runs). Use it, don't keep it: an encoder
/// copies what it needs before returning.
public struct DecodedPicture {
    public var size: VideoSize
    public var format: VideoPixelFormat
    /// Y, U, V for I420; Y, UV (and an unused third) for NV12; up to three planes otherwise.
    public var planes: (VideoPlane, VideoPlane, VideoPlane)
    /// Presentation time in 90 kHz ticks, extended to 64 bits (RTP timestamps unwrapped).
    public var pts: Int64
    /// The decoder marked this picture as a keyframe of the source stream.
    public var isSourceKeyframe: Bool

    public init(size: VideoSize, format: VideoPixelFormat, planes: (VideoPlane, VideoPlane, VideoPlane), pts: Int64, isSourceKeyframe: Bool = false) {
        self.size = size
        self.format = format
        self.planes = planes
        self.pts = pts
        self.isSourceKeyframe = isSourceKeyframe
    }
}

/// A tightly packed I420 picture in Swift memory, for tests and for sources that produce raw
/// pixels themselves.
public struct I420Buffer: Sendable, Equatable {
    public let size: VideoSize
    public var bytes: [UInt8]

    public init(size: VideoSize, fill: (y: UInt8, u: UInt8, v: UInt8) = (16, 128, 128)) {
        self.size = size
        let luma = size.width * size.height
        let chroma = ((size.width + 1) / 2) * ((size.height + 1) / 2)
        bytes = [UInt8](repeating: fill.y, count: luma) + [UInt8](repeating: fill.u, count: chroma)
            + [UInt8](repeating: fill.v, count: chroma)
    }

    /// Lends the pixels as a DecodedPicture for the duration of `body`.
    @discardableResult
    public func withPicture<R>(pts: Int64, _ body: (DecodedPicture) throws -> R) rethrows -> R {
        let luma = size.width * size.height
        let chromaWidth = (size.width + 1) / 2
        let chroma = chromaWidth * ((size.height + 1) / 2)
        return try bytes.withUnsafeBufferPointer { buffer in
            let base = buffer.baseAddress
            let picture = DecodedPicture(
                size: size, format: .i420,
                planes: (
                    VideoPlane(base: base, stride: size.width),
                    VideoPlane(base: base.map { $0 + luma }, stride: chromaWidth),
                    VideoPlane(base: base.map { $0 + luma + chroma }, stride: chromaWidth)
                ),
                pts: pts)
            return try body(picture)
        }
    }
}

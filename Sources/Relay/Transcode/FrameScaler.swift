import CAVCodec
import CAVUtil
import CSwScale

/// Converts decoded pictures to I420 at the output size with libswscale, only when needed: a
/// picture that is already I420 at the target size passes through untouched. Owns one
/// SwsContext (re-created when the input size or format changes) and one output frame.
public final class FrameScaler {
    /// nil width and height: keep each input's size; one set: the other follows the aspect ratio.
    public let fixedWidth: Int?
    public let fixedHeight: Int?
    /// How many times the SwsContext was (re)built: once per input size/format seen.
    public private(set) var contextsCreated = 0
    public private(set) var picturesConverted = 0

    private var context: OpaquePointer?
    private var contextKey: (input: VideoSize, format: Int32, output: VideoSize)?
    private let output: UnsafeMutablePointer<AVFrame>

    public init(width: Int? = nil, height: Int? = nil) throws {
        guard let output = av_frame_alloc() else { throw VideoEncoderError("out of memory allocating the scaler's frame") }
        fixedWidth = width.map { max(2, $0 & ~1) }
        fixedHeight = height.map { max(2, $0 & ~1) }
        self.output = output
    }

    deinit {
        sws_freeContext(context)
        var framePointer: UnsafeMutablePointer<AVFrame>? = output
        av_frame_free(&framePointer)
    }

    public func outputSize(for input: VideoSize) -> VideoSize {
        VideoSize.target(input: input, width: fixedWidth, height: fixedHeight)
    }

    /// True when `picture` must go through `convert` before an I420 encoder can take it.
    public func needsConversion(_ picture: DecodedPicture) -> Bool {
        picture.format != .i420 || outputSize(for: picture.size) != picture.size
    }

    /// The picture as I420 at the output size. Either `picture` itself, or a picture in the
    /// scaler's own buffer that stays valid until the next `convert` call.
    public func convert(_ picture: DecodedPicture) throws -> DecodedPicture {
        guard needsConversion(picture) else { return picture }
        let target = outputSize(for: picture.size)
        let sourceFormat: Int32
        switch picture.format {
        case .i420: sourceFormat = AV_PIX_FMT_YUV420P.rawValue
        case .nv12: sourceFormat = AV_PIX_FMT_NV12.rawValue
        case .ffmpeg(let raw): sourceFormat = raw
        }
        try prepare(input: picture.size, format: sourceFormat, output: target)
        let sources: [UnsafePointer<UInt8>?] = [picture.planes.0.base, picture.planes.1.base, picture.planes.2.base, nil]
        let sourceStrides: [Int32] = [Int32(picture.planes.0.stride), Int32(picture.planes.1.stride), Int32(picture.planes.2.stride), 0]
        var destinations: [UnsafeMutablePointer<UInt8>?] = [output.pointee.data.0, output.pointee.data.1, output.pointee.data.2, nil]
        let destinationStrides: [Int32] = [output.pointee.linesize.0, output.pointee.linesize.1, output.pointee.linesize.2, 0]
        let rows = sws_scale(context, sources, sourceStrides, 0, Int32(picture.size.height), &destinations, destinationStrides)
        guard rows > 0 else { throw VideoEncoderError("libswscale could not convert a \(picture.size) picture to \(target)") }
        picturesConverted += 1
        return DecodedPicture(
            size: target, format: .i420,
            planes: (
                VideoPlane(base: UnsafePointer(output.pointee.data.0), stride: Int(output.pointee.linesize.0)),
                VideoPlane(base: UnsafePointer(output.pointee.data.1), stride: Int(output.pointee.linesize.1)),
                VideoPlane(base: UnsafePointer(output.pointee.data.2), stride: Int(output.pointee.linesize.2))
            ),
            pts: picture.pts, isSourceKeyframe: picture.isSourceKeyframe)
    }

    private func prepare(input: VideoSize, format: Int32, output size: VideoSize) throws {
        if let key = contextKey, key.input == input, key.format == format, key.output == size, context != nil { return }
        sws_freeContext(context)
        context = nil
        contextKey = nil
        guard let created = sws_getContext(
            Int32(input.width), Int32(input.height), AVPixelFormat(rawValue: format),
            Int32(size.width), Int32(size.height), AV_PIX_FMT_YUV420P,
            SWS_BILINEAR, nil, nil, nil)
        else {
            throw VideoEncoderError("libswscale cannot convert \(input) pixel format \(format) to I420 \(size)")
        }
        context = created
        if output.pointee.width != Int32(size.width) || output.pointee.height != Int32(size.height) || output.pointee.data.0 == nil {
            av_frame_unref(output)
            output.pointee.width = Int32(size.width)
            output.pointee.height = Int32(size.height)
            output.pointee.format = AV_PIX_FMT_YUV420P.rawValue
            let status = av_frame_get_buffer(output, 32)
            guard status >= 0 else { throw VideoEncoderError("out of memory for a \(size) scaler buffer (\(status))") }
        }
        contextKey = (input, format, size)
        contextsCreated += 1
    }
}

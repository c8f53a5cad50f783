import CAVCodec
import CAVUtil

/// Still pictures as baseline JPEG, with libavcodec's MJPEG encoder (the operator page's
/// thumbnails). Owns one encoder context per picture size, one AVFrame and one AVPacket; none of
/// the pointers leave this file. Not thread-safe: one snapshot worker drives it.
public final class JPEGEncoder {
    private var context: UnsafeMutablePointer<AVCodecContext>?
    private var contextSize: VideoSize?
    private let frame: UnsafeMutablePointer<AVFrame>
    private let packet: UnsafeMutablePointer<AVPacket>
    /// libavcodec's quantiser scale, 2 (best) … 31 (worst); 5 keeps a 320-pixel-wide thumbnail
    /// around 10–20 KB.
    public let quality: Int32

    public init(quality: Int32 = 5) throws {
        FFmpegLog.quiet()
        guard let frame = av_frame_alloc() else { throw VideoEncoderError("out of memory allocating the JPEG encoder's frame") }
        guard let packet = av_packet_alloc() else {
            var framePointer: UnsafeMutablePointer<AVFrame>? = frame
            av_frame_free(&framePointer)
            throw VideoEncoderError("out of memory allocating the JPEG encoder's packet")
        }
        self.frame = frame
        self.packet = packet
        self.quality = min(31, max(2, quality))
    }

    deinit {
        avcodec_free_context(&context)
        var framePointer: UnsafeMutablePointer<AVFrame>? = frame
        av_frame_free(&framePointer)
        var packetPointer: UnsafeMutablePointer<AVPacket>? = packet
        av_packet_free(&packetPointer)
    }

    /// One I420 picture as a JPEG file's bytes.
    public func encode(_ picture: DecodedPicture) throws -> [UInt8] {
        do {
            return try encodeOnce(picture)
        } catch {
            // A context the encoder refuses to take another picture on is rebuilt once.
            avcodec_free_context(&context)
            contextSize = nil
            return try encodeOnce(picture)
        }
    }

    private func encodeOnce(_ picture: DecodedPicture) throws -> [UInt8] {
        guard picture.format == .i420 else { throw VideoEncoderError("the JPEG encoder takes I420 pictures (scale first)") }
        let context = try prepare(size: picture.size)
        frame.pointee.width = Int32(picture.size.width)
        frame.pointee.height = Int32(picture.size.height)
        // Full-range JPEG ("J") layout: the video's limited-range samples go in unchanged, so
        // the thumbnail is a little flat; good enough to see who is on and that they move.
        frame.pointee.format = AV_PIX_FMT_YUVJ420P.rawValue
        frame.pointee.data.0 = UnsafeMutablePointer(mutating: picture.planes.0.base)
        frame.pointee.data.1 = UnsafeMutablePointer(mutating: picture.planes.1.base)
        frame.pointee.data.2 = UnsafeMutablePointer(mutating: picture.planes.2.base)
        frame.pointee.linesize.0 = Int32(picture.planes.0.stride)
        frame.pointee.linesize.1 = Int32(picture.planes.1.stride)
        frame.pointee.linesize.2 = Int32(picture.planes.2.stride)
        frame.pointee.quality = quality * FF_QP2LAMBDA
        frame.pointee.pts = 0
        defer {
            // The planes belong to the caller: forget them before anything could free them.
            frame.pointee.data.0 = nil
            frame.pointee.data.1 = nil
            frame.pointee.data.2 = nil
        }
        let sent = avcodec_send_frame(context, frame)
        guard sent >= 0 else { throw VideoEncoderError("the JPEG encoder refused a \(picture.size) picture (\(sent))") }
        let received = avcodec_receive_packet(context, packet)
        guard received >= 0, let data = packet.pointee.data else {
            throw VideoEncoderError("the JPEG encoder produced nothing for a \(picture.size) picture (\(received))")
        }
        defer { av_packet_unref(packet) }
        return Array(UnsafeBufferPointer(start: data, count: Int(packet.pointee.size)))
    }

    private func prepare(size: VideoSize) throws -> UnsafeMutablePointer<AVCodecContext> {
        if let context, contextSize == size { return context }
        avcodec_free_context(&context)
        guard let codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG) else {
            throw VideoEncoderError("libavcodec has no MJPEG encoder: install a full FFmpeg (libavcodec59)")
        }
        guard let fresh = avcodec_alloc_context3(codec) else { throw VideoEncoderError("out of memory allocating the JPEG encoder") }
        fresh.pointee.width = Int32(size.width)
        fresh.pointee.height = Int32(size.height)
        fresh.pointee.pix_fmt = AV_PIX_FMT_YUVJ420P
        fresh.pointee.time_base = AVRational(num: 1, den: 25)
        fresh.pointee.flags |= AV_CODEC_FLAG_QSCALE
        fresh.pointee.global_quality = quality * FF_QP2LAMBDA
        fresh.pointee.thread_count = 1
        let status = avcodec_open2(fresh, codec, nil)
        guard status >= 0 else {
            var pointer: UnsafeMutablePointer<AVCodecContext>? = fresh
            avcodec_free_context(&pointer)
            throw VideoEncoderError("could not open the JPEG encoder for \(size): \(status)")
        }
        context = fresh
        contextSize = size
        return fresh
    }
}

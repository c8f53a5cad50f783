import CRelayShim
import CAVCodec
import CAVUtil
import Glibc

/// VP8 / H.264 decoding with libavcodec (send_packet / receive_frame). Owns one
/// AVCodecContext, one AVFrame, one AVPacket and a pool of padded input buffers; none of the
/// pointers leave this file. Not thread-safe: one guest's video pipeline drives it.
public final class AVVideoDecoder: VideoDecoder {
    public let codec: VideoCodec
    public private(set) var stats = VideoDecoderStats()
    /// The size of the last decoded picture.
    public private(set) var pictureSize: VideoSize?

    private let context: UnsafeMutablePointer<AVCodecContext>
    private let frame: UnsafeMutablePointer<AVFrame>
    private let packet: UnsafeMutablePointer<AVPacket>
    /// Input buffers are reused (no allocation per frame); they grow to the largest frame seen.
    private var pool: OpaquePointer?
    private var poolBufferSize = 0

    /// `threads` is libavcodec's slice-thread count (1 = decode on the caller's thread, which
    /// adds no delay; frame threading is never used because it delays output by a frame per thread).
    public init(codec: VideoCodec, threads: Int = 1) throws {
        FFmpegLog.quiet()
        let id = codec == .vp8 ? AV_CODEC_ID_VP8 : AV_CODEC_ID_H264
        guard let decoder = avcodec_find_decoder(id) else {
            throw VideoEncoderError("libavcodec has no \(codec.rawValue) decoder: install a full FFmpeg (libavcodec59)")
        }
        guard let context = avcodec_alloc_context3(decoder) else { throw VideoEncoderError("out of memory allocating a \(codec.rawValue) decoder") }
        var contextPointer: UnsafeMutablePointer<AVCodecContext>? = context
        context.pointee.thread_count = Int32(max(1, threads))
        context.pointee.thread_type = FF_THREAD_SLICE
        let status = avcodec_open2(context, decoder, nil)
        guard status >= 0, let frame = av_frame_alloc(), let packet = av_packet_alloc() else {
            avcodec_free_context(&contextPointer)
            throw VideoEncoderError("could not open the \(codec.rawValue) decoder: \(Self.describe(status))")
        }
        self.codec = codec
        self.context = context
        self.frame = frame
        self.packet = packet
    }

    deinit {
        var contextPointer: UnsafeMutablePointer<AVCodecContext>? = context
        avcodec_free_context(&contextPointer)
        var framePointer: UnsafeMutablePointer<AVFrame>? = frame
        av_frame_free(&framePointer)
        var packetPointer: UnsafeMutablePointer<AVPacket>? = packet
        av_packet_free(&packetPointer)
        av_buffer_pool_uninit(&pool)
    }

    @discardableResult
    public func decode(_ input: CompressedVideoFrame, pts: Int64, _ body: (DecodedPicture) throws -> Void) rethrows -> VideoDecodeStatus {
        stats.framesIn += 1
        var status = VideoDecodeStatus()
        guard fillPacket(input) else {
            record(&status, error: "empty or oversized \(codec.rawValue) frame")
            return status
        }
        packet.pointee.pts = pts
        packet.pointee.dts = pts
        if input.isKeyframe { packet.pointee.flags |= AV_PKT_FLAG_KEY }
        let sent = avcodec_send_packet(context, packet)
        av_packet_unref(packet)
        if sent < 0, sent != Self.errorAgain {
            record(&status, error: "\(codec.rawValue) decoder refused a frame: \(Self.describe(sent))")
            return status
        }
        try receiveAll(&status, body)
        return status
    }

    @discardableResult
    public func flush(_ body: (DecodedPicture) throws -> Void) rethrows -> VideoDecodeStatus {
        var status = VideoDecodeStatus()
        _ = avcodec_send_packet(context, nil)
        try receiveAll(&status, body)
        avcodec_flush_buffers(context)
        return status
    }

    private func receiveAll(_ status: inout VideoDecodeStatus, _ body: (DecodedPicture) throws -> Void) rethrows {
        while true {
            let received = avcodec_receive_frame(context, frame)
            if received == Self.errorAgain || received == Self.errorEOF { return }
            if received < 0 {
                record(&status, error: "\(codec.rawValue) decoder failed on a frame: \(Self.describe(received))")
                return
            }
            defer { av_frame_unref(frame) }
            let size = VideoSize(width: Int(frame.pointee.width), height: Int(frame.pointee.height))
            if let previous = pictureSize, previous != size {
                status.sizeChanged = true
                stats.sizeChanges += 1
            }
            pictureSize = size
            status.pictures += 1
            stats.picturesOut += 1
            try body(picture(size: size))
        }
    }

    private func picture(size: VideoSize) -> DecodedPicture {
        let format: VideoPixelFormat
        switch frame.pointee.format {
        case AV_PIX_FMT_YUV420P.rawValue: format = .i420
        case AV_PIX_FMT_NV12.rawValue: format = .nv12
        case let other: format = .ffmpeg(other)
        }
        let data = frame.pointee.data, lines = frame.pointee.linesize
        let timestamp = frame.pointee.best_effort_timestamp != Self.noPTS ? frame.pointee.best_effort_timestamp : frame.pointee.pts
        return DecodedPicture(
            size: size, format: format,
            planes: (
                VideoPlane(base: UnsafePointer(data.0), stride: Int(lines.0)),
                VideoPlane(base: UnsafePointer(data.1), stride: Int(lines.1)),
                VideoPlane(base: UnsafePointer(data.2), stride: Int(lines.2))
            ),
            pts: timestamp,
            isSourceKeyframe: frame.pointee.key_frame != 0)
    }

    /// Copies the frame into a pooled, zero-padded buffer (libavcodec reads up to
    /// AV_INPUT_BUFFER_PADDING_SIZE past the end). H.264 goes in as Annex-B: the 4-byte AVCC
    /// lengths are rewritten in place to 00 00 00 01 start codes, after SPS/PPS if a keyframe
    /// lacks them in-band.
    private func fillPacket(_ input: CompressedVideoFrame) -> Bool {
        switch input {
        case .vp8(let vp8):
            guard !vp8.data.isEmpty, let target = packetBuffer(size: vp8.data.count) else { return false }
            vp8.data.withUnsafeBytes { target.copyMemory(from: $0) }
            return true
        case .h264(let unit):
            var prefix: [[UInt8]] = []
            if unit.isKeyframe, let sps = unit.sps, let pps = unit.pps {
                let types = Set(unit.nalUnits.compactMap { $0.first.map(H264NALType.of) })
                if !types.contains(H264NALType.sps.rawValue) { prefix = [sps, pps] }
            }
            let total = prefix.reduce(0) { $0 + 4 + $1.count } + unit.avcc.count
            guard !unit.avcc.isEmpty, let target = packetBuffer(size: total) else { return false }
            var offset = 0
            let startCode: [UInt8] = [0, 0, 0, 1]
            for set in prefix {
                startCode.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: target[offset..<offset + 4]).copyMemory(from: $0) }
                set.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: target[offset + 4..<offset + 4 + set.count]).copyMemory(from: $0) }
                offset += 4 + set.count
            }
            unit.avcc.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: target[offset...]).copyMemory(from: $0) }
            // AVCC → Annex-B in place; a length that runs past the end stops the walk (the
            // decoder then sees the rest as one damaged NAL and reports it).
            while offset + 4 <= target.count {
                let length = Int(target[offset]) << 24 | Int(target[offset + 1]) << 16 | Int(target[offset + 2]) << 8 | Int(target[offset + 3])
                target[offset] = 0
                target[offset + 1] = 0
                target[offset + 2] = 0
                target[offset + 3] = 1
                guard length >= 0, offset + 4 + length <= target.count else { break }
                offset += 4 + length
            }
            return true
        }
    }

    /// Frames above this size are refused (a VP8/H.264 frame of a 4K keyframe is far smaller).
    public static let maxFrameBytes = 16 << 20

    private func packetBuffer(size: Int) -> UnsafeMutableRawBufferPointer? {
        guard size > 0, size <= Self.maxFrameBytes else { return nil }
        let padded = size + Int(AV_INPUT_BUFFER_PADDING_SIZE)
        if padded > poolBufferSize {
            av_buffer_pool_uninit(&pool)
            poolBufferSize = max(padded, 64 * 1024).nextPowerOfTwo
            pool = av_buffer_pool_init(poolBufferSize, nil)
        }
        guard let buffer = av_buffer_pool_get(pool), let data = buffer.pointee.data else { return nil }
        packet.pointee.buf = buffer
        packet.pointee.data = data
        packet.pointee.size = Int32(size)
        memset(data + size, 0, Int(AV_INPUT_BUFFER_PADDING_SIZE))
        return UnsafeMutableRawBufferPointer(start: data, count: size)
    }

    private func record(_ status: inout VideoDecodeStatus, error: String) {
        status.failed = true
        stats.errors += 1
        stats.lastError = error
    }

    // AVERROR(EAGAIN), AVERROR_EOF and AV_NOPTS_VALUE are function-like or cast macros Swift cannot import.
    private static let errorAgain = relay_averror_eagain()
    private static let errorEOF = relay_averror_eof()
    private static let noPTS = Int64(bitPattern: 0x8000_0000_0000_0000)

    static func describe(_ code: Int32) -> String {
        var text = [CChar](repeating: 0, count: 128)
        av_strerror(code, &text, text.count)
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) + " (\(code))"
    }
}

extension Int {
    fileprivate var nextPowerOfTwo: Int {
        var value = 1
        while value < self { value <<= 1 }
        return value
    }
}

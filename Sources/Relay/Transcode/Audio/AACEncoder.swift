import CAVCodec
import CAVUtil
import CRelayShim

/// AAC-LC through libavcodec's native "aac" encoder, the one owner of its AVCodecContext,
/// AVFrame and AVPacket.
///
/// Input is interleaved Float at the configured rate; it is de-interleaved straight into the
/// encoder's planar frame (fltp), which doubles as the FIFO that cuts the input into 1024-sample
/// frames. Output frames are raw AAC (no ADTS), as FLV wants them after the AudioSpecificConfig.
public final class AACEncoder: AudioEncoder {
    public struct Configuration: Sendable, Equatable {
        public var bitrate: Int = 128_000
        public var sampleRate: Int = 48000
        public var channels: Int = 2
        public init(bitrate: Int = 128_000, sampleRate: Int = 48000, channels: Int = 2) {
            self.bitrate = bitrate
            self.sampleRate = sampleRate
            self.channels = channels
        }
    }

    public let configuration: Configuration
    public var sampleRate: Int { configuration.sampleRate }
    public var channels: Int { configuration.channels }
    // Set once the codec is open. Declared with defaults so every stored property is set before
    // the first C allocation: a later throw then runs deinit, which frees what was allocated.
    public private(set) var frameSize = 0
    public private(set) var encoderDelay = 0
    /// The 2-byte AudioSpecificConfig for AAC-LC (48 kHz stereo: 0x11 0x90), for the FLV
    /// sequence header. Built from the parameters rather than copied from libavcodec's extradata,
    /// which appends an SBR sync extension some readers reject.
    public let decoderConfiguration: [UInt8]
    /// What libavcodec wrote as extradata (its own AudioSpecificConfig), for comparison.
    public private(set) var encoderExtradata: [UInt8] = []

    private var context: UnsafeMutablePointer<AVCodecContext>?
    private var frame: UnsafeMutablePointer<AVFrame>?
    private var packet: UnsafeMutablePointer<AVPacket>?
    /// Samples per channel already in `frame`.
    private var filled = 0
    /// The pts (in samples) of the frame being filled.
    private var nextFramePTS: Int64 = 0
    private var flushed = false

    public init(configuration: Configuration = Configuration()) throws(AudioCodecError) {
        FFmpegLog.quiet()
        self.configuration = configuration
        guard let index = Self.samplingFrequencyIndex(configuration.sampleRate), (1...2).contains(configuration.channels) else {
            throw AudioCodecError(
                .setupFailed, "AAC encoder: \(configuration.sampleRate) Hz × \(configuration.channels) channels is not supported (use 48000 Hz, 1 or 2 channels)")
        }
        // AudioSpecificConfig: 5 bits object type (2 = AAC LC), 4 bits frequency index, 4 bits
        // channel configuration, 3 bits GASpecificConfig flags (all 0).
        let config = UInt16(2) << 11 | UInt16(index) << 7 | UInt16(configuration.channels) << 3
        decoderConfiguration = [UInt8(config >> 8), UInt8(config & 0xFF)]

        guard let codec = avcodec_find_encoder_by_name("aac") else {
            throw AudioCodecError(.setupFailed, "libavcodec has no \"aac\" encoder: check the FFmpeg build (libavcodec59)")
        }
        guard let context = avcodec_alloc_context3(codec) else {
            throw AudioCodecError(.setupFailed, "avcodec_alloc_context3 failed (out of memory)")
        }
        self.context = context
        context.pointee.sample_fmt = AV_SAMPLE_FMT_FLTP
        context.pointee.sample_rate = Int32(configuration.sampleRate)
        av_channel_layout_default(&context.pointee.ch_layout, Int32(configuration.channels))
        context.pointee.bit_rate = Int64(configuration.bitrate)
        context.pointee.profile = FF_PROFILE_AAC_LOW
        context.pointee.time_base = AVRational(num: 1, den: Int32(configuration.sampleRate))
        context.pointee.flags |= AV_CODEC_FLAG_GLOBAL_HEADER
        let opened = avcodec_open2(context, codec, nil)
        guard opened >= 0 else {
            throw AudioCodecError(.setupFailed, code: opened, "avcodec_open2(aac, \(configuration.bitrate) bit/s) failed: \(Self.describe(opened))")
        }
        frameSize = Int(context.pointee.frame_size)
        encoderDelay = Int(context.pointee.initial_padding)
        if let extradata = context.pointee.extradata, context.pointee.extradata_size > 0 {
            encoderExtradata = Array(UnsafeBufferPointer(start: extradata, count: Int(context.pointee.extradata_size)))
        }

        guard frameSize > 0, let frame = av_frame_alloc(), let packet = av_packet_alloc() else {
            throw AudioCodecError(.setupFailed, "AAC encoder: no frame size or out of memory allocating its frame/packet")
        }
        self.frame = frame
        self.packet = packet
        frame.pointee.nb_samples = Int32(frameSize)
        frame.pointee.format = AV_SAMPLE_FMT_FLTP.rawValue
        frame.pointee.sample_rate = Int32(configuration.sampleRate)
        _ = av_channel_layout_copy(&frame.pointee.ch_layout, &context.pointee.ch_layout)
        let allocated = av_frame_get_buffer(frame, 0)
        guard allocated >= 0 else {
            throw AudioCodecError(.setupFailed, code: allocated, "av_frame_get_buffer for AAC input failed: \(Self.describe(allocated))")
        }
    }

    deinit {
        av_packet_free(&packet)
        av_frame_free(&frame)
        avcodec_free_context(&context)
    }

    public func encode(interleaved samples: UnsafeBufferPointer<Float>) throws(AudioCodecError) -> [EncodedAudioFrame] {
        guard let frame, !flushed else {
            throw AudioCodecError(.encodeFailed, "AAC encoder: input after flush()")
        }
        var output: [EncodedAudioFrame] = []
        let total = samples.count / channels
        var consumed = 0
        while consumed < total {
            if filled == 0 {
                let writable = av_frame_make_writable(frame)
                guard writable >= 0 else {
                    throw AudioCodecError(.encodeFailed, code: writable, "av_frame_make_writable failed: \(Self.describe(writable))")
                }
            }
            let count = min(frameSize - filled, total - consumed)
            for channel in 0..<channels {
                guard let plane = frame.pointee.extended_data[channel] else { continue }
                plane.withMemoryRebound(to: Float.self, capacity: frameSize) { plane in
                    var source = consumed * channels + channel
                    for index in filled..<(filled + count) {
                        plane[index] = samples[source]
                        source += channels
                    }
                }
            }
            filled += count
            consumed += count
            if filled == frameSize { try sendFrame(into: &output) }
        }
        return output
    }

    public func flush() throws(AudioCodecError) -> [EncodedAudioFrame] {
        guard !flushed else { return [] }
        var output: [EncodedAudioFrame] = []
        if filled > 0 { try sendFrame(into: &output) }
        flushed = true
        let sent = avcodec_send_frame(context, nil)
        guard sent >= 0 || sent == relay_averror_eof() else {
            throw AudioCodecError(.encodeFailed, code: sent, "AAC encoder drain failed: \(Self.describe(sent))")
        }
        try receivePackets(into: &output)
        return output
    }

    private func sendFrame(into output: inout [EncodedAudioFrame]) throws(AudioCodecError) {
        guard let frame else { return }
        frame.pointee.nb_samples = Int32(filled)
        frame.pointee.pts = nextFramePTS
        nextFramePTS += Int64(filled)
        filled = 0
        let sent = avcodec_send_frame(context, frame)
        guard sent >= 0 else {
            throw AudioCodecError(.encodeFailed, code: sent, "avcodec_send_frame (AAC) failed: \(Self.describe(sent))")
        }
        try receivePackets(into: &output)
    }

    private func receivePackets(into output: inout [EncodedAudioFrame]) throws(AudioCodecError) {
        guard let packet else { return }
        while true {
            let received = avcodec_receive_packet(context, packet)
            if received == relay_averror_eagain() || received == relay_averror_eof() { return }
            guard received >= 0 else {
                throw AudioCodecError(.encodeFailed, code: received, "avcodec_receive_packet (AAC) failed: \(Self.describe(received))")
            }
            let data = packet.pointee.data.map { Array(UnsafeBufferPointer(start: $0, count: Int(packet.pointee.size))) } ?? []
            let duration = packet.pointee.duration > 0 ? Int(packet.pointee.duration) : frameSize
            output.append(EncodedAudioFrame(data: data, pts: packet.pointee.pts, duration: duration, sampleRate: sampleRate))
            av_packet_unref(packet)
        }
    }

    private static func samplingFrequencyIndex(_ rate: Int) -> Int? {
        [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350].firstIndex(of: rate)
    }

    static func describe(_ code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 128)
        av_strerror(code, &buffer, buffer.count)
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }
}

import CRelayShim
import CX264

/// H.264 encoding with libx264 (see X264Settings for the fixed choices). Owns one x264_t*;
/// a picture of a new size closes it and opens a fresh one (new SPS/PPS, first frame IDR,
/// `parameterSetsChanged` on its unit). Timestamps: picture pts in 90 kHz ticks in, the same
/// value out (`rtpTimestamp` = its low 32 bits); pts must increase — a repeated or older pts
/// is nudged one tick past the previous one. Not thread-safe: one guest's pipeline drives it.
public final class X264Encoder: VideoEncoder {
    public let settings: X264Settings
    public private(set) var parameterSets: (sps: [UInt8], pps: [UInt8])?
    /// The size the open encoder was configured for.
    public private(set) var encodedSize: VideoSize?
    /// How many times an encoder was opened (1 + resolution changes).
    public private(set) var opens = 0
    public private(set) var framesOut = 0
    public private(set) var keyframesOut = 0

    private var encoder: OpaquePointer?
    private var keyframeRequested = false
    private var announceParameterSets = false
    private var lastKeyframePts: Int64?
    private var lastInputPts: Int64?

    public init(settings: X264Settings = X264Settings()) throws {
        self.settings = settings
        // Fail now, not at the first picture, when the preset or profile is wrong.
        var probe = try Self.parameters(settings, size: VideoSize(width: 64, height: 64))
        guard let encoder = relay_x264_encoder_open(&probe) else {
            throw VideoEncoderError("x264 refused the settings (preset \(settings.preset), profile \(settings.profile.rawValue))")
        }
        x264_encoder_close(encoder)
    }

    deinit {
        if let encoder { x264_encoder_close(encoder) }
    }

    public func requestKeyframe() { keyframeRequested = true }

    public func encode(_ picture: DecodedPicture) throws -> [H264AccessUnit] {
        guard picture.format == .i420 else {
            throw VideoEncoderError("x264 takes I420 pictures; convert \(picture.format) with FrameScaler first")
        }
        var units: [H264AccessUnit] = []
        if encodedSize != picture.size {
            if encoder != nil { units += try flush() }
            try open(size: picture.size)
        }
        guard let encoder else { return units }

        var pts = picture.pts
        if let last = lastInputPts, pts <= last { pts = last + 1 }
        lastInputPts = pts
        let interval = Int64(settings.keyframeIntervalSeconds * 90_000)
        if let last = lastKeyframePts, pts - last >= interval { keyframeRequested = true }

        var input = x264_picture_t()
        x264_picture_init(&input)
        input.img.i_csp = X264_CSP_I420
        input.img.i_plane = 3
        input.img.plane = (
            UnsafeMutablePointer(mutating: picture.planes.0.base), UnsafeMutablePointer(mutating: picture.planes.1.base),
            UnsafeMutablePointer(mutating: picture.planes.2.base), nil)
        input.img.i_stride = (Int32(picture.planes.0.stride), Int32(picture.planes.1.stride), Int32(picture.planes.2.stride), 0)
        input.i_pts = pts
        input.i_type = keyframeRequested ? X264_TYPE_IDR : X264_TYPE_AUTO
        if keyframeRequested { lastKeyframePts = pts }
        keyframeRequested = false

        var nals: UnsafeMutablePointer<x264_nal_t>?
        var count: Int32 = 0
        var output = x264_picture_t()
        let bytes = x264_encoder_encode(encoder, &nals, &count, &input, &output)
        guard bytes >= 0 else { throw VideoEncoderError("x264 failed to encode a \(picture.size) picture (\(bytes))") }
        if bytes > 0, let nals { units.append(unit(nals: nals, bytes: Int(bytes), picture: output)) }
        return units
    }

    public func flush() throws -> [H264AccessUnit] {
        guard let encoder else { return [] }
        var units: [H264AccessUnit] = []
        while x264_encoder_delayed_frames(encoder) > 0 {
            var nals: UnsafeMutablePointer<x264_nal_t>?
            var count: Int32 = 0
            var output = x264_picture_t()
            let bytes = x264_encoder_encode(encoder, &nals, &count, nil, &output)
            guard bytes >= 0 else { throw VideoEncoderError("x264 failed while flushing (\(bytes))") }
            if bytes > 0, let nals { units.append(unit(nals: nals, bytes: Int(bytes), picture: output)) }
        }
        return units
    }

    /// All NAL units of one encode call sit back to back in x264's buffer, each already behind
    /// a 4-byte big-endian length (b_annexb = 0): exactly AVCC, one copy into Swift.
    private func unit(nals: UnsafeMutablePointer<x264_nal_t>, bytes: Int, picture: x264_picture_t) -> H264AccessUnit {
        let avcc = Array(UnsafeBufferPointer(start: nals.pointee.p_payload, count: bytes))
        let isKeyframe = picture.b_keyframe != 0
        if isKeyframe {
            lastKeyframePts = picture.i_pts
            keyframesOut += 1
        }
        framesOut += 1
        let changed = announceParameterSets
        announceParameterSets = false
        return H264AccessUnit(
            rtpTimestamp: UInt32(truncatingIfNeeded: picture.i_pts), avcc: avcc, isKeyframe: isKeyframe,
            isReference: true, sps: parameterSets?.sps, pps: parameterSets?.pps, parameterSetsChanged: changed)
    }

    private func open(size: VideoSize) throws {
        if let encoder { x264_encoder_close(encoder) }
        encoder = nil
        encodedSize = nil
        guard size.width >= 2, size.height >= 2, size.width % 2 == 0, size.height % 2 == 0 else {
            throw VideoEncoderError("x264 needs an even picture size, got \(size): set relay.video.width/height or scale first")
        }
        var param = try Self.parameters(settings, size: size)
        guard let opened = relay_x264_encoder_open(&param) else {
            throw VideoEncoderError("x264 could not open a \(size) encoder (preset \(settings.preset), \(settings.bitrateKbps) kbit/s)")
        }
        encoder = opened
        encodedSize = size
        opens += 1
        lastKeyframePts = nil
        keyframeRequested = false

        var nals: UnsafeMutablePointer<x264_nal_t>?
        var count: Int32 = 0
        guard x264_encoder_headers(opened, &nals, &count) >= 0, let nals else {
            throw VideoEncoderError("x264 produced no SPS/PPS for \(size)")
        }
        var sps: [UInt8]?, pps: [UInt8]?
        for index in 0..<Int(count) {
            let nal = nals[index]
            guard let payload = nal.p_payload, nal.i_payload > 4 else { continue }
            let body = Array(UnsafeBufferPointer(start: payload + 4, count: Int(nal.i_payload) - 4))  // skip the length
            switch nal.i_type {
            case Int32(NAL_SPS.rawValue): sps = body
            case Int32(NAL_PPS.rawValue): pps = body
            default: continue
            }
        }
        guard let sps, let pps else { throw VideoEncoderError("x264 headers lacked an SPS or PPS for \(size)") }
        if parameterSets?.sps != sps || parameterSets?.pps != pps {
            parameterSets = (sps, pps)
            announceParameterSets = true
        }
        if framesOut == 0 { announceParameterSets = true }
    }

    static func parameters(_ settings: X264Settings, size: VideoSize) throws -> x264_param_t {
        var param = x264_param_t()
        // Checked here first: x264 itself would also print the complaint to stderr.
        guard VideoConfig.x264Presets.contains(settings.preset),
            x264_param_default_preset(&param, settings.preset, "zerolatency") == 0
        else {
            throw VideoEncoderError("unknown x264 preset '\(settings.preset)' (relay.video.x264_preset)")
        }
        param.i_log_level = X264_LOG_ERROR
        param.i_width = Int32(size.width)
        param.i_height = Int32(size.height)
        param.i_csp = X264_CSP_I420
        param.i_threads = settings.threads > 0 ? Int32(settings.threads) : X264_THREADS_AUTO
        let fps = max(1, settings.frameRate)
        param.i_fps_num = UInt32(fps)
        param.i_fps_den = 1
        param.i_timebase_num = 1
        param.i_timebase_den = 90_000
        // Constant-rate rate control (x264's VFR mode holds every frame back until the next
        // pts arrives, one frame of latency); pts still pass through unchanged.
        param.b_vfr_input = 0
        param.i_keyint_max = Int32(max(1, (Double(fps) * settings.keyframeIntervalSeconds).rounded()))
        param.i_keyint_min = 1
        param.i_scenecut_threshold = 0
        param.i_bframe = 0
        param.b_annexb = 0
        param.b_repeat_headers = settings.repeatHeaders ? 1 : 0
        param.b_aud = 0
        param.rc.i_rc_method = X264_RC_ABR
        param.rc.i_bitrate = Int32(settings.bitrateKbps)
        param.rc.i_vbv_max_bitrate = Int32(settings.bitrateKbps)
        param.rc.i_vbv_buffer_size = Int32(settings.bitrateKbps)
        guard x264_param_apply_profile(&param, settings.profile.rawValue) == 0 else {
            throw VideoEncoderError("x264 cannot apply profile \(settings.profile.rawValue) to these settings")
        }
        return param
    }
}

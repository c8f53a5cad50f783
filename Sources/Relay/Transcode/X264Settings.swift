/// How the relay drives x264. Fixed choices (not settings): tune zerolatency (no lookahead, no
/// frame delay), no B-frames (dts == pts, composition time 0 in FLV), no scene-cut keyframes
/// (IDRs only on the interval or on request, so GOPs are predictable for MediaMTX's readers),
/// AVCC output with 4-byte lengths, ABR rate control capped by a one-second VBV.
public struct X264Settings: Sendable, Equatable {
    public enum Profile: String, Sendable, Equatable {
        /// No CABAC, no B-frames, no 8x8 transform: profile_idc 66 with constraint_set0/1
        /// (42C0xx), decodable by every RTMP/RTSP consumer and cheapest to encode. The default.
        case constrainedBaseline = "baseline"
        /// CABAC and weighted prediction: ~10–15% fewer bits for the same quality, costs more CPU.
        case main
        case high
    }

    public var preset: String
    public var profile: Profile
    public var bitrateKbps: Int
    /// An IDR at least this often, measured on the picture timestamps (so a guest sending
    /// 15 fps still gets one every interval, not every 2×interval).
    public var keyframeIntervalSeconds: Double
    /// The frame rate x264's rate control assumes (bits per frame = bitrate / frameRate) and
    /// its frame-count keyframe cap (i_keyint_max = frameRate × interval). x264's VFR mode
    /// would follow the real pts but holds each frame until the next arrives (a frame of
    /// latency), so a guest sending fewer frames gets proportionally fewer bits.
    public var frameRate: Int
    /// x264 worker threads (sliced, so no added delay); 0 = x264 decides from the core count.
    public var threads: Int
    /// SPS/PPS in-band before every IDR as well (what browsers send, so a reader that joins
    /// mid-stream can start); they are always also available as `parameterSets`.
    public var repeatHeaders: Bool

    public init(
        preset: String = "veryfast",
        profile: Profile = .constrainedBaseline,
        bitrateKbps: Int = 2500,
        keyframeIntervalSeconds: Double = 2,
        frameRate: Int = 30,
        threads: Int = 0,
        repeatHeaders: Bool = true
    ) {
        self.preset = preset
        self.profile = profile
        self.bitrateKbps = bitrateKbps
        self.keyframeIntervalSeconds = keyframeIntervalSeconds
        self.frameRate = frameRate
        self.threads = threads
        self.repeatHeaders = repeatHeaders
    }

    /// The encoder part of `relay.video`.
    public init(video: VideoConfig) {
        self.init(preset: video.x264Preset, bitrateKbps: video.bitrateKbps, keyframeIntervalSeconds: video.keyframeIntervalSeconds)
    }
}

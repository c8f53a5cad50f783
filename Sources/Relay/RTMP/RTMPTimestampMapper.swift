/// Turns capture times from one clock (any origin) into RTMP millisecond timestamps: the first
/// sent media sample is 0, each track never goes backwards, nothing is negative, and video DTS
/// strictly increases (muxers refuse two video frames with one DTS: FFmpeg says
/// "non monotonically increasing dts").
public struct RTMPTimestampMapper: Sendable {
    private var base: Duration?
    private var lastVideo: Int64 = 0
    private var videoSent = false
    private var lastAudio: Int64 = 0
    public private(set) var regressionsFixed = 0

    public init() {}

    static func milliseconds(_ d: Duration) -> Int64 {
        let (s, atto) = d.components
        return s * 1000 + atto / 1_000_000_000_000_000
    }

    private mutating func relative(_ t: Duration) -> Int64 {
        let b = base ?? t
        base = b
        return Self.milliseconds(t - b)
    }

    /// (tag timestamp = DTS, composition time = PTS − DTS) for a video access unit.
    public mutating func video(pts: Duration, dts: Duration) -> (timestamp: UInt32, compositionTime: Int32) {
        var d = max(0, relative(dts))
        let p = relative(pts)
        if videoSent && d <= lastVideo {
            // A frame at or before the last one: 1 ms after it, its PTS kept where it can be.
            regressionsFixed += 1
            d = lastVideo + 1
        }
        videoSent = true
        lastVideo = d
        let cts = Int32(clamping: max(0, min(p - d, 0x7FFFFF)))
        return (UInt32(truncatingIfNeeded: d), cts)
    }

    public mutating func audio(pts: Duration) -> UInt32 {
        var a = relative(pts)
        if a < lastAudio { regressionsFixed += 1; a = lastAudio }
        a = max(0, a)
        lastAudio = a
        return UInt32(truncatingIfNeeded: a)
    }
}

/// Decode → scale → encode for one guest's video: VP8 always, H.264 when `relay.video.mode`
/// is `transcode`. Output units carry the input frame's `rtpTimestamp` (no B-frames: dts ==
/// pts) and `parameterSetsChanged` whenever the encoder (re)opened — feed them to
/// H264Passthrough to get the sequence header, exactly as for passthrough input.
///
/// After a frame the decoder refuses, inter frames are dropped until the next keyframe (a
/// frozen picture instead of smeared garbage) and `takeSourceKeyframeRequest()` answers true
/// once, so the receive side can send a PLI.
public final class VideoTranscoder {
    public struct Stats: Sendable, Equatable {
        public var framesIn = 0
        public var unitsOut = 0
        /// Frames dropped while waiting for a keyframe after a decode error (or before the first).
        public var framesDroppedWaitingForKeyframe = 0
        public var decoder = VideoDecoderStats()
    }

    public let inputCodec: VideoCodec
    public private(set) var stats = Stats()

    private let decoder: any VideoDecoder
    private let scaler: FrameScaler
    private let encoder: any VideoEncoder
    private var waitingForKeyframe = true
    private var sourceKeyframeWanted = false
    private var timeline = RTPTimestampUnwrapper()

    /// `decoder` and `encoder` default to libavcodec and x264; pass others (a hardware
    /// encoder, a recording fake) through the same protocols.
    public init(
        inputCodec: VideoCodec,
        settings: X264Settings = X264Settings(),
        outputWidth: Int? = nil,
        outputHeight: Int? = nil,
        decoderThreads: Int = 1,
        decoder: (any VideoDecoder)? = nil,
        encoder: (any VideoEncoder)? = nil
    ) throws {
        self.inputCodec = inputCodec
        self.decoder = try decoder ?? AVVideoDecoder(codec: inputCodec, threads: decoderThreads)
        self.scaler = try FrameScaler(width: outputWidth, height: outputHeight)
        self.encoder = try encoder ?? X264Encoder(settings: settings)
    }

    /// `relay.video` as configured.
    public convenience init(inputCodec: VideoCodec, video: VideoConfig) throws {
        try self.init(inputCodec: inputCodec, settings: X264Settings(video: video), outputWidth: video.width, outputHeight: video.height)
    }

    public func transcode(_ frame: VP8Frame) throws -> [H264AccessUnit] {
        try transcode(.vp8(frame), rtpTimestamp: frame.rtpTimestamp)
    }

    public func transcode(_ unit: H264AccessUnit) throws -> [H264AccessUnit] {
        try transcode(.h264(unit), rtpTimestamp: unit.rtpTimestamp)
    }

    /// The next encoded frame will be an IDR (a new RTMP reader, a reconnect).
    public func requestKeyframe() { encoder.requestKeyframe() }

    /// True once after the decoder lost the picture: ask the sender for a keyframe (PLI).
    public func takeSourceKeyframeRequest() -> Bool {
        defer { sourceKeyframeWanted = false }
        return sourceKeyframeWanted
    }

    /// End of stream: pictures still in the decoder, then frames still in the encoder.
    public func flush() throws -> [H264AccessUnit] {
        var units: [H264AccessUnit] = []
        try decoder.flush { picture in units += try encode(picture) }
        units += try encoder.flush()
        stats.unitsOut += units.count
        stats.decoder = decoder.stats
        return units
    }

    public var parameterSets: (sps: [UInt8], pps: [UInt8])? { encoder.parameterSets }

    private func transcode(_ frame: CompressedVideoFrame, rtpTimestamp: UInt32) throws -> [H264AccessUnit] {
        stats.framesIn += 1
        if waitingForKeyframe {
            guard frame.isKeyframe else {
                stats.framesDroppedWaitingForKeyframe += 1
                sourceKeyframeWanted = true
                return []
            }
            waitingForKeyframe = false
        }
        let pts = timeline.extend(rtpTimestamp)
        var units: [H264AccessUnit] = []
        let status = try decoder.decode(frame, pts: pts) { picture in units += try encode(picture) }
        if status.failed {
            waitingForKeyframe = true
            sourceKeyframeWanted = true
        }
        stats.unitsOut += units.count
        stats.decoder = decoder.stats
        return units
    }

    private func encode(_ picture: DecodedPicture) throws -> [H264AccessUnit] {
        try encoder.encode(try scaler.convert(picture))
    }
}

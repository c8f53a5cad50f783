/// Where a guest's relayed media goes: the RTMP publisher in production, an in-memory FLV
/// writer in tests. Timestamps are milliseconds on the guest's common timeline, starting near
/// 0 and monotonic per track. Called on the guest's media thread; implementations must not block.
public protocol MediaSink: AnyObject {
    /// The H.264 decoder configuration, before the first picture and again whenever SPS/PPS change.
    func videoConfiguration(_ record: AVCDecoderConfiguration, stream: H264StreamInfo)
    /// One picture (AVCC), no B-frames: DTS == PTS.
    func video(_ unit: H264AccessUnit, milliseconds: Int64)
    /// The AAC AudioSpecificConfig, before the first frame.
    func audioConfiguration(_ audioSpecificConfig: [UInt8])
    /// One raw AAC frame (no ADTS).
    func audio(_ frame: [UInt8], milliseconds: Int64)
}

/// Writes what a MediaSink receives as an FLV file in memory: the reference sink for tests,
/// judged afterwards by ffprobe.
public final class FLVMemorySink: MediaSink {
    public private(set) var writer: FLVFileWriter
    public private(set) var videoFrames = 0
    public private(set) var keyframes = 0
    public private(set) var audioFrames = 0
    public private(set) var sequenceHeaders = 0
    public private(set) var lastStream: H264StreamInfo?

    public init(hasAudio: Bool = true, hasVideo: Bool = true) {
        writer = FLVFileWriter(hasAudio: hasAudio, hasVideo: hasVideo)
    }

    public var bytes: [UInt8] { writer.bytes }

    public func videoConfiguration(_ record: AVCDecoderConfiguration, stream: H264StreamInfo) {
        sequenceHeaders += 1
        lastStream = stream
        writer.append(FLVTag(kind: .video, timestamp: 0, body: FLVTagBody.avcSequenceHeader(record: record.bytes)))
    }

    public func video(_ unit: H264AccessUnit, milliseconds: Int64) {
        var body: [UInt8] = []
        body.reserveCapacity(unit.avcc.count + 5)
        FLVTagBody.appendAVCFrameHeader(keyframe: unit.isKeyframe, compositionTime: 0, into: &body)
        body.append(contentsOf: unit.avcc)
        writer.append(FLVTag(kind: .video, timestamp: UInt32(clamping: max(0, milliseconds)), body: body))
        videoFrames += 1
        if unit.isKeyframe { keyframes += 1 }
    }

    public func audioConfiguration(_ audioSpecificConfig: [UInt8]) {
        writer.append(FLVTag(kind: .audio, timestamp: 0, body: FLVTagBody.aacSequenceHeader(config: audioSpecificConfig)))
    }

    public func audio(_ frame: [UInt8], milliseconds: Int64) {
        writer.append(FLVTag(kind: .audio, timestamp: UInt32(clamping: max(0, milliseconds)), body: FLVTagBody.aacFrame(frame)))
        audioFrames += 1
    }
}

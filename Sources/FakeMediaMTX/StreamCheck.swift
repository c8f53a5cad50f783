import Relay

/// What arrived on one publish, tag by tag (sans-IO: FLV tags in, counts out). It also decides
/// when the path is ready, the way MediaMTX does: once every track that `onMetaData` announced
/// (videocodecid / audiocodecid) has its codec config; without metadata, once the AVC
/// sequence header arrived.
public struct StreamCheck: Sendable, Equatable, Codable {
    public struct Track: Sendable, Equatable, Codable {
        /// MediaMTX's track name ("H264", "MPEG-4 Audio") or "unknown(codec id)".
        public var codec: String?
        public var configReceived = false
        /// Coded frames (video: AVC NALU packets; audio: raw AAC frames). Sequence headers and
        /// end-of-sequence tags are not frames.
        public var frames = 0
        public var keyframes = 0
        public var firstTimestamp: UInt32?
        public var lastTimestamp: UInt32?
        /// Times a tag's DTS went backwards (equal DTS is allowed for audio, counted for video).
        public var dtsViolations = 0
        public var largestDTSGapMs: UInt32 = 0
        /// The first frame was a keyframe (what a decoder joining there needs).
        public var startsWithKeyframe: Bool?
    }

    public var video = Track()
    public var audio = Track()
    public var width: Int?
    public var height: Int?
    public var metadataReceived = false
    public var announcesVideo = false
    public var announcesAudio = false
    public var tags = 0

    public init() {}

    /// Milliseconds from the first video frame to the first audio frame (negative: audio first).
    public var avStartOffsetMs: Int? {
        guard let v = video.firstTimestamp, let a = audio.firstTimestamp else { return nil }
        return Int(a) - Int(v)
    }

    public var isReady: Bool {
        if metadataReceived && (announcesVideo || announcesAudio) {
            return (!announcesVideo || video.configReceived) && (!announcesAudio || audio.configReceived)
        }
        return video.configReceived
    }

    /// MediaMTX's `tracks` list: the tracks whose config arrived.
    public var trackNames: [String] {
        [video, audio].compactMap { $0.configReceived ? $0.codec : nil }
    }

    public mutating func observe(_ tag: FLVTag) {
        tags += 1
        switch tag.kind {
        case .script: observeMetadata(tag.body)
        case .video: observeVideo(tag)
        case .audio: observeAudio(tag)
        }
    }

    private mutating func observeMetadata(_ body: [UInt8]) {
        guard let values = try? AMF0.decodeAll(body), values.first == .string("onMetaData"), values.count > 1 else { return }
        metadataReceived = true
        let properties = values[1]
        if let id = properties["videocodecid"], id != .number(0) { announcesVideo = true }
        if let id = properties["audiocodecid"], id != .number(0) { announcesAudio = true }
        // Some publishers write codec ids as strings ("avc1"); any non-empty value announces a track.
    }

    private mutating func observeVideo(_ tag: FLVTag) {
        guard let info = FLVVideoTagInfo(tag.body) else { return }
        video.codec = info.codecID == 7 ? "H264" : "unknown(\(info.codecID))"
        switch info.avcPacketType {
        case 0:
            video.configReceived = true
            if let size = Self.pictureSize(avcSequenceHeader: tag.body) { (width, height) = (size.width, size.height) }
        case 1:
            if video.startsWithKeyframe == nil { video.startsWithKeyframe = info.keyframe }
            if info.keyframe { video.keyframes += 1 }
            video.count(frameAt: tag.timestamp, allowEqual: false)
        default:
            break  // end of sequence
        }
    }

    private mutating func observeAudio(_ tag: FLVTag) {
        guard let info = FLVAudioTagInfo(tag.body) else { return }
        audio.codec = info.soundFormat == 10 ? "MPEG-4 Audio" : "unknown(\(info.soundFormat))"
        if info.aacPacketType == 0 {
            audio.configReceived = true
        } else {
            audio.count(frameAt: tag.timestamp, allowEqual: true)
        }
    }

    /// Width and height from the SPS inside an AVC sequence header tag
    /// (`0x17 0x00 CTS` + AVCDecoderConfigurationRecord).
    static func pictureSize(avcSequenceHeader body: [UInt8]) -> (width: Int, height: Int)? {
        // record: version, profile, compat, level, lengthSize, numSPS, spsLength(16), sps…
        guard body.count > 5 + 8, body[5 + 5] & 0x1F >= 1 else { return nil }
        let length = Int(body[5 + 6]) << 8 | Int(body[5 + 7])
        let start = 5 + 8
        guard length > 0, start + length <= body.count, let sps = try? H264SPS(nal: body[start..<(start + length)]) else { return nil }
        return (sps.width, sps.height)
    }
}

extension StreamCheck.Track {
    mutating func count(frameAt timestamp: UInt32, allowEqual: Bool) {
        frames += 1
        if firstTimestamp == nil { firstTimestamp = timestamp }
        if let last = lastTimestamp {
            if timestamp < last || (!allowEqual && timestamp == last) { dtsViolations += 1 }
            if timestamp > last { largestDTSGapMs = max(largestDTSGapMs, timestamp - last) }
        }
        lastTimestamp = timestamp
    }
}

extension StreamCheck: CustomStringConvertible {
    public var description: String {
        func track(_ t: Track) -> String {
            "\(t.codec ?? "none") frames=\(t.frames) keyframes=\(t.keyframes) dtsViolations=\(t.dtsViolations) largestGapMs=\(t.largestDTSGapMs) first=\(t.firstTimestamp.map(String.init) ?? "-")"
        }
        let size = width.flatMap { w in height.map { "\(w)x\($0)" } } ?? "?"
        return "video[\(track(video)) \(size)] audio[\(track(audio))] avStartOffsetMs=\(avStartOffsetMs.map(String.init) ?? "-")"
    }
}

/// FLV tags: the payloads RTMP audio/video/data messages carry, and the records of an FLV file.
public struct FLVTag: Sendable, Equatable {
    public enum Kind: UInt8, Sendable { case audio = 8, video = 9, script = 18 }
    public var kind: Kind
    /// Milliseconds (the DTS for video).
    public var timestamp: UInt32
    public var body: [UInt8]

    public init(kind: Kind, timestamp: UInt32, body: [UInt8]) {
        self.kind = kind
        self.timestamp = timestamp
        self.body = body
    }
}

/// What onMetaData announces. Absent values are left out (no Date, ever).
public struct FLVMetadata: Sendable, Equatable {
    public var width: Int?
    public var height: Int?
    public var frameRate: Double?
    public var videoDataRateKbps: Double?
    public var hasVideo = true
    public var hasAudio = true
    public var audioSampleRate: Int = 48000
    public var stereo = true
    public var audioDataRateKbps: Double?
    public var encoder = "relayd"

    public init(width: Int? = nil, height: Int? = nil, frameRate: Double? = nil, hasVideo: Bool = true, hasAudio: Bool = true,
                audioSampleRate: Int = 48000, stereo: Bool = true) {
        self.width = width
        self.height = height
        self.frameRate = frameRate
        self.hasVideo = hasVideo
        self.hasAudio = hasAudio
        self.audioSampleRate = audioSampleRate
        self.stereo = stereo
    }

    var properties: [(String, AMF0Value)] {
        var p: [(String, AMF0Value)] = []
        if hasVideo {
            if let width { p.append(("width", .number(Double(width)))) }
            if let height { p.append(("height", .number(Double(height)))) }
            if let frameRate { p.append(("framerate", .number(frameRate))) }
            if let videoDataRateKbps { p.append(("videodatarate", .number(videoDataRateKbps))) }
            p.append(("videocodecid", .number(7)))
        }
        if hasAudio {
            if let audioDataRateKbps { p.append(("audiodatarate", .number(audioDataRateKbps))) }
            p.append(("audiosamplerate", .number(Double(audioSampleRate))))
            p.append(("audiosamplesize", .number(16)))
            p.append(("stereo", .boolean(stereo)))
            p.append(("audiocodecid", .number(10)))
        }
        p.append(("encoder", .string(encoder)))
        return p
    }
}

/// Builds FLV tag bodies (shared by the RTMP publisher and the FLV file writer).
public enum FLVTagBody {
    /// Script data. RTMP publishers wrap it in `@setDataFrame`; FLV files don't.
    public static func metadata(_ metadata: FLVMetadata, forRTMP: Bool) -> [UInt8] {
        var out: [UInt8] = []
        if forRTMP { AMF0.encode(.string("@setDataFrame"), into: &out) }
        AMF0.encode(.string("onMetaData"), into: &out)
        AMF0.encode(.ecmaArray(metadata.properties), into: &out)
        return out
    }

    /// `0x17 0x00 000000` + AVCDecoderConfigurationRecord.
    public static func avcSequenceHeader(record: [UInt8]) -> [UInt8] {
        [0x17, 0x00, 0, 0, 0] + record
    }

    /// The 5-byte header of an AVC NALU tag; the AVCC payload follows it.
    public static func appendAVCFrameHeader(keyframe: Bool, compositionTime: Int32, into out: inout [UInt8]) {
        out.append(keyframe ? 0x17 : 0x27)
        out.append(0x01)
        out.appendBE24(UInt32(bitPattern: compositionTime) & 0xFFFFFF)
    }

    /// `0xAF 0x00` + AudioSpecificConfig (AAC, 44 kHz/16-bit/stereo flags as FLV requires for AAC).
    public static func aacSequenceHeader(config: [UInt8]) -> [UInt8] { [0xAF, 0x00] + config }

    public static func appendAACFrameHeader(into out: inout [UInt8]) { out.append(0xAF); out.append(0x01) }

    public static func aacFrame<C: Collection>(_ raw: C) -> [UInt8] where C.Element == UInt8 {
        var out: [UInt8] = [0xAF, 0x01]
        out.append(contentsOf: raw)
        return out
    }
}

/// What a video tag body says about itself (for readers, tests and FakeMediaMTX's checks).
public struct FLVVideoTagInfo: Sendable, Equatable {
    public let keyframe: Bool
    public let codecID: UInt8
    /// 0 sequence header, 1 NALUs, 2 end of sequence (AVC only).
    public let avcPacketType: UInt8?
    public let compositionTime: Int32

    public init?(_ body: [UInt8]) {
        guard let first = body.first else { return nil }
        keyframe = first >> 4 == 1
        codecID = first & 0x0F
        if codecID == 7 {
            guard body.count >= 5 else { return nil }
            avcPacketType = body[1]
            let raw = UInt32(body[2]) << 16 | UInt32(body[3]) << 8 | UInt32(body[4])
            compositionTime = Int32(bitPattern: raw << 8) >> 8  // sign-extend 24 bits
        } else {
            avcPacketType = nil
            compositionTime = 0
        }
    }
}

public struct FLVAudioTagInfo: Sendable, Equatable {
    public let soundFormat: UInt8
    /// 0 sequence header, 1 raw (AAC only).
    public let aacPacketType: UInt8?

    public init?(_ body: [UInt8]) {
        guard let first = body.first else { return nil }
        soundFormat = first >> 4
        if soundFormat == 10 {
            guard body.count >= 2 else { return nil }
            aacPacketType = body[1]
        } else {
            aacPacketType = nil
        }
    }
}

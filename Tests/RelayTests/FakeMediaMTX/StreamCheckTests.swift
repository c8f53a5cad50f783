import FakeMediaMTX
import Foundation
import Testing
@testable import Relay

@Suite("FakeMediaMTX stream check")
struct StreamCheckTests {
    static func sequenceHeader(_ media: RTMPFixtureMedia) throws -> FLVTag {
        let pps = H264Bitstream.splitAnnexB(media.accessUnits[0].bytes).first { H264Bitstream.nalType($0) == 8 } ?? []
        let record = try H264Bitstream.decoderConfigurationRecord(sps: [media.sps[...]], pps: [pps])
        return FLVTag(kind: .video, timestamp: 0, body: FLVTagBody.avcSequenceHeader(record: record))
    }

    static func frame(_ t: UInt32, key: Bool) -> FLVTag {
        var body: [UInt8] = []
        FLVTagBody.appendAVCFrameHeader(keyframe: key, compositionTime: 0, into: &body)
        return FLVTag(kind: .video, timestamp: t, body: body + [0, 0, 0, 1, 0x65])
    }

    static func metadata(video: Bool, audio: Bool) -> FLVTag {
        FLVTag(kind: .script, timestamp: 0, body: FLVTagBody.metadata(FLVMetadata(width: 320, height: 240, hasVideo: video, hasAudio: audio), forRTMP: false))
    }

    static let audioConfig = FLVTag(kind: .audio, timestamp: 0, body: FLVTagBody.aacSequenceHeader(config: AAC.lc48kStereoConfig))
    static func audioFrame(_ t: UInt32) -> FLVTag { FLVTag(kind: .audio, timestamp: t, body: FLVTagBody.aacFrame([1, 2, 3])) }

    @Test func readyWaitsForEveryTrackTheMetadataAnnounces() throws {
        let media = try RTMPFixtureMedia.load()
        var check = StreamCheck()
        check.observe(Self.metadata(video: true, audio: true))
        #expect(check.announcesVideo && check.announcesAudio)
        check.observe(try Self.sequenceHeader(media))
        #expect(!check.isReady, "audio was announced and its config has not arrived")
        #expect(check.width == 320 && check.height == 240)
        check.observe(Self.audioConfig)
        #expect(check.isReady)
        #expect(check.trackNames == ["H264", "MPEG-4 Audio"])
    }

    @Test func withoutMetadataTheVideoConfigMakesThePathReady() throws {
        let media = try RTMPFixtureMedia.load()
        var check = StreamCheck()
        check.observe(Self.audioConfig)
        #expect(!check.isReady)
        check.observe(try Self.sequenceHeader(media))
        #expect(check.isReady)
        var videoOnly = StreamCheck()
        videoOnly.observe(Self.metadata(video: true, audio: false))
        videoOnly.observe(try Self.sequenceHeader(media))
        #expect(videoOnly.isReady && videoOnly.trackNames == ["H264"])
    }

    @Test func countsFramesKeyframesDTSViolationsGapsAndTheAVOffset() {
        var check = StreamCheck()
        for (t, key) in [(100, true), (133, false), (166, false), (150, false), (400, true)] as [(UInt32, Bool)] {
            check.observe(Self.frame(t, key: key))
        }
        for t: UInt32 in [120, 141, 141, 162] { check.observe(Self.audioFrame(t)) }
        #expect(check.video.frames == 5 && check.video.keyframes == 2)
        #expect(check.video.dtsViolations == 1)
        #expect(check.video.largestDTSGapMs == 250)
        #expect(check.video.startsWithKeyframe == true)
        #expect(check.audio.frames == 4 && check.audio.dtsViolations == 0, "equal audio DTS is allowed")
        #expect(check.avStartOffsetMs == 20)
        #expect(!check.description.isEmpty)
    }

    @Test func randomAndTruncatedTagsNeverCrash() throws {
        let media = try RTMPFixtureMedia.load()
        let header = try Self.sequenceHeader(media)
        var rng = SeededRandom(seed: 42)
        var check = StreamCheck()
        for cut in 0..<header.body.count { check.observe(FLVTag(kind: .video, timestamp: 0, body: Array(header.body.prefix(cut)))) }
        for _ in 0..<2000 {
            let kind: FLVTag.Kind = [.audio, .video, .script][Int.random(in: 0..<3, using: &rng)]
            let body = (0..<Int.random(in: 0..<64, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            check.observe(FLVTag(kind: kind, timestamp: UInt32.random(in: 0...UInt32.max, using: &rng), body: body))
        }
        #expect(check.tags == header.body.count + 2000)
    }
}

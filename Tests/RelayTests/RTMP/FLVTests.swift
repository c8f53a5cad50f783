import Testing
@testable import Relay

@Suite("FLV and H.264/AAC helpers")
struct FLVTests {
    @Test func fixtureSPSGivesPictureSizeAndRecord() throws {
        let media = try RTMPFixtureMedia.load()
        #expect(media.accessUnits.count == 90)
        #expect(media.accessUnits.filter(\.isKeyframe).count == 3)
        let info = try H264SPS(nal: media.sps)
        #expect(info.width == 320 && info.height == 240)
        let record = try H264Bitstream.decoderConfigurationRecord(sps: [media.sps[...]], pps: [[0x68, 0xCE, 0x3C, 0x80][...]])
        #expect(Array(record.prefix(6)) == [1, media.sps[1], media.sps[2], media.sps[3], 0xFF, 0xE1])
        #expect(media.audioConfig == AAC.lc48kStereoConfig)
        #expect(media.audioFrames.count > 100)
    }

    @Test func truncatedSPSIsAnErrorNotACrash() throws {
        let media = try RTMPFixtureMedia.load()
        for cut in 0..<media.sps.count - 1 { _ = try? H264SPS(nal: media.sps.prefix(cut)) }
        #expect(throws: H264SPS.ParseError.self) { try H264SPS(nal: media.sps.prefix(4)) }
    }

    @Test func annexBSplitHandlesBothStartCodes() {
        let bytes: [UInt8] = [0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 4, 5]
        #expect(H264Bitstream.splitAnnexB(bytes).map(Array.init) == [[0x67, 1, 2], [0x68, 3], [0x65, 4, 5]])
    }

    @Test func writerAndReaderRoundTrip() throws {
        var writer = FLVFileWriter()
        let tags = [
            FLVTag(kind: .script, timestamp: 0, body: FLVTagBody.metadata(FLVMetadata(width: 320, height: 240, frameRate: 30), forRTMP: false)),
            FLVTag(kind: .video, timestamp: 0, body: FLVTagBody.avcSequenceHeader(record: [1, 66, 0, 30])),
            FLVTag(kind: .audio, timestamp: 0x0123_4567, body: FLVTagBody.aacFrame([1, 2, 3])),
        ]
        for t in tags { writer.append(t) }
        let file = try FLVFile(writer.bytes)
        #expect(file.tags == tags)
        #expect(file.hasAudio && file.hasVideo)
        #expect(file.metadata?["width"] == .number(320))
        #expect(file.metadata?["videocodecid"] == .number(7))
        for cut in 14..<writer.bytes.count where !(cut == 13) {
            let prefix = Array(writer.bytes.prefix(cut))
            if let parsed = try? FLVFile(prefix) { #expect(parsed.tags.count < 3) }
        }
    }

    @Test func videoTagInfoReadsNegativeAndPositiveCompositionTime() {
        var body: [UInt8] = []
        FLVTagBody.appendAVCFrameHeader(keyframe: false, compositionTime: 67, into: &body)
        #expect(FLVVideoTagInfo(body) == FLVVideoTagInfo(body))
        #expect(FLVVideoTagInfo(body)?.compositionTime == 67)
        #expect(FLVVideoTagInfo(body)?.keyframe == false)
        #expect(FLVVideoTagInfo([0x27, 1, 0xFF, 0xFF, 0xFE])?.compositionTime == -2)
    }
}

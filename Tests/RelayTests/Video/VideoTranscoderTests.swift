import Foundation
import Testing
@testable import Relay

/// VP8 / H.264 → decode → scale → x264, judged by ffprobe and ffmpeg's psnr filter.
@Suite struct VideoTranscoderTests {
    static let oneSecondGOP = X264Settings(bitrateKbps: 1500, keyframeIntervalSeconds: 1)

    @Test func vp8FixtureBecomesH264WithKeyframesEverySecond() throws {
        let input = try VideoFixtures.vp8("media/testsrc2-320x240-60f.ivf", firstTimestamp: 12345)
        let transcoder = try VideoTranscoder(inputCodec: .vp8, settings: Self.oneSecondGOP)
        var units: [H264AccessUnit] = []
        for frame in input { units += try transcoder.transcode(frame) }
        units += try transcoder.flush()

        #expect(units.count == 60)
        #expect(units.map(\.rtpTimestamp) == input.map(\.rtpTimestamp), "timestamps carried through")
        #expect(units.indices.filter { units[$0].isKeyframe } == [0, 30])
        #expect(units.first?.parameterSetsChanged == true)
        #expect(units.dropFirst().allSatisfy { !$0.parameterSetsChanged })
        #expect(transcoder.stats.decoder.errors == 0)

        let (directory, file) = try temporaryFile("vp8.h264")
        defer { try? FileManager.default.removeItem(at: directory) }
        try VideoFixtures.writeAnnexB(units, to: file)
        let stream = try VideoJudge.stream(file)
        #expect(stream.codec == "h264")
        #expect(stream.profile == "Constrained Baseline")
        #expect(stream.width == 320 && stream.height == 240)
        #expect(stream.frames == 60)
        #expect(stream.hasBFrames == 0)
        let frames = try VideoJudge.frames(file)
        #expect(frames.indices.filter { frames[$0].key } == [0, 30])
        #expect(frames.allSatisfy { $0.pictType == "I" || $0.pictType == "P" })
        let psnr = try VideoJudge.psnr(output: file, reference: FixturePaths.url("media/testsrc2-320x240-60f.ivf"))
        #expect(psnr > 30, "PSNR against the VP8 source was \(psnr) dB")
    }

    @Test func requestedKeyframeIsTheNextFrame() throws {
        let input = try VideoFixtures.vp8("media/testsrc2-320x240-60f.ivf")
        let transcoder = try VideoTranscoder(inputCodec: .vp8, settings: X264Settings(keyframeIntervalSeconds: 10))
        var units: [H264AccessUnit] = []
        for (index, frame) in input.enumerated() {
            if index == 17 { transcoder.requestKeyframe() }
            units += try transcoder.transcode(frame)
        }
        #expect(units.indices.filter { units[$0].isKeyframe } == [0, 17])
        let idr = units[17].nalUnits.compactMap(\.first).map(H264NALType.of)
        #expect(idr.contains(H264NALType.idrSlice.rawValue))
        #expect(idr.contains(H264NALType.sps.rawValue), "in-band SPS before each IDR")

        let (directory, file) = try temporaryFile("idr.h264")
        defer { try? FileManager.default.removeItem(at: directory) }
        try VideoFixtures.writeAnnexB(units, to: file)
        let frames = try VideoJudge.frames(file)
        #expect(frames.count == 60)
        #expect(frames.indices.filter { frames[$0].key } == [0, 17])
    }

    @Test func resolutionChangeReopensTheEncoderWithNewParameterSets() throws {
        let small = try VideoFixtures.vp8("media/testsrc2-320x240-60f.ivf")
        let large = try VideoFixtures.vp8("video/testsrc2-640x360-30f.ivf", firstTimestamp: 60 * 3000)
        let encoder = try X264Encoder(settings: Self.oneSecondGOP)
        let transcoder = try VideoTranscoder(inputCodec: .vp8, encoder: encoder)
        var units: [H264AccessUnit] = []
        for frame in small + large { units += try transcoder.transcode(frame) }
        units += try transcoder.flush()

        #expect(units.count == 90)
        #expect(encoder.opens == 2)
        #expect(transcoder.stats.decoder.sizeChanges == 1)
        #expect(units.indices.filter { units[$0].parameterSetsChanged } == [0, 60])
        #expect(units[60].isKeyframe)
        let first = try H264SPS(nal: try #require(units[0].sps))
        let second = try H264SPS(nal: try #require(units[60].sps))
        #expect(first.width == 320 && first.height == 240)
        #expect(second.width == 640 && second.height == 360)

        // Downstream, the same H264Passthrough as for browser H.264 turns this into sequence headers.
        var passthrough = H264Passthrough()
        let outputs = units.compactMap { passthrough.push($0) }
        #expect(outputs.count == 90)
        #expect(outputs.indices.filter { outputs[$0].sequenceHeader != nil } == [0, 60])
        #expect(outputs[59].stream.width == 320 && outputs[60].stream.width == 640)

        let (directory, file) = try temporaryFile("resize.h264")
        defer { try? FileManager.default.removeItem(at: directory) }
        try VideoFixtures.writeAnnexB(units, to: file)
        let frames = try VideoJudge.frames(file)
        #expect(frames.count == 90)
        #expect(frames.prefix(60).allSatisfy { $0.width == 320 && $0.height == 240 })
        #expect(frames.suffix(30).allSatisfy { $0.width == 640 && $0.height == 360 })
    }

    @Test func fixedOutputSizeScalesEveryPicture() throws {
        let input = try VideoFixtures.vp8("media/testsrc2-320x240-60f.ivf")
        let transcoder = try VideoTranscoder(inputCodec: .vp8, video: VideoConfig(mode: .transcode, width: 640, height: 360))
        var units: [H264AccessUnit] = []
        for frame in input { units += try transcoder.transcode(frame) }
        units += try transcoder.flush()
        #expect(units.count == 60)
        let sps = try H264SPS(nal: try #require(transcoder.parameterSets?.sps))
        #expect(sps.width == 640 && sps.height == 360)

        let (directory, file) = try temporaryFile("fixed.h264")
        defer { try? FileManager.default.removeItem(at: directory) }
        try VideoFixtures.writeAnnexB(units, to: file)
        let stream = try VideoJudge.stream(file)
        #expect(stream.width == 640 && stream.height == 360)
        #expect(stream.frames == 60)

        let psnr = try VideoJudge.psnr(output: file, reference: FixturePaths.url("media/testsrc2-320x240-60f.ivf"),
                                       scaleReferenceTo: VideoSize(width: 640, height: 360))
        #expect(psnr > 30, "PSNR against the upscaled VP8 source was \(psnr) dB")
    }

    @Test func forcedTranscodeOfH264() throws {
        let input = try VideoFixtures.h264("media/testsrc2-320x240-60f.h264")
        #expect(input.count == 60)
        let transcoder = try VideoTranscoder(inputCodec: .h264, settings: Self.oneSecondGOP)
        var units: [H264AccessUnit] = []
        for unit in input { units += try transcoder.transcode(unit) }
        units += try transcoder.flush()
        #expect(units.count == 60)
        #expect(units.map(\.rtpTimestamp) == input.map(\.rtpTimestamp))
        #expect(transcoder.stats.decoder.errors == 0)

        let (directory, file) = try temporaryFile("h264.h264")
        defer { try? FileManager.default.removeItem(at: directory) }
        try VideoFixtures.writeAnnexB(units, to: file)
        let stream = try VideoJudge.stream(file)
        #expect(stream.frames == 60 && stream.width == 320 && stream.height == 240 && stream.hasBFrames == 0)
        let psnr = try VideoJudge.psnr(output: file, reference: FixturePaths.url("media/testsrc2-320x240-60f.h264"))
        #expect(psnr > 30, "PSNR against the H.264 source was \(psnr) dB")
    }

    @Test func garbageFramesAreCountedAndTheNextKeyframeRecovers() throws {
        let clean = try VideoFixtures.vp8("media/testsrc2-320x240-60f.ivf")
        var input = clean
        var random = SeededRandom(seed: 6)
        for index in 5..<10 {
            input[index].data = (0..<Int.random(in: 1...3000, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            input[index].data[0] |= 0x01  // claims to be an inter frame
        }
        input[12].data = Array(input[12].data.prefix(3))  // truncated
        let transcoder = try VideoTranscoder(inputCodec: .vp8)
        var unitsByFrame: [[H264AccessUnit]] = []
        var asked = false
        for frame in input {
            unitsByFrame.append(try transcoder.transcode(frame))
            asked = transcoder.takeSourceKeyframeRequest() || asked
        }
        #expect(transcoder.stats.decoder.errors >= 1)
        #expect(asked, "a PLI is wanted after the decoder lost the picture")
        #expect(!transcoder.takeSourceKeyframeRequest(), "the request is answered once")
        #expect(unitsByFrame[0..<5].allSatisfy { $0.count == 1 })
        #expect(unitsByFrame[30..<60].allSatisfy { $0.count == 1 }, "output resumes at the keyframe")
        #expect(transcoder.stats.framesDroppedWaitingForKeyframe > 0)

        // After the keyframe the pictures are the clean stream's again.
        let recovered = unitsByFrame.flatMap { $0 }
        let decoded = try LumaCapture.decode(recovered.map { .h264($0) }, codec: .h264)
        let reference = try LumaCapture.decode(clean.map { .vp8($0) }, codec: .vp8)
        for (picture, original) in zip(decoded.suffix(30), reference.suffix(30)) {
            #expect(LumaCapture.psnr(picture.1, original.1) > 30)
        }
    }

    @Test func timestampsSurviveTheRTPWrap() throws {
        let input = try VideoFixtures.vp8("media/testsrc2-320x240-60f.ivf", firstTimestamp: UInt32.max - 3000 * 20)
        let transcoder = try VideoTranscoder(inputCodec: .vp8)
        var units: [H264AccessUnit] = []
        for frame in input { units += try transcoder.transcode(frame) }
        #expect(units.map(\.rtpTimestamp) == input.map(\.rtpTimestamp))
    }
}

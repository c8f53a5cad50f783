import Foundation
import Testing
@testable import Relay

@Suite struct AVVideoDecoderTests {
    @Test func decodesEveryVP8FrameAndReportsTheSizeChange() throws {
        let frames = try VideoFixtures.vp8("media/testsrc2-320x240-60f.ivf") + VideoFixtures.vp8("video/testsrc2-640x360-30f.ivf")
        let decoder = try AVVideoDecoder(codec: .vp8)
        var sizes: [VideoSize] = []
        var changedAt: [Int] = []
        for (index, frame) in frames.enumerated() {
            let status = decoder.decode(.vp8(frame), pts: Int64(index) * 3000) { picture in
                #expect(picture.format == .i420)
                #expect(picture.pts == Int64(index) * 3000)
                sizes.append(picture.size)
            }
            if status.sizeChanged { changedAt.append(index) }
        }
        decoder.flush { _ in Issue.record("VP8 holds no frames back") }
        #expect(sizes.count == 90)
        #expect(changedAt == [60])
        #expect(decoder.stats.sizeChanges == 1 && decoder.stats.errors == 0 && decoder.stats.picturesOut == 90)
        #expect(decoder.pictureSize == VideoSize(width: 640, height: 360))
    }

    @Test func randomBytesNeverCrashAndAreCounted() throws {
        let decoder = try AVVideoDecoder(codec: .vp8)
        let h264 = try AVVideoDecoder(codec: .h264)
        var random = SeededRandom(seed: 0x5EED)
        for round in 0..<300 {
            let count = Int.random(in: 0...4000, using: &random)
            var bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) }
            if round % 3 == 0, count > 10 { bytes[3] = 0x9D; bytes[4] = 0x01; bytes[5] = 0x2A; bytes[0] &= 0xFE }  // keyframe-looking
            let keyframe = bytes.first.map { $0 & 1 == 0 } ?? false
            decoder.decode(.vp8(VP8Frame(rtpTimestamp: UInt32(round), data: bytes, isKeyframe: keyframe)), pts: Int64(round)) { _ in }
            h264.decode(.h264(H264AccessUnit(rtpTimestamp: UInt32(round), avcc: bytes, isKeyframe: round % 2 == 0, isReference: true,
                                             sps: nil, pps: nil, parameterSetsChanged: false)), pts: Int64(round)) { _ in }
        }
        #expect(decoder.stats.errors > 0)
        #expect(decoder.stats.framesIn == 300)
        // Still decodes real input afterwards.
        let clean = try VideoFixtures.vp8("media/testsrc2-320x240-60f.ivf")
        var pictures = 0
        for (index, frame) in clean.enumerated() { decoder.decode(.vp8(frame), pts: 10_000 + Int64(index)) { _ in pictures += 1 } }
        #expect(pictures == 60)
    }

    @Test func oversizedFrameIsRefusedWithoutAllocatingIt() throws {
        let decoder = try AVVideoDecoder(codec: .vp8)
        let huge = VP8Frame(rtpTimestamp: 0, data: [UInt8](repeating: 0, count: AVVideoDecoder.maxFrameBytes + 1), isKeyframe: true)
        let status = decoder.decode(.vp8(huge), pts: 0) { _ in }
        #expect(status.failed && decoder.stats.errors == 1)
    }
}

@Suite struct FrameScalerTests {
    @Test func targetSizeFollowsTheAspectRatioWhenOneSideIsSet() {
        let input = VideoSize(width: 1280, height: 720)
        #expect(VideoSize.target(input: input, width: nil, height: nil) == input)
        #expect(VideoSize.target(input: input, width: 640, height: 360) == VideoSize(width: 640, height: 360))
        #expect(VideoSize.target(input: input, width: 854, height: nil) == VideoSize(width: 854, height: 480))
        #expect(VideoSize.target(input: input, width: nil, height: 480) == VideoSize(width: 854, height: 480))
        #expect(VideoSize.target(input: VideoSize(width: 0, height: 0), width: 100, height: nil).height >= 2)
    }

    @Test func passesThroughWhenNothingChangesAndRebuildsOnNewInputSize() throws {
        let scaler = try FrameScaler()
        let small = I420Buffer(size: VideoSize(width: 64, height: 48), fill: (200, 90, 160))
        try small.withPicture(pts: 7) { picture in
            let same = try scaler.convert(picture)
            #expect(same.planes.0.base == picture.planes.0.base)
        }
        #expect(scaler.contextsCreated == 0)

        let fixed = try FrameScaler(width: 32, height: 24)
        for size in [VideoSize(width: 64, height: 48), VideoSize(width: 64, height: 48), VideoSize(width: 128, height: 96)] {
            try I420Buffer(size: size, fill: (200, 90, 160)).withPicture(pts: 7) { picture in
                let out = try fixed.convert(picture)
                #expect(out.size == VideoSize(width: 32, height: 24) && out.format == .i420 && out.pts == 7)
                let y = LumaCapture.luma(out)
                #expect(y.allSatisfy { abs(Int($0) - 200) <= 1 }, "a flat picture stays flat")
                let u = try #require(out.planes.1.base)
                #expect(abs(Int(u[0]) - 90) <= 1)
            }
        }
        #expect(fixed.contextsCreated == 2)
        #expect(fixed.picturesConverted == 3)
    }
}

@Suite struct X264EncoderTests {
    @Test func wrongPresetFailsAtInitWithTheKeyToFix() {
        #expect(throws: VideoEncoderError.self) { try X264Encoder(settings: X264Settings(preset: "warp9")) }
        do {
            _ = try X264Encoder(settings: X264Settings(preset: "warp9"))
        } catch {
            #expect("\(error)".contains("relay.video.x264_preset"))
        }
    }

    @Test func oddSizeIsAnErrorNotACrash() throws {
        let encoder = try X264Encoder()
        I420Buffer(size: VideoSize(width: 33, height: 17)).withPicture(pts: 0) { picture in
            #expect(throws: VideoEncoderError.self) { _ = try encoder.encode(picture) }
        }
    }

    @Test func keyframeIntervalIsMeasuredOnTimestamps() throws {
        // 10 fps input with a 1 s interval and x264's nominal 30 fps: IDRs every 10 frames, not 30.
        let encoder = try X264Encoder(settings: X264Settings(keyframeIntervalSeconds: 1, frameRate: 30))
        var keyframes: [Int] = []
        for index in 0..<35 {
            let shade = UInt8(16 + index * 5)
            let units = try I420Buffer(size: VideoSize(width: 64, height: 64), fill: (shade, 128, 128))
                .withPicture(pts: Int64(index) * 9000) { try encoder.encode($0) }
            #expect(units.count == 1)
            if units.first?.isKeyframe == true { keyframes.append(index) }
            #expect(units.first?.rtpTimestamp == UInt32(index * 9000))
        }
        #expect(keyframes == [0, 10, 20, 30])
        #expect(try encoder.flush().isEmpty, "zerolatency holds no frames")
    }

    @Test func repeatedTimestampIsNudgedForward() throws {
        let encoder = try X264Encoder()
        var stamps: [UInt32] = []
        for pts in [Int64(3000), 3000, 2000, 6000] {
            stamps += try I420Buffer(size: VideoSize(width: 64, height: 64)).withPicture(pts: pts) { try encoder.encode($0) }.map(\.rtpTimestamp)
        }
        #expect(stamps == [3000, 3001, 3002, 6000])
    }

    @Test func mainAndHighProfilesAreSelectable() throws {
        for (profile, idc) in [(X264Settings.Profile.constrainedBaseline, UInt8(66)), (.main, 77), (.high, 100)] {
            let encoder = try X264Encoder(settings: X264Settings(profile: profile))
            let units = try I420Buffer(size: VideoSize(width: 64, height: 64)).withPicture(pts: 0) { try encoder.encode($0) }
            let sps = try H264SPS(nal: try #require(units.first?.sps))
            #expect(sps.profileIdc == idc)
            if profile == .constrainedBaseline { #expect(sps.constraintFlags & 0xC0 == 0xC0, "constraint_set0 and 1: Constrained Baseline") }
        }
    }
}

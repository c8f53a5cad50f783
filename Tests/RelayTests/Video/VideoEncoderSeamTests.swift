import Foundation
import Testing
@testable import Relay

/// The VideoEncoder seam a hardware encoder will plug into: the transcoder hands it I420
/// pictures at the output size, with pts unwrapped across the RTP timestamp wrap.
@Suite struct VideoEncoderSeamTests {
    final class RecordingEncoder: VideoEncoder {
        var pictures: [(size: VideoSize, format: VideoPixelFormat, pts: Int64, firstLuma: UInt8)] = []
        var keyframeRequests = 0
        var parameterSets: (sps: [UInt8], pps: [UInt8])? { nil }

        func encode(_ picture: DecodedPicture) throws -> [H264AccessUnit] {
            pictures.append((picture.size, picture.format, picture.pts, picture.planes.0.base?.pointee ?? 0))
            return [H264AccessUnit(rtpTimestamp: UInt32(truncatingIfNeeded: picture.pts), avcc: [0, 0, 0, 1, 0x65], isKeyframe: false,
                                   isReference: true, sps: nil, pps: nil, parameterSetsChanged: false)]
        }

        func requestKeyframe() { keyframeRequests += 1 }
        func flush() throws -> [H264AccessUnit] { [] }
    }

    @Test func encoderGetsScaledI420PicturesWithUnwrappedTimestamps() throws {
        let first = UInt32.max - 3000 * 5
        let input = try VideoFixtures.vp8("media/testsrc2-320x240-60f.ivf", firstTimestamp: first)
        let encoder = RecordingEncoder()
        let transcoder = try VideoTranscoder(inputCodec: .vp8, outputWidth: 160, encoder: encoder)
        var out: [H264AccessUnit] = []
        for frame in input.prefix(10) { out += try transcoder.transcode(frame) }
        transcoder.requestKeyframe()

        #expect(encoder.pictures.count == 10)
        #expect(encoder.pictures.allSatisfy { $0.size == VideoSize(width: 160, height: 120) && $0.format == .i420 })
        #expect(encoder.pictures.map(\.pts) == (0..<10).map { Int64(first) + Int64($0) * 3000 }, "no step back at the wrap")
        #expect(encoder.pictures.last!.pts > Int64(UInt32.max))
        #expect(out.map(\.rtpTimestamp) == input.prefix(10).map(\.rtpTimestamp))
        #expect(encoder.keyframeRequests == 1)
    }
}

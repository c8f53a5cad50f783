import Foundation
import Testing
@testable import Relay

/// Fixture loading and foreign judging (ffprobe / ffmpeg) shared by the video tests.
enum VideoFixtures {
    /// VP8 frames from an IVF fixture, stamped 3000 ticks apart (30 fps on the 90 kHz clock).
    static func vp8(_ relative: String, firstTimestamp: UInt32 = 0) throws -> [VP8Frame] {
        let ivf = try IVFReader([UInt8](Data(contentsOf: FixturePaths.url(relative))))
        return ivf.frames.enumerated().map { index, frame in
            let header = VP8FrameHeader(frame.data)
            return VP8Frame(
                rtpTimestamp: firstTimestamp &+ UInt32(index * 3000), data: frame.data,
                isKeyframe: header?.isKeyframe ?? false, width: header?.width, height: header?.height)
        }
    }

    /// Access units of an Annex-B fixture, with the parameter sets in force filled in, the way
    /// the H.264 depacketizer delivers them.
    static func h264(_ relative: String) throws -> [H264AccessUnit] {
        let stream = [UInt8](try Data(contentsOf: FixturePaths.url(relative)))
        var sps: [UInt8]?, pps: [UInt8]?
        return AnnexB.accessUnits(stream).enumerated().map { index, nals in
            var avcc: [UInt8] = []
            var keyframe = false, changed = false
            for nal in nals {
                let type = H264NALType.of(nal.first ?? 0)
                if type == H264NALType.sps.rawValue, Array(nal) != sps { sps = Array(nal); changed = true }
                if type == H264NALType.pps.rawValue, Array(nal) != pps { pps = Array(nal); changed = true }
                if type == H264NALType.idrSlice.rawValue { keyframe = true }
                avcc += bigEndian32(nal.count) + nal
            }
            return H264AccessUnit(rtpTimestamp: UInt32(index * 3000), avcc: avcc, isKeyframe: keyframe, isReference: true,
                                  sps: sps, pps: pps, parameterSetsChanged: changed)
        }
    }

    static func bigEndian32(_ value: Int) -> [UInt8] {
        [UInt8(value >> 24 & 0xFF), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }

    /// Writes units as an Annex-B elementary stream (what ffprobe reads as raw h264).
    static func writeAnnexB(_ units: [H264AccessUnit], to url: URL) throws {
        try Data(units.flatMap(\.annexB)).write(to: url)
    }
}

/// Runs ffprobe/ffmpeg on files and returns what they saw.
enum VideoJudge {
    struct Stream {
        var codec: String
        var profile: String
        var width: Int
        var height: Int
        var frames: Int
        var hasBFrames: Int
    }

    struct Frame {
        var key: Bool
        var pictType: String
        var width: Int
        var height: Int
    }

    static func stream(_ file: URL) throws -> Stream {
        let result = try ExternalTool.run("ffprobe", ["-v", "error", "-count_frames", "-select_streams", "v:0",
                                                      "-show_streams", "-of", "json", file.path])
        #expect(result.status == 0, "ffprobe failed: \(result.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any])
        let stream = try #require((json["streams"] as? [[String: Any]])?.first)
        return Stream(
            codec: stream["codec_name"] as? String ?? "", profile: stream["profile"] as? String ?? "",
            width: stream["width"] as? Int ?? 0, height: stream["height"] as? Int ?? 0,
            frames: Int(stream["nb_read_frames"] as? String ?? "") ?? -1, hasBFrames: stream["has_b_frames"] as? Int ?? -1)
    }

    static func frames(_ file: URL) throws -> [Frame] {
        let result = try ExternalTool.run("ffprobe", ["-v", "error", "-select_streams", "v:0", "-show_frames",
                                                      "-show_entries", "frame=key_frame,pict_type,width,height", "-of", "json", file.path])
        #expect(result.status == 0, "ffprobe failed: \(result.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any])
        let frames = try #require(json["frames"] as? [[String: Any]])
        return frames.map {
            Frame(key: $0["key_frame"] as? Int == 1, pictType: $0["pict_type"] as? String ?? "",
                  width: $0["width"] as? Int ?? 0, height: $0["height"] as? Int ?? 0)
        }
    }

    /// Average PSNR (dB) of `output` (raw H.264) against `reference`, by ffmpeg's psnr filter.
    /// Frames are paired by index (raw H.264 has no timestamps of its own); `scaleReferenceTo`
    /// scales the reference first (bilinear, as FrameScaler does) when the output has another size.
    static func psnr(output: URL, reference: URL, scaleReferenceTo size: VideoSize? = nil) throws -> Double {
        let scale = size.map { ",scale=\($0.width):\($0.height):flags=bilinear" } ?? ""
        let graph = "[0:v]settb=1/30,setpts=N[out];[1:v]settb=1/30,setpts=N\(scale)[ref];[out][ref]psnr"
        let result = try ExternalTool.run("ffmpeg", ["-hide_banner", "-nostats", "-i", output.path,
                                                     "-i", reference.path, "-lavfi", graph, "-f", "null", "-"])
        #expect(result.status == 0, "ffmpeg psnr failed: \(result.stderr)")
        guard let range = result.stderr.range(of: "average:") else { return 0 }
        let number = result.stderr[range.upperBound...].prefix { $0.isNumber || $0 == "." || $0 == "i" || $0 == "n" || $0 == "f" }
        return Double(number) ?? (number == "inf" ? .infinity : 0)
    }
}

/// Decodes frames in-process and keeps each picture's luma, for content comparisons.
enum LumaCapture {
    static func decode(_ frames: [CompressedVideoFrame], codec: VideoCodec) throws -> [(VideoSize, [UInt8])] {
        let decoder = try AVVideoDecoder(codec: codec)
        var pictures: [(VideoSize, [UInt8])] = []
        let keep: (DecodedPicture) -> Void = { picture in pictures.append((picture.size, luma(picture))) }
        for (index, frame) in frames.enumerated() { decoder.decode(frame, pts: Int64(index) * 3000, keep) }
        decoder.flush(keep)
        return pictures
    }

    static func luma(_ picture: DecodedPicture) -> [UInt8] {
        guard let base = picture.planes.0.base else { return [] }
        var out: [UInt8] = []
        out.reserveCapacity(picture.size.width * picture.size.height)
        for row in 0..<picture.size.height {
            out += UnsafeBufferPointer(start: base + row * picture.planes.0.stride, count: picture.size.width)
        }
        return out
    }

    static func psnr(_ a: [UInt8], _ b: [UInt8]) -> Double {
        guard a.count == b.count, !a.isEmpty else { return 0 }
        var squared = 0.0
        for index in a.indices {
            let d = Double(Int(a[index]) - Int(b[index]))
            squared += d * d
        }
        let mse = squared / Double(a.count)
        return mse == 0 ? 99 : 10 * log10(255 * 255 / mse)
    }
}

func temporaryFile(_ name: String) throws -> (URL, URL) {
    let directory = try ExternalTool.temporaryDirectory("video")
    return (directory, directory.appendingPathComponent(name))
}

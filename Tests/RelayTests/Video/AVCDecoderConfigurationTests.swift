import Foundation
import Testing
@testable import Relay

@Suite struct AVCDecoderConfigurationTests {
    func x264ParameterSets(_ profile: X264Settings.Profile, size: VideoSize = VideoSize(width: 320, height: 240)) throws -> ([UInt8], [UInt8]) {
        let encoder = try X264Encoder(settings: X264Settings(profile: profile))
        _ = try I420Buffer(size: size).withPicture(pts: 0) { try encoder.encode($0) }
        let sets = try #require(encoder.parameterSets)
        return (sets.sps, sets.pps)
    }

    @Test func recordBytesFollowTheSPS() throws {
        let (sps, pps) = try x264ParameterSets(.constrainedBaseline)
        let record = try AVCDecoderConfiguration(sps: sps, pps: pps)
        let bytes = record.bytes
        #expect(Array(bytes.prefix(6)) == [1, sps[1], sps[2], sps[3], 0xFF, 0xE1])
        #expect(Int(bytes[6]) << 8 | Int(bytes[7]) == sps.count)
        #expect(Array(bytes[8..<8 + sps.count]) == sps)
        let ppsAt = 8 + sps.count
        #expect(bytes[ppsAt] == 1)
        #expect(Int(bytes[ppsAt + 1]) << 8 | Int(bytes[ppsAt + 2]) == pps.count)
        #expect(Array(bytes[(ppsAt + 3)...]) == pps, "no High-profile tail for baseline")
        #expect(sps[1] == 66 && sps[2] & 0xC0 == 0xC0)

        let parsed = try AVCDecoderConfiguration(parsing: bytes)
        #expect(parsed == record)
        #expect(parsed.sequenceParameterSets == [sps] && parsed.pictureParameterSets == [pps] && parsed.nalLengthSize == 4)
    }

    @Test func highProfileRecordCarriesChromaFormat() throws {
        let (sps, pps) = try x264ParameterSets(.high)
        let record = try AVCDecoderConfiguration(sps: sps, pps: pps)
        #expect(record.profileIdc == 100)
        #expect(Array(record.bytes.suffix(4)) == [0xFD, 0xF8, 0xF8, 0x00], "4:2:0, 8-bit, no SPS extensions")
        let parsed = try AVCDecoderConfiguration(parsing: record.bytes)
        #expect(parsed.highProfileFields?.chromaFormat == 1)
    }

    @Test func ffmpegsOwnRecordForOurStreamMatches() throws {
        // A foreign check: ffmpeg muxes our Annex-B stream into MP4 and writes its own avcC;
        // parsed with our parser it must carry the same fields and parameter sets.
        let encoder = try X264Encoder()
        let units = try I420Buffer(size: VideoSize(width: 320, height: 240)).withPicture(pts: 0) { try encoder.encode($0) }
        let (sps, pps) = try #require(encoder.parameterSets)
        let ours = try AVCDecoderConfiguration(sps: sps, pps: pps)
        let (directory, file) = try temporaryFile("one.h264")
        defer { try? FileManager.default.removeItem(at: directory) }
        try VideoFixtures.writeAnnexB(units, to: file)
        let mp4 = directory.appendingPathComponent("one.mp4")
        let mux = try ExternalTool.run("ffmpeg", ["-v", "error", "-framerate", "30", "-i", file.path, "-c", "copy", "-y", mp4.path])
        #expect(mux.status == 0, "\(mux.stderr)")
        let data = [UInt8](try Data(contentsOf: mp4))
        let avcC = Array("avcC".utf8)
        let at = try #require((0..<(data.count - 4)).first { Array(data[$0..<$0 + 4]) == avcC })
        let boxSize = Int(data[at - 4]) << 24 | Int(data[at - 3]) << 16 | Int(data[at - 2]) << 8 | Int(data[at - 1])
        let theirs = try AVCDecoderConfiguration(parsing: Array(data[(at + 4)..<(at - 4 + boxSize)]))
        // FFmpeg's Annex-B reader keeps the first zero of the next 4-byte start code (trailing_zero_8bits).
        func trimmed(_ sets: [[UInt8]]) -> [[UInt8]] { sets.map { Array($0.reversed().drop { $0 == 0 }.reversed()) } }
        #expect(theirs.profileIdc == ours.profileIdc && theirs.profileCompatibility == ours.profileCompatibility)
        #expect(theirs.levelIdc == ours.levelIdc && theirs.nalLengthSize == 4)
        #expect(trimmed(theirs.sequenceParameterSets) == ours.sequenceParameterSets)
        #expect(trimmed(theirs.pictureParameterSets) == ours.pictureParameterSets)
    }

    @Test func truncatedOrRandomRecordsThrow() throws {
        let (sps, pps) = try x264ParameterSets(.constrainedBaseline)
        let bytes = try AVCDecoderConfiguration(sps: sps, pps: pps).bytes
        for length in 0..<bytes.count - 1 {
            #expect(throws: AVCDecoderConfiguration.FormatError.self) { try AVCDecoderConfiguration(parsing: Array(bytes.prefix(length))) }
        }
        var random = SeededRandom(seed: 42)
        for _ in 0..<500 {
            let junk = (0..<Int.random(in: 0...64, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            _ = try? AVCDecoderConfiguration(parsing: junk)
        }
        #expect(throws: AVCDecoderConfiguration.FormatError.self) { try AVCDecoderConfiguration(sps: pps, pps: sps) }
        #expect(throws: AVCDecoderConfiguration.FormatError.self) { try AVCDecoderConfiguration(sps: [0x67], pps: pps) }
    }
}

@Suite struct H264PassthroughTests {
    @Test func firstKeyframeBringsTheSequenceHeaderAndMetadata() throws {
        let units = try VideoFixtures.h264("media/testsrc2-320x240-60f.h264")
        var passthrough = H264Passthrough()
        let outputs = units.compactMap { passthrough.push($0) }
        #expect(outputs.count == 60)
        #expect(outputs.map(\.unit.avcc) == units.map(\.avcc), "units pass untouched")
        #expect(outputs.indices.filter { outputs[$0].sequenceHeader != nil } == [0])
        let first = try #require(outputs.first)
        #expect(first.stream.width == 320 && first.stream.height == 240 && first.stream.profileIdc == 66)
        #expect(first.sequenceHeader?.sequenceParameterSets == [units[0].sps!])
        #expect(passthrough.sequenceHeaders == 1)
    }

    @Test func newParameterSetsWaitForAKeyframe() throws {
        let units = try VideoFixtures.h264("media/testsrc2-320x240-60f.h264")
        let encoder = try X264Encoder()
        let other = try I420Buffer(size: VideoSize(width: 640, height: 360)).withPicture(pts: 0) { try encoder.encode($0) }
        let (sps, pps) = try #require(encoder.parameterSets)

        var passthrough = H264Passthrough()
        var noSets = units[0]
        noSets.sps = nil
        noSets.pps = nil
        let beforeSets = passthrough.push(noSets)
        #expect(beforeSets == nil, "nothing can go out before parameter sets")
        #expect(passthrough.unitsWithoutParameterSets == 1)

        let interFirst = passthrough.push(units[1])
        #expect(interFirst == nil, "an inter frame cannot start the stream")
        let keyFirst = passthrough.push(units[0])
        #expect(keyFirst?.sequenceHeader != nil)

        var interWithNewSets = units[1]
        interWithNewSets.sps = sps
        interWithNewSets.pps = pps
        let held = passthrough.push(interWithNewSets)
        #expect(held == nil)
        var keyframe = try #require(other.first)
        keyframe.parameterSetsChanged = false  // the passthrough decides by content, not by the flag
        let switchedOutput = passthrough.push(keyframe)
        let switched = try #require(switchedOutput)
        #expect(switched.sequenceHeader?.sequenceParameterSets == [sps])
        #expect(switched.unit.parameterSetsChanged)
        #expect(switched.stream.width == 640 && switched.stream.height == 360)
        #expect(passthrough.unitsBeforeKeyframe == 2)

        var garbage = units[0]
        garbage.sps = [0x67, 0x42]
        let refused = passthrough.push(garbage)
        #expect(refused == nil)
    }
}

@testable import FakeCalls
import Foundation
import Testing
@testable import Relay

/// Reading a recording (pcap → frames with keyframe flags) and the catalog of recordings.
@Suite struct RecordedTrackTests {
    @Test func h264RecordingLoadsAsFramesWithoutRTX() throws {
        let directory = try SyntheticRecordingWriter.write(.init(rtx: true, captureJitterMicros: 4_000))
        defer { try? FileManager.default.removeItem(at: directory) }
        let recording = try FixtureCatalog.loadRecording(directory: directory.path)
        let video = try #require(recording.video)
        let audio = try #require(recording.audio)
        let source = try SyntheticRecording.payloads(ofMediaFile: FixturePaths.url("media/testsrc2-320x240-60f.h264").path)
        #expect(video.codec == .h264)
        #expect(video.frames.count == 60)
        // Every frame's packets are the packetizer's payloads, in order: RTX copies and padding
        // probes were dropped, the sequence wrap was followed.
        #expect(video.frames.map { $0.packets.map(\.payload) } == source.frames)
        #expect(video.frames.allSatisfy { $0.packets.last?.marker == true })
        #expect(video.frames[0].isKeyframe)
        #expect(video.frameTicks == 3000)
        #expect(video.clockFromSenderReport)
        #expect(zip(video.frames, video.frames.dropFirst()).allSatisfy { $1.rtpTimestamp - $0.rtpTimestamp == 3000 })
        #expect(video.recordedSSRC == 0x1111_0001)
        #expect(audio.codec == .opus)
        let opus = try SyntheticRecording.payloads(ofMediaFile: FixturePaths.url("audio/tone-440L-660R-stereo-2s.opus.ogg").path)
        #expect(audio.frames.map { $0.packets.map(\.payload) } == opus.frames)
        #expect(audio.frameTicks == 960)
        #expect(audio.frames.allSatisfy { $0.isKeyframe })
    }

    @Test func vp8KeyframesAreFoundInThePayloadDescriptor() throws {
        let directory = try SyntheticRecordingWriter.write(.init(video: "media/testsrc2-320x240-60f.ivf", offer: "sdp/chromium-vp8only.sdp"))
        defer { try? FileManager.default.removeItem(at: directory) }
        let video = try #require(try FixtureCatalog.loadRecording(directory: directory.path).video)
        #expect(video.codec == .vp8)
        #expect(video.frames.count == 60)
        let ivf = try IVFReader([UInt8](Data(contentsOf: FixturePaths.url("media/testsrc2-320x240-60f.ivf"))))
        #expect(video.frames.map(\.isKeyframe) == ivf.frames.map { ($0.data.first ?? 1) & 1 == 0 })
        #expect(video.keyframeCount >= 1)
    }

    @Test func h264KeyframeNeedsIDRWithParameterSets() {
        let sps: [UInt8] = [0x67, 1, 2], pps: [UInt8] = [0x68, 3], idr: [UInt8] = [0x65, 4, 5]
        func stapA(_ units: [[UInt8]]) -> [UInt8] {
            [24] + units.flatMap { [UInt8($0.count >> 8), UInt8($0.count & 0xFF)] + $0 }
        }
        let fuStart: [UInt8] = [0x7C, 0x85, 9, 9]  // FU-A, start bit, type 5
        func frame(_ payloads: [[UInt8]]) -> [RecordedTrack.Packet] { payloads.map { .init(marker: false, payload: $0) } }
        #expect(RecordedTrack.isKeyframe(frame([stapA([sps, pps]), fuStart]), codec: .h264))
        #expect(RecordedTrack.isKeyframe(frame([sps, pps, idr]), codec: .h264))
        #expect(!RecordedTrack.isKeyframe(frame([idr]), codec: .h264))  // no SPS/PPS: undecodable on its own
        #expect(!RecordedTrack.isKeyframe(frame([stapA([sps, pps]), [0x41, 1]]), codec: .h264))
        #expect(!RecordedTrack.isKeyframe(frame([[0x7C, 0x05, 1]]), codec: .h264))  // FU-A middle fragment
        #expect(!RecordedTrack.isKeyframe(frame([[24, 0, 9, 0x67]]), codec: .h264))  // STAP-A running past its end
    }

    @Test func catalogPicksTheRecordingByVideoCodec() throws {
        let parent = try ExternalTool.temporaryDirectory("catalog")
        defer { try? FileManager.default.removeItem(at: parent) }
        _ = try SyntheticRecordingWriter.write(.init(), into: parent, name: "chromium-h264-opus")
        _ = try SyntheticRecordingWriter.write(.init(video: "media/testsrc2-320x240-60f.ivf", offer: "sdp/chromium-vp8only.sdp"),
                                               into: parent, name: "chromium-vp8-opus")
        let catalog = try FixtureCatalog(directory: parent.path)
        #expect(catalog.recordings.map(\.name) == ["chromium-h264-opus", "chromium-vp8-opus"])
        #expect(catalog.recording(videoCodec: .h264)?.name == "chromium-h264-opus")
        #expect(catalog.recording(videoCodec: .vp8)?.name == "chromium-vp8-opus")
        #expect(catalog.recording(videoCodec: nil)?.audio?.codec == .opus)

        let synthetic = try FixtureCatalog.synthetic(h264: FixturePaths.url("media/testsrc2-320x240-60f.h264").path, vp8: nil,
                                                     opus: nil)
        #expect(synthetic.filling(from: catalog).videoCodecs == [.h264, .vp8])
        #expect(FixtureCatalog(recordings: []).filling(from: catalog).videoCodecs == [.h264, .vp8])
    }

    @Test func damagedCapturesFailWithAReasonAndNeverCrash() throws {
        let directory = try SyntheticRecordingWriter.write(.init(audio: nil))
        defer { try? FileManager.default.removeItem(at: directory) }
        let pcap = directory.appendingPathComponent("video.pcap")
        let good = try [UInt8](Data(contentsOf: pcap))
        var random = SeededRandom(seed: 7)
        for round in 0..<60 {
            var bytes = Array(good.prefix(Int.random(in: 0...good.count, using: &random)))
            if round % 2 == 0, bytes.count > 40 {
                for _ in 0..<20 { bytes[Int.random(in: 24..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random) }
            }
            try Data(bytes).write(to: pcap)
            do { _ = try FixtureCatalog.loadRecording(directory: directory.path) } catch {
                #expect(!"\(error)".isEmpty)
            }
        }
        try Data("not a capture".utf8).write(to: pcap)
        #expect(throws: RecordedTrack.LoadError.self) { try FixtureCatalog.loadRecording(directory: directory.path) }
    }
}

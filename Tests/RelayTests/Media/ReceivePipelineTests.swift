import Foundation
import Testing
@testable import Relay

/// Fixture RTP through the receive pipelines into an FLV file that ffprobe/ffmpeg judge.
@Suite struct ReceivePipelineTests {
    let start = ContinuousClock.now

    func probe(_ flv: [UInt8]) throws -> (streams: [[String: Any]], dir: URL, path: String) {
        let dir = try ExternalTool.temporaryDirectory("pipeline")
        let path = dir.appendingPathComponent("out.flv").path
        try Data(flv).write(to: URL(fileURLWithPath: path))
        let result = try ExternalTool.run("ffprobe", ["-v", "error", "-count_frames", "-show_streams", "-of", "json", path])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any]
        return ((json?["streams"] as? [[String: Any]]) ?? [], dir, path)
    }

    func frameMD5s(_ path: String) throws -> [String] {
        let result = try ExternalTool.run("ffmpeg", ["-v", "error", "-i", path, "-map", "0:v", "-f", "framemd5", "-"])
        #expect(result.status == 0, "\(result.stderr)")
        return result.text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { String($0.split(separator: ",").last ?? "") }
    }

    /// Packets arrive 1 ms apart; `process` runs after each, as the media thread would.
    func run(_ packets: [H264RTPStream.Packet], through pipeline: VideoReceivePipeline, sink: MediaSink) {
        for (index, packet) in packets.enumerated() {
            let now = start + .milliseconds(index)
            pipeline.receive(payload: packet.payload, sequence: packet.sequence, timestamp: packet.timestamp,
                             marker: packet.marker, arrival: now)
            pipeline.process(now: now, into: sink)
        }
        pipeline.process(now: start + .seconds(3600), into: sink)
    }

    @Test func h264PassthroughIsExact() throws {
        let stream = try H264RTPStream()
        let pipeline = VideoReceivePipeline(inputCodec: .h264, transcoder: nil, now: start)
        let sink = FLVMemorySink(hasAudio: false)
        run(stream.packets, through: pipeline, sink: sink)
        #expect(sink.videoFrames == 60)
        #expect(sink.sequenceHeaders == 1)
        #expect(pipeline.stream?.width == 320 && pipeline.stream?.height == 240)
        let (streams, dir, path) = try probe(sink.bytes)
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(streams.first?["codec_name"] as? String == "h264")
        #expect(streams.first?["nb_read_frames"] as? String == "60")
        let original = try frameMD5s(FixturePaths.url("media/testsrc2-320x240-60f.h264").path)
        #expect(try frameMD5s(path) == original)
    }

    @Test func reorderedAndRetransmittedPacketsStillGiveEveryFrame() throws {
        let stream = try H264RTPStream()
        var rng = SeededRandom(seed: 5)
        // 5% of packets are "lost" and come back 30 ms later (a NACK answered), others swap pairs.
        var delayed: [(Int, H264RTPStream.Packet)] = []
        var order: [(Int, H264RTPStream.Packet)] = []
        for (index, packet) in stream.packets.enumerated() {
            if rng.next() % 20 == 0 { delayed.append((index + 30, packet)) } else { order.append((index, packet)) }
        }
        let arrivals = (order + delayed).sorted { $0.0 < $1.0 }
        let pipeline = VideoReceivePipeline(inputCodec: .h264, transcoder: nil, now: start)
        let sink = FLVMemorySink(hasAudio: false)
        var nacked = Set<UInt64>()
        for (time, packet) in arrivals {
            let now = start + .milliseconds(time)
            pipeline.receive(payload: packet.payload, sequence: packet.sequence, timestamp: packet.timestamp,
                             marker: packet.marker, arrival: now)
            pipeline.process(now: now, into: sink)
            nacked.formUnion(pipeline.nackList(now: now))
        }
        pipeline.process(now: start + .seconds(3600), into: sink)
        #expect(!delayed.isEmpty)
        #expect(nacked.isSuperset(of: delayed.map(\.1.sequence).filter { $0 < stream.packets.last!.sequence }))
        #expect(sink.videoFrames == 60)
        #expect(pipeline.stats.jitter.lost == 0)
    }

    @Test func unrepairedLossResumesAtTheNextKeyframeWithoutBrokenFrames() throws {
        let stream = try H264RTPStream()
        var rng = SeededRandom(seed: 11)
        let kept = stream.packets.filter { $0.frameIndex < 3 || $0.frameIndex >= 30 || rng.next() % 20 != 0 }
        #expect(kept.count < stream.packets.count)
        let pipeline = VideoReceivePipeline(inputCodec: .h264, transcoder: nil, now: start)
        let sink = FLVMemorySink(hasAudio: false)
        var keyframeRequests = 0
        for (index, packet) in kept.enumerated() {
            let now = start + .milliseconds(index * 300)  // every hole's wait has passed by the next packet
            pipeline.receive(payload: packet.payload, sequence: packet.sequence, timestamp: packet.timestamp,
                             marker: packet.marker, arrival: now)
            pipeline.process(now: now, into: sink)
            if pipeline.takeKeyframeRequest() { keyframeRequests += 1 }
        }
        #expect(keyframeRequests >= 2)  // at start, and after the loss
        #expect(sink.videoFrames >= 30 && sink.videoFrames < 60)
        let (_, dir, path) = try probe(sink.bytes)
        defer { try? FileManager.default.removeItem(at: dir) }
        let decode = try ExternalTool.run("ffmpeg", ["-v", "error", "-i", path, "-f", "null", "-"])
        #expect(decode.status == 0)
        #expect(decode.stderr.isEmpty, "decoder complained: \(decode.stderr)")
    }

    @Test func vp8IsTranscodedToH264() throws {
        let ivf = try IVFReader([UInt8](Data(contentsOf: FixturePaths.url("media/testsrc2-320x240-60f.ivf"))))
        var packetizer = VP8Packetizer()
        let pipeline = VideoReceivePipeline(inputCodec: .vp8, transcoder: try VideoTranscoder(inputCodec: .vp8, video: VideoConfig()),
                                            now: start)
        let sink = FLVMemorySink(hasAudio: false)
        var sequence: UInt64 = 40000
        for (index, frame) in ivf.frames.enumerated() {
            let payloads = packetizer.payloads(for: frame.data)
            for (n, payload) in payloads.enumerated() {
                let now = start + .milliseconds(index * 33)
                pipeline.receive(payload: payload, sequence: sequence, timestamp: UInt32(index * 3000),
                                 marker: n == payloads.count - 1, arrival: now)
                pipeline.process(now: now, into: sink)
                sequence += 1
            }
        }
        pipeline.process(now: start + .seconds(3600), into: sink)
        #expect(sink.videoFrames == 60)
        let (streams, dir, _) = try probe(sink.bytes)
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(streams.first?["codec_name"] as? String == "h264")
        #expect(streams.first?["width"] as? Int == 320)
        #expect(streams.first?["nb_read_frames"] as? String == "60")
    }

    @Test func opusBecomesAACAlongsideVideoInOneFile() throws {
        let ogg = try OggOpusReader([UInt8](Data(contentsOf: FixturePaths.url("audio/tone-440L-660R-stereo-2s.opus.ogg"))))
        let audio = AudioReceivePipeline(transcoder: try AudioTranscoder(), now: start)
        let video = VideoReceivePipeline(inputCodec: .h264, transcoder: nil, now: start)
        let sink = FLVMemorySink()
        let stream = try H264RTPStream()
        var videoPackets = stream.packets[...]
        for (index, packet) in ogg.packets.enumerated() {
            let now = start + .milliseconds(index * 20)
            audio.receive(payload: packet.data, sequence: UInt64(500 + index), timestamp: UInt32(index * 960), arrival: now)
            audio.process(now: now, into: sink)
            // Interleave video by time, as it would arrive.
            while let next = videoPackets.first, Int(next.timestamp) / 90 <= index * 20 {
                videoPackets = videoPackets.dropFirst()
                video.receive(payload: next.payload, sequence: next.sequence, timestamp: next.timestamp, marker: next.marker, arrival: now)
                video.process(now: now, into: sink)
            }
        }
        audio.finish(into: sink)
        let (streams, dir, _) = try probe(sink.bytes)
        defer { try? FileManager.default.removeItem(at: dir) }
        let aac = try #require(streams.first { $0["codec_type"] as? String == "audio" })
        #expect(aac["codec_name"] as? String == "aac")
        #expect(aac["sample_rate"] as? String == "48000")
        #expect(aac["channels"] as? Int == 2)
        let expectedFrames = (ogg.packets.count * 960 + 1023) / 1024
        let frames = Int(aac["nb_read_frames"] as? String ?? "") ?? 0
        #expect(abs(frames - expectedFrames) <= 2, "\(frames) vs \(expectedFrames)")
        #expect(streams.contains { $0["codec_name"] as? String == "h264" })
        #expect(sink.audioFrames == frames)
    }
}

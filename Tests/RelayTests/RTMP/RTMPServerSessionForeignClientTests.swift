import Foundation
import Testing
@testable import Relay

/// FFmpeg as the publisher into `RTMPServerSession` (what FakeMediaMTX's ingest builds on):
/// a foreign client proves the server side, and the path naming, are faithful.
@Suite("RTMP server session with ffmpeg as the publisher", .serialized)
struct RTMPServerSessionForeignClientTests {
    @Test(arguments: [("guest1", "guest1"), ("live/guest1", "live/guest1")])
    func ffmpegPublishesAndTheServerSeesPathAndMedia(urlPath: String, expectedPath: String) throws {
        guard let ffmpeg = ForeignTools.find("ffmpeg") else { Issue.record("ffmpeg is not installed"); return }
        let server = try StallingRTMPServer()
        server.start()
        defer { server.stop() }
        let result = try ForeignTools.run(ffmpeg, [
            "-hide_banner", "-v", "error",
            "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
            "-t", "1", "-c:v", "libx264", "-preset", "ultrafast", "-g", "15", "-c:a", "aac", "-ac", "2",
            "-f", "flv", "rtmp://127.0.0.1:\(server.port)/\(urlPath)",
        ])
        #expect(result.status == 0, "ffmpeg failed: \(result.err.prefix(800))")
        let deadline = ContinuousClock.now + .seconds(10)
        while !server.sawUnpublish && ContinuousClock.now < deadline { usleep(20_000) }
        #expect(server.path == expectedPath)
        let tags = server.received
        let video = tags.filter { $0.kind == .video }
        let audio = tags.filter { $0.kind == .audio }
        #expect(tags.first { $0.kind == .script }.flatMap { try? AMF0.decodeAll($0.body).first } == .string("onMetaData"))
        #expect(FLVVideoTagInfo(video.first?.body ?? [])?.avcPacketType == 0, "first video tag is the AVC sequence header")
        #expect(FLVAudioTagInfo(audio.first?.body ?? [])?.aacPacketType == 0, "first audio tag is the AAC sequence header")
        #expect(video.filter { FLVVideoTagInfo($0.body)?.avcPacketType == 1 }.count == 30)  // plus FFmpeg's end-of-sequence tag
        #expect(audio.count > 40)

        // What the server received plays in ffprobe.
        var writer = FLVFileWriter()
        for tag in tags { writer.append(tag) }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("rtmp-server-\(UUID().uuidString).flv")
        try Data(writer.bytes).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let (streams, dts) = try ForeignTools.probe(file)
        #expect(streams.first { $0["codec_type"] as? String == "video" }?["nb_read_frames"] as? String == "30")
        #expect(streams.contains { $0["codec_name"] as? String == "aac" })
        #expect(zip(dts, dts.dropFirst()).allSatisfy { $0 < $1 })
    }
}

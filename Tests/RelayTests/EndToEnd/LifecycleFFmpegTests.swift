import FakeCalls
import Foundation
import Testing
@testable import Relay

/// The relay publishing into a foreign RTMP server: FFmpeg's own RTMP listener instead of
/// FakeMediaMTX (which shares relayd's RTMP code), judged by ffprobe.
@Suite struct LifecycleFFmpegTests {
    @Test func theRelayPublishesH264AndAACIntoFFmpegsRTMPListener() async throws {
        let ffmpeg = try ExternalTool.path(of: "ffmpeg")
        let port = try LifecycleChain.freeTCPPort()
        let directory = try ExternalTool.temporaryDirectory("ffmpeg-listener")
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = directory.appendingPathComponent("out.flv")
        let listener = Process()
        listener.executableURL = URL(fileURLWithPath: ffmpeg)
        listener.arguments = ["-hide_banner", "-loglevel", "error", "-listen", "1", "-timeout", "20",
                              "-i", "rtmp://127.0.0.1:\(port)/guest1", "-c", "copy", "-y", output.path]
        listener.standardInput = FileHandle.nullDevice
        let errors = Pipe()
        listener.standardError = errors
        listener.standardOutput = FileHandle.nullDevice
        try listener.run()
        defer { if listener.isRunning { listener.terminate() } }

        // FakeMediaMTX never starts: FFmpeg owns the RTMP port (the relay retries until it listens).
        let chain = try LifecycleChain(startMediaMTX: false, rtmpPort: port)
        let session = try await chain.addPublisher()
        let guest = chain.guest(session: session)
        await chain.relay.startRelay(for: guest)
        #expect(await LifecycleChain.eventually(.seconds(15)) {
            await chain.status()?.rtmp?.videoFramesSent ?? 0 >= 90
        })
        let sent = await chain.status()?.rtmp
        await chain.relay.endRelay(for: guest)
        let exited = await LifecycleChain.eventually(.seconds(10)) { !listener.isRunning }
        #expect(exited, "ffmpeg did not end when the publish ended")
        let stderr = String(decoding: errors.fileHandleForReading.availableData, as: UTF8.self)
        #expect(listener.terminationStatus == 0, "\(stderr)")

        let probe = try ExternalTool.run("ffprobe", ["-v", "error", "-count_frames", "-show_streams", "-of", "json", output.path])
        #expect(probe.status == 0, "\(probe.stderr)")
        let streams = (try JSONSerialization.jsonObject(with: probe.stdout) as? [String: Any])?["streams"] as? [[String: Any]] ?? []
        let video = try #require(streams.first { $0["codec_type"] as? String == "video" })
        let audio = try #require(streams.first { $0["codec_type"] as? String == "audio" })
        #expect(video["codec_name"] as? String == "h264")
        #expect(video["width"] as? Int == 320 && video["height"] as? Int == 240)
        #expect(audio["codec_name"] as? String == "aac")
        let frames = Int(video["nb_read_frames"] as? String ?? "") ?? 0
        let expected = sent?.videoFramesSent ?? 0
        // Everything sent until the status was read, plus what followed until the end (≤ ~1 s).
        #expect(frames >= expected && frames <= expected + 40, "ffprobe counted \(frames), relay had sent \(expected)")
        #expect(Int(audio["nb_read_frames"] as? String ?? "") ?? 0 > 100)
        await chain.finish()
    }
}

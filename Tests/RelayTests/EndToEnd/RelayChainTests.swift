import FakeCalls
import FakeMediaMTX
import Foundation
import Logging
import Testing
@testable import Relay

/// The whole chain on loopback: FakeCalls plays a fixture guest over real ICE/DTLS/SRTP,
/// relayd subscribes, depacketizes/transcodes and publishes by RTMP into FakeMediaMTX; ffprobe
/// judges the recording.
@Suite struct RelayChainTests {
    static let appId = "chain-app"
    static let token = "chain-token-never-logged-91c2"

    struct Chain {
        let mediamtx: FakeMediaMTX
        let fake: FakeCallsServer
        let relay: RelayServer
        let capture = LogCapture()
        let records: URL

        init(video: VideoConfig = VideoConfig()) throws {
            records = try ExternalTool.temporaryDirectory("chain")
            let logger = capture.logger(label: "chain")
            mediamtx = FakeMediaMTX(configuration: .init(rtmpPort: 0, apiPort: 0, recordDirectory: records), logger: logger)
            try mediamtx.start()
            fake = try FakeCallsServer(options: FakeCallsOptions(appId: RelayChainTests.appId, token: RelayChainTests.token),
                                       logger: logger)
            relay = try RelayServer(config: RelayConfig(
                cloudflare: CloudflareConfig(callsAppId: RelayChainTests.appId, callsAPIToken: Secret(RelayChainTests.token)),
                guests: [GuestConfig(id: "guest1")], mediamtx: MediaMTXConfig(rtmpPort: mediamtx.rtmpPort ?? 0),
                relay: RelayServiceConfig(listenHost: "127.0.0.1", listenPort: 0, callsBaseURL: fake.baseURL, video: video)),
                logger: logger)
        }

        func guest(session: String) -> PublishedGuest {
            PublishedGuest(guestId: "guest1", sessionId: session,
                           tracks: [.init(name: "video", kind: "video", mid: "0"), .init(name: "audio", kind: "audio", mid: "1")],
                           resourceId: "r", etag: "\"e\"", since: Date())
        }

        func finish() async {
            await relay.shutdown()
            fake.stop()
            mediamtx.stop()
            try? FileManager.default.removeItem(at: records)
        }
    }

    func relay(video fixture: String, mode: VideoMode) async throws {
        let chain = try Chain(video: VideoConfig(mode: mode))
        let session = try await chain.fake.addFixturePublisher(video: FixturePaths.url(fixture).path,
                                                               audio: FixturePaths.url("audio/tone-440L-660R-stereo-2s.opus.ogg").path)
        let guest = chain.guest(session: session)
        await chain.relay.startRelay(for: guest)
        #expect(await chain.mediamtx.waitUntilReady(path: "guest1", timeout: .seconds(20)))
        // Let ~2 s of media through: wait for the recording's frame count, not for time.
        #expect(await chain.mediamtx.wait(timeout: .seconds(20)) { ($0.paths["guest1"]?.streamCheck.video.frames ?? 0) >= 60 })
        let status = await chain.relay.relayStatuses().first
        #expect(status?.state == "relaying")
        #expect((status?.media?.rtpReceived ?? 0) > 0)
        await chain.relay.endRelay(for: guest)
        #expect(await chain.mediamtx.waitUntilGone(path: "guest1", timeout: .seconds(5)))
        #expect(await chain.fake.api.sessionsHoldingTracks() == [session])  // only the fixture publisher is left

        let recording = try #require(chain.mediamtx.recordings(path: "guest1").last)
        let probe = try ExternalTool.run("ffprobe", ["-v", "error", "-count_frames", "-show_streams", "-of", "json", recording.path])
        #expect(probe.status == 0, "\(probe.stderr)")
        let streams = (try JSONSerialization.jsonObject(with: probe.stdout) as? [String: Any])?["streams"] as? [[String: Any]] ?? []
        let video = try #require(streams.first { $0["codec_type"] as? String == "video" })
        let audio = try #require(streams.first { $0["codec_type"] as? String == "audio" })
        #expect(video["codec_name"] as? String == "h264")
        #expect(video["width"] as? Int == 320)
        #expect(audio["codec_name"] as? String == "aac")
        #expect(audio["channels"] as? Int == 2)
        let check = try #require(chain.mediamtx.streamCheck(path: "guest1"))
        #expect(Int(video["nb_read_frames"] as? String ?? "") == check.video.frames)
        #expect(check.video.dtsViolations == 0 && check.audio.dtsViolations == 0)
        #expect(check.video.startsWithKeyframe == true)
        let decode = try ExternalTool.run("ffmpeg", ["-v", "error", "-i", recording.path, "-f", "null", "-"])
        #expect(decode.stderr.isEmpty, "decoding the recording complained: \(decode.stderr)")

        // The deployment's log sequence, lines 7–16, in order.
        let expected = [
            "Starting relay for guest1: session \(session) -> rtmp://127.0.0.1:\(chain.mediamtx.rtmpPort ?? 0)/guest1",
            "Created subscriber session: ", "Subscribing to tracks ['video', 'audio'] from session \(session)",
            "Successfully subscribed to tracks from \(session)", "Relay established for guest1",
            "Received video track from Cloudflare Calls for guest1", "Starting RTMP relay for guest1",
            "Starting RTMP relay to rtmp://", "RTMP relay started successfully", "Relay started for guest1: Cloudflare -> MediaMTX",
        ]
        let messages = chain.capture.messages
        let positions = expected.map { line in messages.firstIndex { $0.hasPrefix(line) } }
        #expect(positions.allSatisfy { $0 != nil }, "\(messages)")
        #expect(positions.compactMap { $0 } == positions.compactMap { $0 }.sorted())
        #expect(!chain.capture.text.contains(Self.token))
        await chain.finish()
    }

    @Test func h264GuestIsPassedThroughToMediaMTX() async throws {
        try await relay(video: "media/testsrc2-320x240-60f.h264", mode: .passthrough)
    }

    @Test func vp8GuestIsTranscodedToH264() async throws {
        try await relay(video: "media/testsrc2-320x240-60f.ivf", mode: .passthrough)
    }
}

@testable import FakeCalls
import FakeMediaMTX
import Foundation
import Logging
import Testing
@testable import Relay

/// The whole flow with no browser: a recorded Chrome offer is POSTed to relayd's WHIP endpoint;
/// relayd publishes it into FakeCalls in fixture mode, which plays recorded RTP (synthetic
/// captures in the Fixtures/rtp layout, read back from pcap) over real UDP/DTLS/SRTP; relayd
/// subscribes at once, relays by RTMP into FakeMediaMTX or FFmpeg's listener; ffprobe judges.
@Suite(.serialized) struct WHIPFixtureChainTests {
    static let appId = "whip-fixture-app"
    static let token = "whip-fixture-token-never-logged-5d1"

    final class Chain: Sendable {
        let mediamtx: FakeMediaMTX?
        let fake: FakeCallsServer
        let relay: RelayServer
        let capture = LogCapture()
        let directory: URL

        /// - Parameter rtmpPort: a foreign RTMP server's port; nil starts FakeMediaMTX.
        init(rtmpPort: UInt16? = nil) throws {
            directory = try ExternalTool.temporaryDirectory("whip-fixture")
            let recordings = directory.appendingPathComponent("rtp")
            _ = try SyntheticRecordingWriter.write(.init(audioLeadMicros: 40_000), into: recordings, name: "chromium-h264-opus")
            _ = try SyntheticRecordingWriter.write(.init(video: "media/testsrc2-320x240-60f.ivf", offer: "sdp/chromium-vp8only.sdp"),
                                                   into: recordings, name: "chromium-vp8-opus")
            let logger = capture.logger(label: "whip-fixture")
            if rtmpPort == nil {
                let mediamtx = FakeMediaMTX(configuration: .init(rtmpPort: 0, apiPort: 0, recordDirectory: directory), logger: logger)
                try mediamtx.start()
                self.mediamtx = mediamtx
            } else {
                mediamtx = nil
            }
            var options = FakeCallsOptions(appId: WHIPFixtureChainTests.appId, token: WHIPFixtureChainTests.token)
            options.mediaMode = .fixtures(try FixtureCatalog(directory: recordings.path))
            fake = try FakeCallsServer(options: options, logger: logger)
            relay = try RelayServer(config: RelayConfig(
                cloudflare: CloudflareConfig(callsAppId: WHIPFixtureChainTests.appId, callsAPIToken: Secret(WHIPFixtureChainTests.token)),
                guests: [GuestConfig(id: "guest1")],
                mediamtx: MediaMTXConfig(rtmpPort: Int(rtmpPort ?? UInt16(mediamtx?.rtmpPort ?? 0))),
                relay: RelayServiceConfig(listenHost: "127.0.0.1", listenPort: 0, callsBaseURL: fake.baseURL)),
                logger: logger)
        }

        var base: String { "http://127.0.0.1:\(relay.port)" }

        /// POSTs a Fixtures/ offer to WHIP; returns the answer and the resource's Location.
        func publish(offer: String) async throws -> (answer: SDP, location: String) {
            let response = try await CurlHTTPClient().send(HTTPClientRequest(
                method: "POST", url: "\(base)/api/calls/whip/guest1", headers: ["Content-Type": "application/sdp"],
                body: Data(try FixturePaths.text(offer).utf8)))
            try #require(response.status == 201, "WHIP said \(response.status): \(response.text)")
            return (try SDP.parse(response.text), try #require(response.headers["Location"]))
        }

        func leave(_ location: String) async throws -> Int {
            try await CurlHTTPClient().send(HTTPClientRequest(method: "DELETE", url: base + location)).status
        }

        /// Waits (on relayd's own counters) until `frames` video frames were written by RTMP.
        func waitForRTMPFrames(_ frames: Int, timeout: Duration = .seconds(20)) async throws -> GuestRelayStatus? {
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                if let status = await relay.relayStatuses().first, (status.rtmp?.videoFramesSent ?? 0) >= frames { return status }
                try await Task.sleep(for: .milliseconds(20))
            }
            return nil
        }

        func finish() async {
            await relay.shutdown()
            fake.stop()
            mediamtx?.stop()
            try? FileManager.default.removeItem(at: directory)
        }
    }

    static func probe(_ path: String) throws -> (video: [String: Any], audio: [String: Any]) {
        let probe = try ExternalTool.run("ffprobe", ["-v", "error", "-count_frames", "-show_streams", "-of", "json", path])
        #expect(probe.status == 0, "\(probe.stderr)")
        let streams = (try JSONSerialization.jsonObject(with: probe.stdout) as? [String: Any])?["streams"] as? [[String: Any]] ?? []
        return (try #require(streams.first { $0["codec_type"] as? String == "video" }),
                try #require(streams.first { $0["codec_type"] as? String == "audio" }))
    }

    static func frameHashes(_ path: String) throws -> [String] {
        let result = try ExternalTool.run("ffmpeg", ["-v", "error", "-i", path, "-map", "0:v", "-f", "framemd5", "-"])
        return result.text.split(separator: "\n").filter { !$0.hasPrefix("#") }
            .compactMap { $0.split(separator: ",").last?.trimmingCharacters(in: .whitespaces) }
    }

    func relayThroughFakeMediaMTX(offer: String, expectedCodec: String) async throws {
        let chain = try Chain()
        let mediamtx = try #require(chain.mediamtx)
        let posted = Date()
        let (answer, location) = try await chain.publish(offer: offer)
        let videoCodec = answer.mediaSections.first { $0.kind == .video }?.negotiatedCodecs.codecs.first?.name
        #expect(videoCodec?.uppercased() == expectedCodec)
        #expect(await mediamtx.waitUntilReady(path: "guest1", timeout: .seconds(20)))
        let status = try #require(try await chain.waitForRTMPFrames(60))
        #expect(status.state == "relaying")
        let first = try #require(status.rtmp?.firstVideoFrameAt.flatMap {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            return formatter.date(from: $0)
        })
        #expect(first > posted && first.timeIntervalSince(posted) < 10)
        // FakeCalls played the recording of the negotiated codec, with no publisher ICE.
        #expect(chain.fake.media.statistics.recordedRTPProduced > 0)
        #expect(chain.fake.media.statistics.publisherRTPReceived == 0)

        #expect((200..<300).contains(try await chain.leave(location)))
        #expect(await mediamtx.waitUntilGone(path: "guest1", timeout: .seconds(5)))
        #expect(await chain.fake.api.sessionsHoldingTracks().isEmpty, "publisher and subscriber tracks are closed")
        #expect(await chain.relay.relayStatuses().isEmpty)

        let recording = try #require(mediamtx.recordings(path: "guest1").last)
        let (video, audio) = try Self.probe(recording.path)
        #expect(video["codec_name"] as? String == "h264")
        #expect(video["width"] as? Int == 320 && video["height"] as? Int == 240)  // the synthetic recording
        #expect(audio["codec_name"] as? String == "aac")
        #expect(audio["channels"] as? Int == 2)
        let check = try #require(mediamtx.streamCheck(path: "guest1"))
        #expect(Int(video["nb_read_frames"] as? String ?? "") == check.video.frames)
        #expect(check.video.frames >= 60)
        #expect(check.audio.frames > 0)
        #expect(check.video.startsWithKeyframe == true)
        #expect(check.video.dtsViolations == 0 && check.audio.dtsViolations == 0)
        if expectedCodec == "H264" {
            // Passthrough is exact: every frame out is one of the recording's frames, starting at its keyframe.
            let source = try Self.frameHashes(FixturePaths.url("media/testsrc2-320x240-60f.h264").path)
            let output = try Self.frameHashes(recording.path)
            #expect(output.count == check.video.frames)
            // The fixture's keyframes are frames 0 and 30 (x264 keyint 30).
            #expect(output.first.map { [source[0], source[30]].contains($0) } == true)
            #expect(Set(output).isSubset(of: Set(source)))
        } else {
            let decode = try ExternalTool.run("ffmpeg", ["-v", "error", "-i", recording.path, "-f", "null", "-"])
            #expect(decode.stderr.isEmpty, "decoding the recording complained: \(decode.stderr)")
        }
        #expect(!chain.capture.text.contains(Self.token))
        await chain.finish()
    }

    @Test func recordedH264OfferIsPassedThroughToMediaMTX() async throws {
        try await relayThroughFakeMediaMTX(offer: "sdp/chromium-h264.sdp", expectedCodec: "H264")
    }

    @Test func recordedVP8OfferIsTranscodedToH264() async throws {
        try await relayThroughFakeMediaMTX(offer: "sdp/chromium-vp8only.sdp", expectedCodec: "VP8")
    }

    @Test func ffmpegListenerRecordsTheRelayedGuest() async throws {
        let port = try ForeignTools.freePort()
        let chain = try Chain(rtmpPort: port)
        let output = chain.directory.appendingPathComponent("out.flv")
        let ffmpeg = Process()
        ffmpeg.executableURL = URL(fileURLWithPath: try ExternalTool.path(of: "ffmpeg"))
        ffmpeg.arguments = ["-hide_banner", "-loglevel", "error", "-y", "-listen", "1", "-i", "rtmp://127.0.0.1:\(port)/guest1",
                            "-c", "copy", output.path]
        ffmpeg.standardOutput = FileHandle.nullDevice
        ffmpeg.standardError = FileHandle.nullDevice
        try ffmpeg.run()
        defer { if ffmpeg.isRunning { ffmpeg.terminate() } }
        try #require(ForeignTools.waitUntilListening(port: port, timeout: .seconds(15)))

        let (_, location) = try await chain.publish(offer: "sdp/chromium-h264.sdp")
        let status = try #require(try await chain.waitForRTMPFrames(60))
        #expect(status.rtmp?.firstVideoFrameAt != nil)
        #expect((200..<300).contains(try await chain.leave(location)))
        #expect(ForeignTools.waitForExit(ffmpeg, timeout: .seconds(10)), "ffmpeg ends when relayd unpublishes")

        let (video, audio) = try Self.probe(output.path)
        #expect(video["codec_name"] as? String == "h264")
        #expect(audio["codec_name"] as? String == "aac")
        #expect((Int(video["nb_read_frames"] as? String ?? "") ?? 0) >= 60)
        #expect((Int(audio["nb_read_frames"] as? String ?? "") ?? 0) > 0)
        await chain.finish()
    }

    @Test(.enabled(if: RelaydBinary.location != nil, "relayd binary not built next to the tests"))
    func demoPrintsTheReportAsJSON() throws {
        let directory = try ExternalTool.temporaryDirectory("demo")
        defer { try? FileManager.default.removeItem(at: directory) }
        let binary = try #require(RelaydBinary.location)
        let process = Process()
        process.executableURL = binary
        process.arguments = ["demo", "--duration", "3", "--json"]
        process.currentDirectoryURL = directory  // its recordings go to ./out/demo
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let report = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any], "\(String(decoding: data, as: UTF8.self))")
        let setup = try #require(report["setupMs"] as? Double)
        #expect(setup > 0 && setup < 10_000)
        let guest = try #require((report["guests"] as? [[String: Any]])?.first)
        #expect(guest["id"] as? String == "guest1")
        #expect(guest["pathReady"] as? Bool == true)
        #expect((guest["flv"] as? String)?.hasSuffix(".flv") == true)
        let video = try #require(guest["video"] as? [String: Any])
        #expect(video["codecIn"] as? String == "H264")
        #expect(video["codecOut"] as? String == "H264")
        #expect((video["frames"] as? Int ?? 0) > 0)
        #expect((video["keyframes"] as? Int ?? 0) > 0)
        // The committed Chromium recording is 640x480; without it the demo falls back to the
        // 320x240 synthetic media files.
        let recorded = FileManager.default.fileExists(atPath: FixturePaths.url("rtp/chromium-h264-opus/video.pcap").path)
        let (width, height) = recorded ? (640, 480) : (320, 240)
        #expect(video["width"] as? Int == width && video["height"] as? Int == height)
        let audio = try #require(guest["audio"] as? [String: Any])
        #expect(audio["codecIn"] as? String == "opus")
        #expect((audio["frames"] as? Int ?? 0) > 0)
        #expect(audio["codecOut"] as? String != nil)
        let teardown = try #require(report["teardown"] as? [String: Any])
        #expect(teardown["callsSessionsLeft"] as? Int == 0)
        #expect((report["publish"] as? [String: Any])?["leaveStatus"] as? Int != nil)
    }
}

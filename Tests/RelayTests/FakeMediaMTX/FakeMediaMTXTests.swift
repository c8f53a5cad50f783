import FakeMediaMTX
import Foundation
import Testing
@testable import Relay

@Suite("FakeMediaMTX", .serialized)
struct FakeMediaMTXTests {
    @Test func relaydPublisherMakesAReadyPathAndAProbeableRecording() async throws {
        let media = try RTMPFixtureMedia.load()
        let h = try FakeMediaMTXHarness()
        defer { h.tearDown() }
        let (status404, body404) = try await h.get("/v3/paths/get/guest1")
        #expect(status404 == 404)
        #expect(body404["error"] as? String == "path not found" && body404["status"] as? String == "error")

        let publisher = RTMPPublisher(url: try h.url("guest1"), configuration: FakeMediaMTXHarness.unlimitedPublisher)
        publisher.start()
        publisher.sendFixture(media)
        #expect(await h.fake.waitUntilReady(path: "guest1", timeout: .seconds(10)))
        let (status, path) = try await h.get("/v3/paths/get/guest1")
        #expect(status == 200)
        #expect(path["name"] as? String == "guest1")
        #expect(path["ready"] as? Bool == true && path["sourceReady"] as? Bool == true)
        #expect(path["tracks"] as? [String] == ["H264", "MPEG-4 Audio"])
        #expect((path["source"] as? [String: Any])?["type"] as? String == "rtmpConn")
        #expect(path["readyTime"] is String)
        #expect((path["bytesReceived"] as? Int ?? 0) > 0)
        let (_, list) = try await h.get("/v3/paths/list")
        #expect(list["itemCount"] as? Int == 1)
        let (_, conns) = try await h.get("/v3/rtmpconns/list")
        let conn = (conns["items"] as? [[String: Any]])?.first
        #expect(conn?["state"] as? String == "publish" && conn?["path"] as? String == "guest1")
        #expect((conn?["remoteAddr"] as? String)?.hasPrefix("127.0.0.1:") == true)

        publisher.stop()
        #expect(await h.fake.waitUntilGone(path: "guest1", timeout: .seconds(10)))
        let check = try #require(h.fake.streamCheck(path: "guest1"))
        #expect(check.video.frames == media.accessUnits.count)
        #expect(check.audio.frames == media.audioFrames.count)
        #expect(check.video.dtsViolations == 0 && check.audio.dtsViolations == 0)
        #expect(check.width == 320 && check.height == 240)
        #expect(check.video.startsWithKeyframe == true)
        #expect(check.video.keyframes == media.accessUnits.filter(\.isKeyframe).count)
        let recordings = h.fake.recordings(path: "guest1")
        try #require(recordings.count == 1)
        let (streams, dts) = try ForeignTools.probe(recordings[0])
        #expect(streams.first { $0["codec_type"] as? String == "video" }?["nb_read_frames"] as? String == "\(media.accessUnits.count)")
        #expect(streams.contains { $0["codec_name"] as? String == "aac" })
        #expect(zip(dts, dts.dropFirst()).allSatisfy { $0 < $1 })
        let (_, api) = try await h.get("/v3/fake/streamcheck/guest1")
        #expect(((api["check"] as? [String: Any])?["video"] as? [String: Any])?["frames"] as? Int == media.accessUnits.count)
    }

    @Test(arguments: [("guest1", "guest1"), ("live/guest1", "live/guest1")])
    func ffmpegAsThePublisher(urlPath: String, expectedPath: String) async throws {
        guard let ffmpeg = ForeignTools.find("ffmpeg") else { Issue.record("ffmpeg is not installed"); return }
        let h = try FakeMediaMTXHarness()
        defer { h.tearDown() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ffmpeg)
        process.arguments = ["-hide_banner", "-v", "error", "-re", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30",
                             "-f", "lavfi", "-i", "sine", "-t", "3", "-c:v", "libx264", "-preset", "veryfast", "-g", "30",
                             "-c:a", "aac", "-f", "flv", "rtmp://127.0.0.1:\(h.rtmpPort)/\(urlPath)"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        #expect(await h.fake.waitUntilReady(path: expectedPath, timeout: .seconds(15)))
        let (status, path) = try await h.get("/v3/paths/get/\(expectedPath)")
        #expect(status == 200)
        #expect(path["name"] as? String == expectedPath)
        #expect(path["tracks"] as? [String] == ["H264", "MPEG-4 Audio"])
        #expect(await h.fake.waitUntilGone(path: expectedPath, timeout: .seconds(20)))
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let check = try #require(h.fake.streamCheck(path: expectedPath))
        #expect(check.video.frames == 90 && check.video.keyframes == 3)
        #expect(check.audio.frames > 100)
        #expect(check.video.dtsViolations == 0 && check.audio.dtsViolations == 0)
        #expect(check.width == 320 && check.height == 240)
        let recording = try #require(h.fake.recordings(path: expectedPath).first)
        #expect(recording.deletingLastPathComponent().lastPathComponent == expectedPath.replacingOccurrences(of: "/", with: "_"))
        let (streams, dts) = try ForeignTools.probe(recording)
        #expect(streams.first { $0["codec_type"] as? String == "video" }?["nb_read_frames"] as? String == "90")
        #expect(streams.first { $0["codec_type"] as? String == "video" }?["width"] as? Int == 320)
        #expect(streams.contains { $0["codec_name"] as? String == "aac" })
        #expect(zip(dts, dts.dropFirst()).allSatisfy { $0 < $1 })
    }

    @Test func relaydURLShapesGiveMediaMTXPaths() async throws {
        let media = try RTMPFixtureMedia.load()
        let h = try FakeMediaMTXHarness()
        defer { h.tearDown() }
        for (url, expected) in [("guest1", "guest1"), ("live/guest1", "live/guest1")] {
            let publisher = RTMPPublisher(url: try h.url(url), configuration: FakeMediaMTXHarness.unlimitedPublisher)
            publisher.start()
            publisher.sendFixture(media)
            #expect(await h.fake.waitUntilReady(path: expected, timeout: .seconds(10)), "\(url)")
            let (status, _) = try await h.get("/v3/paths/get/\(expected)")
            #expect(status == 200, "\(url)")
            publisher.stop()
            #expect(await h.fake.waitUntilGone(path: expected, timeout: .seconds(10)))
        }
    }

    @Test func aSecondPublisherOnTheSamePathReplacesTheFirst() async throws {
        let media = try RTMPFixtureMedia.load()
        let h = try FakeMediaMTXHarness()
        defer { h.tearDown() }
        let firstEvents = PublisherEvents()
        let first = RTMPPublisher(url: try h.url("guest1"), configuration: FakeMediaMTXHarness.unlimitedPublisher,
                                  onEvent: { firstEvents.record($0) })
        first.start()
        first.sendFixture(media)
        #expect(await h.fake.waitUntilReady(path: "guest1", timeout: .seconds(10)))
        let firstSource = try #require(h.fake.path(named: "guest1")?.sourceID)

        let second = RTMPPublisher(url: try h.url("guest1"), configuration: FakeMediaMTXHarness.unlimitedPublisher)
        second.start()
        second.sendFixture(media)
        defer { first.stop(); second.stop() }
        #expect(await h.fake.wait(timeout: .seconds(10)) { $0.paths["guest1"].map { $0.sourceID != firstSource && $0.ready } ?? false })
        #expect(h.fake.counters.replacedPublishers == 1)
        #expect(h.fake.closedConnections.contains { $0.id == firstSource && $0.reason.contains("replaced by a new publisher") })
        #expect(firstEvents.wait(timeout: 5) { if case .disconnected = $0 { true } else { false } }, "the first publisher saw its connection end")
        #expect(h.fake.recordings(path: "guest1").count == 2)
    }

    @Test func silentPublisherIsDroppedAfterReadTimeout() async throws {
        let media = try RTMPFixtureMedia.load()
        let h = try FakeMediaMTXHarness(readTimeout: .milliseconds(700))
        defer { h.tearDown() }
        let publisher = RTMPPublisher(url: try h.url("guest1"), configuration: FakeMediaMTXHarness.unlimitedPublisher)
        publisher.start()
        defer { publisher.stop() }
        publisher.sendFixture(media)
        #expect(await h.fake.waitUntilReady(path: "guest1", timeout: .seconds(10)))
        // The publisher stays connected but sends nothing more.
        #expect(await h.fake.waitUntilGone(path: "guest1", timeout: .seconds(5)))
        let (status, _) = try await h.get("/v3/paths/get/guest1")
        #expect(status == 404)
        #expect(h.fake.counters.readTimeouts == 1)
        #expect(h.fake.closedConnections.last?.reason.contains("read timeout") == true)
        #expect(h.log.lines.contains { $0.contains("path 'guest1' unpublished") && $0.contains("read timeout") && $0.contains("stream check: video[H264") })
    }
}

@Suite("FakeMediaMTX API")
struct FakeMediaMTXAPITests {
    @Test func unknownRoutesMethodsAndPathsAnswerLikeMediaMTX() async throws {
        let h = try FakeMediaMTXHarness()
        defer { h.tearDown() }
        let (listStatus, list) = try await h.get("/v3/paths/list")
        #expect(listStatus == 200 && list["itemCount"] as? Int == 0 && (list["items"] as? [Any])?.isEmpty == true)
        let (connsStatus, conns) = try await h.get("/v3/rtmpconns/list")
        #expect(connsStatus == 200 && conns["itemCount"] as? Int == 0)
        #expect(try await h.get("/v3/paths/get/live/nobody").status == 404)
        #expect(try await h.get("/v3/fake/streamcheck/nobody").status == 404)
        #expect(try await h.get("/v3/nothing").status == 404)
        let client = try CurlHTTPClient()
        let post = try await client.send(HTTPClientRequest(method: "POST", url: "\(h.fake.apiBaseURL ?? "")/v3/paths/list", body: Data("{}".utf8)))
        #expect(post.status == 405)
    }

    @Test func aSecondServerOnATakenPortFailsWithAReason() throws {
        let h = try FakeMediaMTXHarness()
        defer { h.tearDown() }
        let other = FakeMediaMTX(configuration: .init(rtmpPort: h.rtmpPort, apiPort: nil))
        #expect(throws: FakeMediaMTX.StartError.self) { try other.start() }
        #expect(other.rtmpPort == nil)
    }
}

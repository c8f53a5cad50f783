import FakeMediaMTX
import Foundation
import Testing
@testable import Relay

@Suite("FakeMediaMTX robustness", .serialized)
struct FakeMediaMTXRobustnessTests {
    /// What each bad client sends (after the handshake when `handshake` is set).
    struct BadInput: CustomStringConvertible {
        var description: String
        var handshake: Bool
        var bytes: [UInt8]
        var expectedReason: String
    }

    static var badInputs: [BadInput] {
        var w = RTMPChunkWriter()
        let chunkSize0 = w.write(RTMPControl.control(RTMPMessageType.setChunkSize, RTMPControl.be32(0)))
        w = RTMPChunkWriter()
        let chunkSizeHuge = w.write(RTMPControl.control(RTMPMessageType.setChunkSize, RTMPControl.be32(0x8000_0000)))
        var connect = AMF0.encode([.string("connect"), .number(1), .object([("app", .string("live"))])])
        connect.removeLast(4)
        w = RTMPChunkWriter()
        let truncated = w.write(RTMPMessage(chunkStreamID: 3, timestamp: 0, typeID: RTMPMessageType.commandAMF0, messageStreamID: 0, payload: connect))
        w = RTMPChunkWriter()
        let unknown = w.write(RTMPMessage(chunkStreamID: 3, timestamp: 0, typeID: 0x42, messageStreamID: 0, payload: [1, 2, 3]))
        var rng = SeededRandom(seed: 7)
        let garbage: [UInt8] = [0x16, 0x03, 0x01] + (0..<2000).map { _ in UInt8.random(in: 0...255, using: &rng) }
        return [
            BadInput(description: "garbage handshake", handshake: false, bytes: garbage, expectedReason: "protocol error"),
            BadInput(description: "chunk size 0", handshake: true, bytes: chunkSize0, expectedReason: "protocol error"),
            BadInput(description: "chunk size 2^31", handshake: true, bytes: chunkSizeHuge, expectedReason: "protocol error"),
            BadInput(description: "truncated AMF0 connect", handshake: true, bytes: truncated, expectedReason: "protocol error"),
            BadInput(description: "unknown message type", handshake: true, bytes: unknown, expectedReason: "unknown RTMP message type 66"),
            BadInput(description: "silent client", handshake: false, bytes: [], expectedReason: "handshake/connect not finished"),
            BadInput(description: "silent after handshake", handshake: true, bytes: [], expectedReason: "handshake/connect not finished"),
        ]
    }

    @Test func badInputClosesThatConnectionWhileAGoodPublisherKeepsFlowing() async throws {
        let media = try RTMPFixtureMedia.load()
        let h = try FakeMediaMTXHarness(handshakeTimeout: .seconds(1))
        defer { h.tearDown() }
        let source = PacedFixtureSource(media: media)
        let publisher = RTMPPublisher(url: try h.url("live/good"), onKeyframeRequest: { source.requestKeyframe() })
        publisher.start()
        source.start(into: publisher)
        defer { source.stop(); publisher.stop() }
        #expect(await h.fake.waitUntilReady(path: "live/good", timeout: .seconds(10)))
        let goodSource = h.fake.path(named: "live/good")?.sourceID

        for bad in Self.badInputs {
            let framesBefore = h.fake.streamCheck(path: "live/good")?.video.frames ?? 0
            let client = try RawRTMPClient(port: h.rtmpPort)
            let address = client.localAddress
            if bad.handshake { #expect(client.handshake(), "\(bad): handshake") }
            if !bad.bytes.isEmpty { client.send(bad.bytes) }
            #expect(await h.fake.wait(timeout: .seconds(5)) { $0.closed.contains { $0.remoteAddr == address } }, "\(bad)")
            let closed = h.fake.closedConnections.first { $0.remoteAddr == address }
            #expect(closed?.reason.contains(bad.expectedReason) == true, "\(bad): \(closed?.reason ?? "not closed")")
            #expect(client.waitForClose(), "\(bad): the server closed the socket")
            #expect(h.log.lines.contains { $0.hasPrefix("notice") && $0.contains("from \(address) closed: ") && $0.contains(bad.expectedReason) },
                    "\(bad): a log line says why")
            // The good publisher is untouched and its frames keep arriving.
            #expect(h.fake.path(named: "live/good")?.sourceID == goodSource, "\(bad)")
            #expect(await h.fake.wait(timeout: .seconds(5)) { ($0.paths["live/good"]?.streamCheck.video.frames ?? 0) > framesBefore + 5 }, "\(bad)")
        }
        #expect(h.fake.counters.protocolErrors == 5)
        #expect(h.fake.counters.handshakeTimeouts == 2)
        let check = try #require(h.fake.streamCheck(path: "live/good"))
        #expect(check.video.dtsViolations == 0)
    }

    @Test func serverRestartMidStreamThePublisherReconnectsAndTheSecondRecordingStartsWithAKeyframe() async throws {
        let media = try RTMPFixtureMedia.load()
        let first = try FakeMediaMTXHarness()
        defer { first.tearDown() }
        let port = first.rtmpPort
        let events = PublisherEvents()
        let source = PacedFixtureSource(media: media)
        let publisher = RTMPPublisher(url: try first.url("guest1"), onEvent: { events.record($0) },
                                      onKeyframeRequest: { source.requestKeyframe() })
        publisher.start()
        source.start(into: publisher)
        defer { source.stop(); publisher.stop() }
        #expect(await first.fake.waitUntilReady(path: "guest1", timeout: .seconds(10)))
        #expect(await first.fake.wait(timeout: .seconds(10)) { ($0.paths["guest1"]?.streamCheck.video.frames ?? 0) >= 40 })

        first.fake.stop()
        #expect(events.wait(timeout: 5) { if case .disconnected = $0 { true } else { false } })
        let restarted = ContinuousClock.now
        let second = try FakeMediaMTXHarness(rtmpPort: port)
        defer { second.tearDown() }
        #expect(await second.fake.waitUntilReady(path: "guest1", timeout: .seconds(10)))
        let reconnectTime = ContinuousClock.now - restarted
        #expect(reconnectTime < .seconds(2), "ready again after \(reconnectTime)")
        #expect(await second.fake.wait(timeout: .seconds(10)) { ($0.paths["guest1"]?.streamCheck.video.frames ?? 0) >= 30 })
        let live = try #require(second.fake.streamCheck(path: "guest1"))
        #expect(live.video.startsWithKeyframe == true)

        let firstRecording = try #require(first.fake.recordings(path: "guest1").first)
        let secondRecording = try #require(second.fake.recordings(path: "guest1").first)
        for file in [firstRecording, secondRecording] {
            // The second file is read while it is still being written: progressive flushing.
            let (streams, video) = try ForeignTools.probePackets(file)
            #expect(streams.contains { $0["codec_name"] as? String == "h264" }, "\(file.lastPathComponent)")
            #expect(video.count >= 30, "\(file.lastPathComponent): \(video.count) video packets")
            #expect(video.first?.key == true, "\(file.lastPathComponent) starts with a keyframe")
        }
    }
}

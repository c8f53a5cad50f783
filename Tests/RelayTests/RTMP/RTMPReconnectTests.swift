import Foundation
import Testing
@testable import Relay

/// A live-like source: sends the fixture in real time, looping, and jumps to the next IDR when
/// the publisher asks for a keyframe (as the WebRTC side would after a PLI).
final class PacedFixtureSource: @unchecked Sendable {
    // @unchecked: `keyframeWanted`, `stopped` and `sent` are only touched while holding `lock`.
    private let lock = NSLock()
    private var keyframeWanted = false
    private var stopped = false
    private var sent = 0
    private let done = DispatchSemaphore(value: 0)
    let media: RTMPFixtureMedia

    init(media: RTMPFixtureMedia) { self.media = media }

    func requestKeyframe() { lock.withLock { keyframeWanted = true } }
    var framesSent: Int { lock.withLock { sent } }

    func start(into publisher: RTMPPublisher) {
        let thread = Thread { [self] in
            var index = 0
            var audioIndex = 0
            var frame = 0
            let start = ContinuousClock.now
            while !lock.withLock({ stopped }) {
                if lock.withLock({ defer { keyframeWanted = false }; return keyframeWanted }) {
                    index = media.accessUnits.indices.first { $0 > index && media.accessUnits[$0].isKeyframe } ?? 0
                }
                let au = media.accessUnits[index]
                let t = RTMPFixtureMedia.videoTime(frame)
                publisher.send(video: au.bytes, pts: t, dts: t, isKeyframe: au.isKeyframe)
                while RTMPFixtureMedia.audioTime(audioIndex) < RTMPFixtureMedia.videoTime(frame + 1) {
                    publisher.send(audio: media.audioFrames[audioIndex % media.audioFrames.count], pts: RTMPFixtureMedia.audioTime(audioIndex))
                    audioIndex += 1
                }
                lock.withLock { sent += 1 }
                index = (index + 1) % media.accessUnits.count
                frame += 1
                // Real-time pacing of a simulated camera, not synchronisation.
                let next = start + RTMPFixtureMedia.videoTime(frame)
                let wait = next - ContinuousClock.now
                if wait > .zero { usleep(UInt32(RTMPTimestampMapper.milliseconds(wait) * 1000)) }
            }
            done.signal()
        }
        thread.start()
    }

    func stop() {
        lock.withLock { stopped = true }
        done.wait()
    }
}

@Suite("RTMP publisher reconnects", .serialized)
struct RTMPReconnectTests {
    static func startListener(_ ffmpeg: String, port: UInt16, output: URL) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: ffmpeg)
        p.arguments = ["-hide_banner", "-loglevel", "error", "-y", "-listen", "1", "-i", "rtmp://127.0.0.1:\(port)/live/x", "-c", "copy", "-flush_packets", "1", output.path]
        p.standardError = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        return p
    }

    @Test func serverRestartMidStreamIsSurvivedAndTheNewRecordingStartsWithAKeyframe() throws {
        guard let ffmpeg = ForeignTools.find("ffmpeg") else { Issue.record("ffmpeg is not installed"); return }
        let media = try RTMPFixtureMedia.load()
        let port = try ForeignTools.freePort()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rtmp-reconnect-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let first = dir.appendingPathComponent("first.flv"), second = dir.appendingPathComponent("second.flv")

        var serverA = try Self.startListener(ffmpeg, port: port, output: first)
        defer { if serverA.isRunning { kill(serverA.processIdentifier, SIGKILL) } }
        try #require(ForeignTools.waitUntilListening(port: port, timeout: .seconds(15)))

        let events = PublisherEvents()
        let source = PacedFixtureSource(media: media)
        let publisher = RTMPPublisher(url: try RTMPURL("rtmp://127.0.0.1:\(port)/live/x"),
                                      onEvent: { events.record($0) }, onKeyframeRequest: { source.requestKeyframe() })
        publisher.start()
        try #require(events.wait(timeout: 10) { if case .publishing(1) = $0 { true } else { false } })
        source.start(into: publisher)
        // Media into the first server until its recording holds a good part of it (ffmpeg
        // opens the output only after probing the input for a while).
        let firstDeadline = ContinuousClock.now + .seconds(15)
        func size(_ url: URL) -> Int { ((try? FileManager.default.attributesOfItem(atPath: url.path))?[.size] as? Int) ?? 0 }
        while size(first) < 40_000 && ContinuousClock.now < firstDeadline { usleep(20_000) }

        // A crash, not a clean stop (SIGTERM may be blocked in processes the test runner spawns).
        kill(serverA.processIdentifier, SIGKILL)
        #expect(ForeignTools.waitForExit(serverA, timeout: .seconds(10)))
        #expect(events.wait(timeout: 5) { if case .disconnected = $0 { true } else { false } })
        let restarted = ContinuousClock.now
        serverA = try Self.startListener(ffmpeg, port: port, output: second)
        let republished = events.wait(timeout: 10) { if case .publishing(let n) = $0 { n > 1 } else { false } }
        let reconnectTime = ContinuousClock.now - restarted
        try #require(republished, "no second publish; events: \(events.all)")
        #expect(reconnectTime < .seconds(2), "reconnect took \(reconnectTime) (including the new server's start)")

        let sentBefore = publisher.counters.videoFramesSent
        let secondDeadline = ContinuousClock.now + .seconds(10)
        while publisher.counters.videoFramesSent < sentBefore + 30 && ContinuousClock.now < secondDeadline { usleep(20_000) }
        source.stop()
        publisher.stop()
        #expect(ForeignTools.waitForExit(serverA, timeout: .seconds(10)))
        #expect(publisher.counters.keyframeRequests >= 2)

        for file in [first, second] {
            let (streams, video) = try ForeignTools.probePackets(file)
            #expect(streams.contains { $0["codec_name"] as? String == "h264" }, "\(file.lastPathComponent)")
            #expect(streams.contains { $0["codec_name"] as? String == "aac" }, "\(file.lastPathComponent)")
            #expect(video.count >= 20, "\(file.lastPathComponent) has \(video.count) video packets")
            #expect(video.first?.key == true, "\(file.lastPathComponent) must start with a keyframe")
            #expect(zip(video, video.dropFirst()).allSatisfy { $0.dts < $1.dts })
        }
    }
}

import Foundation
import Testing
@testable import Relay

/// Helpers for tests that run a foreign RTMP server (ffmpeg, nginx-rtmp) and judge with ffprobe.
enum ForeignTools {
    static func find(_ name: String) -> String? {
        ["/usr/bin/\(name)", "/usr/local/bin/\(name)", "/usr/sbin/\(name)"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// A port nobody listens on right now (bind 0, read it, close).
    static func freePort() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard ok else { throw RTMPError(.connectionFailed, "cannot bind a test port") }
        return UInt16(bigEndian: addr.sin_port)
    }

    /// Waits until something LISTENs on the port, without connecting (ffmpeg -listen 1 would
    /// take a probe connection as its one client). Reads /proc/net/tcp{,6}.
    static func waitUntilListening(port: UInt16, timeout: Duration) -> Bool {
        let needle = String(format: ":%04X ", port)
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            for file in ["/proc/net/tcp", "/proc/net/tcp6"] {
                let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
                for line in text.split(separator: "\n") {
                    let cols = line.split(separator: " ")
                    if cols.count > 3, cols[1].hasSuffix(needle.trimmingCharacters(in: .whitespaces)), cols[3] == "0A" { return true }
                }
            }
            usleep(20_000)  // polling a kernel table; there is no event to wait on
        }
        return false
    }

    static func run(_ path: String, _ args: [String]) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    static func waitForExit(_ p: Process, timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while p.isRunning && ContinuousClock.now < deadline { usleep(20_000) }
        return !p.isRunning
    }

    static func json(_ text: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    }

    /// Streams and video packets of an FLV as ffprobe sees them.
    static func probe(_ file: URL) throws -> (streams: [[String: Any]], videoDTS: [Int]) {
        let (streams, packets) = try probePackets(file)
        return (streams, packets.map(\.dts))
    }

    /// Streams, and each video packet's DTS and keyframe flag.
    static func probePackets(_ file: URL) throws -> (streams: [[String: Any]], video: [(dts: Int, key: Bool)]) {
        guard let ffprobe = find("ffprobe") else { throw RTMPError(.connectionFailed, "ffprobe not installed") }
        let s = try run(ffprobe, ["-v", "error", "-count_frames", "-show_streams", "-of", "json", file.path])
        let streams = json(s.out)["streams"] as? [[String: Any]] ?? []
        let p = try run(ffprobe, ["-v", "error", "-select_streams", "v", "-show_packets", "-of", "json", file.path])
        let packets = json(p.out)["packets"] as? [[String: Any]] ?? []
        return (streams, packets.compactMap { p in (p["dts"] as? Int).map { ($0, (p["flags"] as? String ?? "").hasPrefix("K")) } })
    }
}

/// Collects publisher events and lets a test wait for one.
final class PublisherEvents: @unchecked Sendable {
    // @unchecked: `events` and `keyframeRequests` are only touched while holding `condition`.
    private let condition = NSCondition()
    private var events: [RTMPPublisher.Event] = []
    private var keyframeRequests = 0

    func record(_ e: RTMPPublisher.Event) { condition.lock(); events.append(e); condition.broadcast(); condition.unlock() }
    func keyframeRequested() { condition.lock(); keyframeRequests += 1; condition.unlock() }
    var all: [RTMPPublisher.Event] { condition.lock(); defer { condition.unlock() }; return events }

    func wait(timeout: TimeInterval, for predicate: (RTMPPublisher.Event) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock(); defer { condition.unlock() }
        while !events.contains(where: predicate) {
            if !condition.wait(until: deadline) { return events.contains(where: predicate) }
        }
        return true
    }
}

extension RTMPPublisher {
    /// Sends the fixture interleaved by time, as a capture pipeline would (fast, not paced).
    func sendFixture(_ media: RTMPFixtureMedia, origin: Duration = .seconds(50)) {
        var a = 0
        for (i, au) in media.accessUnits.enumerated() {
            let t = origin + RTMPFixtureMedia.videoTime(i)
            send(video: au.bytes, pts: t, dts: t, isKeyframe: au.isKeyframe)
            while a < media.audioFrames.count, RTMPFixtureMedia.audioTime(a) < RTMPFixtureMedia.videoTime(i + 1) {
                send(audio: media.audioFrames[a], pts: origin + RTMPFixtureMedia.audioTime(a))
                a += 1
            }
        }
        while a < media.audioFrames.count { send(audio: media.audioFrames[a], pts: origin + RTMPFixtureMedia.audioTime(a)); a += 1 }
    }
}

@Suite("RTMP publisher judged by ffmpeg's RTMP server", .serialized)
struct RTMPForeignJudgeTests {
    static var unlimited: RTMPPublisher.Configuration {
        var c = RTMPPublisher.Configuration()
        c.queue.nonReferenceDropSpan = .seconds(60)
        c.queue.gopDropSpan = .seconds(60)
        c.reconnect = false
        return c
    }

    @Test(arguments: ["live/x", "guest1"])
    func ffmpegListenerRecordsWhatWasSent(path: String) throws {
        guard let ffmpeg = ForeignTools.find("ffmpeg") else { Issue.record("ffmpeg is not installed"); return }
        let media = try RTMPFixtureMedia.load()
        let port = try ForeignTools.freePort()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rtmp-judge-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out.flv")

        let server = Process()
        server.executableURL = URL(fileURLWithPath: ffmpeg)
        server.arguments = ["-hide_banner", "-loglevel", "warning", "-y", "-listen", "1",
                            "-i", "rtmp://127.0.0.1:\(port)/\(path)", "-c", "copy", out.path]
        let serverLog = Pipe()
        server.standardError = serverLog
        server.standardOutput = FileHandle.nullDevice
        try server.run()
        defer { if server.isRunning { server.terminate() } }
        try #require(ForeignTools.waitUntilListening(port: port, timeout: .seconds(15)), "ffmpeg did not start listening on \(port)")

        let events = PublisherEvents()
        let publisher = RTMPPublisher(url: try RTMPURL("rtmp://127.0.0.1:\(port)/\(path)"), configuration: Self.unlimited,
                                      onEvent: { events.record($0) }, onKeyframeRequest: { events.keyframeRequested() })
        publisher.start()
        let published = events.wait(timeout: 10) { if case .publishing = $0 { true } else { false } }
        try #require(published, "no publish start; events: \(events.all)")
        publisher.sendFixture(media)
        publisher.stop(flushTimeout: .seconds(10))

        let exited = ForeignTools.waitForExit(server, timeout: .seconds(20))
        let log = String(decoding: serverLog.fileHandleForReading.availableData, as: UTF8.self)
        #expect(exited, "ffmpeg did not finish after the publisher closed: \(log)")
        let counters = publisher.counters
        #expect(counters.videoFramesSent == media.accessUnits.count)
        #expect(counters.audioFramesSent == media.audioFrames.count)

        let (streams, dts) = try ForeignTools.probe(out)
        let video = streams.first { $0["codec_type"] as? String == "video" }
        let audio = streams.first { $0["codec_type"] as? String == "audio" }
        #expect(video?["codec_name"] as? String == "h264")
        #expect(video?["width"] as? Int == 320)
        #expect(video?["height"] as? Int == 240)
        #expect(video?["nb_read_frames"] as? String == "\(media.accessUnits.count)", "ffmpeg log: \(log)")
        #expect(audio?["codec_name"] as? String == "aac")
        #expect(audio?["sample_rate"] as? String == "48000")
        #expect(audio?["channels"] as? Int == 2)
        #expect(audio?["nb_read_frames"] as? String == "\(media.audioFrames.count)")
        #expect(dts.count == media.accessUnits.count)
        #expect(zip(dts, dts.dropFirst()).allSatisfy { $0 < $1 }, "video DTS must grow: \(dts)")

        // Passthrough is exact: every decoded frame equals the fixture's own decoded frame.
        let fixture = FixturePaths.url("rtmp/video-320x240-30fps-baseline.h264").path
        let sent = try ForeignTools.run(ffmpeg, ["-v", "error", "-i", fixture, "-map", "0:v", "-f", "framemd5", "-"])
        let received = try ForeignTools.run(ffmpeg, ["-v", "error", "-i", out.path, "-map", "0:v", "-f", "framemd5", "-"])
        let sentHashes = ForeignTools.frameHashes(sent.out)
        #expect(sentHashes.count == media.accessUnits.count)
        #expect(ForeignTools.frameHashes(received.out) == sentHashes)
    }
}

extension ForeignTools {
    /// The MD5 column of `-f framemd5` output (timestamps differ between containers).
    static func frameHashes(_ framemd5: String) -> [String] {
        framemd5.split(separator: "\n").filter { !$0.hasPrefix("#") }.compactMap { $0.split(separator: ",").last?.trimmingCharacters(in: .whitespaces) }
    }
}

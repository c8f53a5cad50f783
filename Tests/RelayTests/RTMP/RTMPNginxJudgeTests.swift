import Foundation
import Testing
@testable import Relay

/// A second, independent RTMP server: nginx with libnginx-mod-rtmp recording what it receives.
@Suite("RTMP publisher judged by nginx-rtmp", .serialized)
struct RTMPNginxJudgeTests {
    static let module = "/usr/lib/nginx/modules/ngx_rtmp_module.so"

    @Test func nginxRecordsWhatWasSent() throws {
        guard let nginx = ForeignTools.find("nginx"), FileManager.default.fileExists(atPath: Self.module) else {
            Issue.record("nginx with libnginx-mod-rtmp is not installed"); return
        }
        let media = try RTMPFixtureMedia.load()
        let port = try ForeignTools.freePort()
        let prefix = FileManager.default.temporaryDirectory.appendingPathComponent("rtmp-nginx-\(UUID().uuidString)")
        let records = prefix.appendingPathComponent("rec")
        try FileManager.default.createDirectory(at: records, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: prefix.appendingPathComponent("logs"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: prefix) }
        let conf = """
            load_module \(Self.module);
            daemon off;
            master_process off;
            pid \(prefix.path)/nginx.pid;
            error_log \(prefix.path)/logs/error.log info;
            events { worker_connections 64; }
            rtmp {
                server {
                    listen 127.0.0.1:\(port);
                    chunk_size 4096;
                    application live {
                        live on;
                        record all;
                        record_path \(records.path);
                        record_unique off;
                    }
                }
            }
            """
        let confURL = prefix.appendingPathComponent("nginx.conf")
        try conf.write(to: confURL, atomically: true, encoding: .utf8)

        let server = Process()
        server.executableURL = URL(fileURLWithPath: nginx)
        server.arguments = ["-p", prefix.path, "-c", confURL.path, "-e", "\(prefix.path)/logs/error.log"]
        server.standardError = FileHandle.nullDevice
        server.standardOutput = FileHandle.nullDevice
        try server.run()
        defer { if server.isRunning { kill(server.processIdentifier, SIGKILL) } }
        try #require(ForeignTools.waitUntilListening(port: port, timeout: .seconds(15)), "nginx did not listen on \(port)")

        let events = PublisherEvents()
        let publisher = RTMPPublisher(url: try RTMPURL("rtmp://127.0.0.1:\(port)/live/guest1"), configuration: RTMPForeignJudgeTests.unlimited,
                                      onEvent: { events.record($0) })
        publisher.start()
        try #require(events.wait(timeout: 10) { if case .publishing = $0 { true } else { false } }, "events: \(events.all)")
        publisher.sendFixture(media)
        publisher.stop(flushTimeout: .seconds(10))
        // nginx reads what is still in its socket buffer after our close; its "disconnect" log
        // line comes after deleteStream has closed the recording.
        let logURL = prefix.appendingPathComponent("logs/error.log")
        let closeDeadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < closeDeadline,
              !((try? String(contentsOf: logURL, encoding: .utf8)) ?? "").contains("disconnect") { usleep(20_000) }
        // The recording was closed at deleteStream. SIGKILL because single-process nginx may
        // inherit a signal mask that blocks SIGTERM from the test runner.
        kill(server.processIdentifier, SIGKILL)
        _ = ForeignTools.waitForExit(server, timeout: .seconds(5))

        let recorded = records.appendingPathComponent("guest1.flv")
        let log = (try? String(contentsOf: prefix.appendingPathComponent("logs/error.log"), encoding: .utf8)) ?? ""
        try #require(FileManager.default.fileExists(atPath: recorded.path), "no recording; nginx log:\n\(log.suffix(2000))")
        let (streams, dts) = try ForeignTools.probe(recorded)
        let video = streams.first { $0["codec_type"] as? String == "video" }
        let audio = streams.first { $0["codec_type"] as? String == "audio" }
        #expect(video?["codec_name"] as? String == "h264")
        #expect(video?["width"] as? Int == 320)
        #expect(video?["height"] as? Int == 240)
        #expect(video?["nb_read_frames"] as? String == "\(media.accessUnits.count)")
        #expect(audio?["codec_name"] as? String == "aac")
        #expect(audio?["nb_read_frames"] as? String == "\(media.audioFrames.count)")
        #expect(zip(dts, dts.dropFirst()).allSatisfy { $0 < $1 }, "video DTS must grow: \(dts)")
        // Our own reader agrees with ffprobe on the recording.
        let file = try FLVFile([UInt8](Data(contentsOf: recorded)))
        #expect(file.tags.filter { $0.kind == .video && FLVVideoTagInfo($0.body)?.avcPacketType == 1 }.count == media.accessUnits.count)
    }
}

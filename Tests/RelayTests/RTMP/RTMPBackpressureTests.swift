import Foundation
import Testing
@testable import Relay

/// An RTMP server on a real loopback socket built from `RTMPServerSession`, that can stop
/// reading on command. Its receive buffer is kept small so a stall backs up quickly.
final class StallingRTMPServer: @unchecked Sendable {
    // @unchecked: `stalled`, `stopped`, `tags` are only touched while holding `lock`;
    // the sockets belong to the server thread after init.
    private let lock = NSLock()
    private var stalled = false
    private var stopped = false
    private var tags: [FLVTag] = []
    private var publishedPath: String?
    private var unpublished = false
    private let done = DispatchSemaphore(value: 0)
    let listenFD: Int32
    let port: UInt16

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var small: Int32 = 8192
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, len) == 0 && listen(fd, 4) == 0 && getsockname(fd, $0, &len) == 0
            }
        }
        guard ok else { close(fd); throw RTMPError(.connectionFailed, "test server cannot listen") }
        listenFD = fd
        port = UInt16(bigEndian: addr.sin_port)
    }

    deinit { close(listenFD) }

    func setStalled(_ value: Bool) { lock.withLock { stalled = value } }
    var received: [FLVTag] { lock.withLock { tags } }
    var path: String? { lock.withLock { publishedPath } }
    var sawUnpublish: Bool { lock.withLock { unpublished } }

    func start() {
        Thread { [self] in serve(); done.signal() }.start()
    }

    func stop() {
        lock.withLock { stopped = true }
        done.wait()
    }

    private func serve() {
        var pfd = pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0)
        while poll(&pfd, 1, 100) == 0 { if lock.withLock({ stopped }) { return } }
        let fd = accept(listenFD, nil, nil)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var session = RTMPServerSession()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !lock.withLock({ stopped }) {
            if lock.withLock({ stalled }) { usleep(5000); continue }  // not reading, on purpose
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 50) > 0 else { continue }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { lock.withLock { unpublished = true }; return }
            for action in session.receive(buffer[0..<n]) {
                switch action {
                case .send(let bytes): writeAll(fd, bytes)
                case .event(.publishRequested):
                    let path = session.path
                    lock.withLock { publishedPath = path }
                    writeAll(fd, session.acceptPublish())
                case .event(.unpublished): lock.withLock { unpublished = true }
                case .event(.media(let tag)): lock.withLock { tags.append(tag) }
                case .event: break
                }
            }
        }
    }

    private func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            off += n
        }
    }
}

@Suite("RTMP publisher under backpressure", .serialized)
struct RTMPBackpressureTests {
    @Test func stalledServerMakesThePublisherDropGOPsWithBoundedMemoryAndRecover() throws {
        let media = try RTMPFixtureMedia.load()
        let server = try StallingRTMPServer()
        server.start()
        defer { server.stop() }
        var config = RTMPPublisher.Configuration()
        config.queue.maxBytes = 1 << 20
        config.socketHighWater = 64 << 10
        config.socketSendBufferSize = 16 << 10
        let events = PublisherEvents()
        let publisher = RTMPPublisher(url: try RTMPURL("rtmp://127.0.0.1:\(server.port)/live/x"), configuration: config,
                                      onEvent: { events.record($0) }, onKeyframeRequest: { events.keyframeRequested() })
        publisher.start()
        defer { publisher.stop(flushTimeout: .zero) }
        try #require(events.wait(timeout: 10) { if case .publishing = $0 { true } else { false } })

        // A source running at 10x real time, so a stalled socket backs the queue up fast.
        var frame = 0
        func feed(_ count: Int) {
            for _ in 0..<count {
                let au = media.accessUnits[frame % media.accessUnits.count]
                let t = RTMPFixtureMedia.videoTime(frame)
                publisher.send(video: au.bytes, pts: t, dts: t, isKeyframe: au.isKeyframe)
                frame += 1
                usleep(3_300)  // simulated capture rate (10x real time)
            }
        }
        feed(60)
        server.setStalled(true)
        var maxQueued = 0
        for _ in 0..<30 { feed(20); maxQueued = max(maxQueued, publisher.queuedBytes) }  // ~20 s of media at 10x
        let stalledCounters = publisher.counters
        #expect(stalledCounters.queue.gopsDropped > 0, "\(stalledCounters)")
        #expect(maxQueued <= config.queue.maxBytes)
        let receivedDuringStall = server.received.count

        server.setStalled(false)
        feed(200)
        let deadline = ContinuousClock.now + .seconds(10)
        while server.received.count < receivedDuringStall + 100 && ContinuousClock.now < deadline { usleep(20_000) }
        #expect(server.received.count >= receivedDuringStall + 100, "publisher did not recover")
        #expect(!events.all.contains { if case .disconnected = $0 { true } else { false } })

        // Judge the received stream with a foreign decoder: drops must leave it decodable.
        var writer = FLVFileWriter(hasAudio: false, hasVideo: true)
        for tag in server.received where tag.kind != .audio { writer.append(tag) }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rtmp-bp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("received.flv")
        try Data(writer.bytes).write(to: file)
        if let ffmpeg = ForeignTools.find("ffmpeg") {
            let result = try ForeignTools.run(ffmpeg, ["-v", "error", "-i", file.path, "-f", "null", "-"])
            #expect(result.status == 0)
            #expect(result.err.isEmpty, "decoder complained: \(result.err.prefix(500))")
        }
        let video = server.received.filter { $0.kind == .video && FLVVideoTagInfo($0.body)?.avcPacketType == 1 }
        #expect(zip(video, video.dropFirst()).allSatisfy { $0.timestamp <= $1.timestamp })
    }
}

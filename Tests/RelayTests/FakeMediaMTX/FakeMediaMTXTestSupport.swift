import FakeMediaMTX
import Foundation
import Testing
@testable import Relay

/// A FakeMediaMTX on free ports, recording into a fresh temporary directory.
struct FakeMediaMTXHarness {
    let fake: FakeMediaMTX
    let directory: URL
    /// Every line FakeMediaMTX logged.
    let log = CallsCapturedLog()

    init(readTimeout: Duration = .seconds(10), handshakeTimeout: Duration = .seconds(10), rtmpPort: Int = 0) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("fake-mediamtx-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        fake = FakeMediaMTX(configuration: .init(rtmpPort: rtmpPort, apiPort: 0, recordDirectory: directory,
                                                 readTimeout: readTimeout, handshakeTimeout: handshakeTimeout),
                            logger: log.logger("fake-mediamtx"))
        try fake.start()
    }

    var rtmpPort: Int { fake.rtmpPort ?? 0 }

    func url(_ path: String) throws -> RTMPURL { try RTMPURL("rtmp://127.0.0.1:\(rtmpPort)/\(path)") }

    func get(_ apiPath: String) async throws -> (status: Int, json: [String: Any]) {
        let client = try CurlHTTPClient()
        let response = try await client.send(HTTPClientRequest(method: "GET", url: "\(fake.apiBaseURL ?? "")\(apiPath)"))
        return (response.status, ForeignTools.json(response.text))
    }

    func tearDown() {
        fake.stop()
        try? FileManager.default.removeItem(at: directory)
    }

    static var unlimitedPublisher: RTMPPublisher.Configuration {
        var c = RTMPForeignJudgeTests.unlimited
        c.reconnect = false
        return c
    }
}

/// A raw TCP client for feeding FakeMediaMTX bad input.
final class RawRTMPClient {
    let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        let ok = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard ok else { close(fd); throw RTMPError(.connectionFailed, "raw client cannot connect") }
    }

    deinit { close(fd) }

    func send(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Reads exactly `count` bytes (nil on EOF or timeout).
    func read(_ count: Int) -> [UInt8]? {
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: count)
        while out.count < count {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, count - out.count, 0) }
            guard n > 0 else { return nil }
            out += buf[0..<n]
        }
        return out
    }

    /// True when the server closed the connection (EOF or reset) within the receive timeout.
    func waitForClose() -> Bool {
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { return true }
            if n < 0 { return errno == ECONNRESET }
        }
    }

    /// The plain handshake: C0+C1, read S0+S1+S2, send C2 (echo of S1).
    func handshake() -> Bool {
        send([0x03] + [UInt8](repeating: 0, count: 1536))
        guard let s = read(1 + 1536 + 1536) else { return false }
        send(Array(s[1..<1537]))
        return true
    }
}

extension RawRTMPClient {
    /// "127.0.0.1:port" as the server sees this client.
    var localAddress: String {
        var addr = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { p in p.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return "127.0.0.1:\(UInt16(bigEndian: addr.sin_port))"
    }
}

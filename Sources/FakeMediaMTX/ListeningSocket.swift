#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Relay

/// Owns one POSIX file descriptor and closes it in deinit, or earlier with `close()` (used for
/// the listener, so a stopped server frees its port at once). Touched by one thread only.
final class OwnedFD {
    private(set) var fd: Int32
    init(_ fd: Int32) { self.fd = fd }
    deinit { close() }

    func close() {
        guard fd >= 0 else { return }
        POSIX.close(fd)
        fd = -1
    }
}

/// Thin POSIX helpers for the ingest thread: a non-blocking IPv4 listener, accept, recv, send.
/// (Relay's TCPSocket is a client socket and internal to Relay; this is the server half.)
enum PosixSocket {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Binds and listens (SO_REUSEADDR so a restarted server gets the same port at once).
    static func makeListener(host: String, port: Int) throws(Failure) -> (OwnedFD, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket() failed: \(POSIX.errnoDescription())") }
        // Close-on-exec: a browser a test starts would otherwise keep the port bound.
        POSIX.prepare(fd)
        let owned = OwnedFD(fd)
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        guard inet_pton(AF_INET, host, &addr.sin_addr) == 1 else {
            throw Failure(description: "RTMP listen address '\(host)' is not an IPv4 address")
        }
        guard (0...65535).contains(port) else { throw Failure(description: "RTMP port \(port) is out of range") }
        addr.sin_port = UInt16(port).bigEndian
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, len) == 0 && listen(fd, 64) == 0 && getsockname(fd, $0, &len) == 0
            }
        }
        guard bound else {
            throw Failure(description: "cannot listen for RTMP on \(host):\(port): \(POSIX.errnoDescription()) (is MediaMTX or another server already there?)")
        }
        return (owned, Int(UInt16(bigEndian: addr.sin_port)))
    }

    /// Accepts one pending connection, or nil when none is waiting.
    static func acceptOne(_ listener: Int32) -> (OwnedFD, remote: String)? {
        var addr = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let fd = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { accept(listener, $0, &len) }
        }
        guard fd >= 0 else { return nil }
        POSIX.prepare(fd)
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
        _ = inet_ntop(AF_INET, &addr.sin_addr, &text, socklen_t(text.count))
        let host = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return (OwnedFD(fd), "\(host):\(UInt16(bigEndian: addr.sin_port))")
    }

    typealias IO = POSIX.IO

    static func receive(_ fd: Int32, into buffer: inout [UInt8]) -> IO { POSIX.receive(fd, into: &buffer) }

    static func transmit(_ fd: Int32, _ bytes: ArraySlice<UInt8>) -> IO { POSIX.send(fd, bytes) }
}

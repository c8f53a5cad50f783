#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Owns one POSIX file descriptor and closes it in deinit, or earlier with `close()` (used for
/// the listener, so a stopped server frees its port at once). Touched by one thread only.
final class OwnedFD {
    private(set) var fd: Int32
    init(_ fd: Int32) { self.fd = fd }
    deinit { close() }

    func close() {
        guard fd >= 0 else { return }
        _ = posixClose(fd)
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
        guard fd >= 0 else { throw Failure(description: "socket() failed: \(errnoString())") }
        // Not inherited by child processes (a browser a test starts would keep the port bound).
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
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
            throw Failure(description: "cannot listen for RTMP on \(host):\(port): \(errnoString()) (is MediaMTX or another server already there?)")
        }
        setNonBlocking(fd)
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
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        setNonBlocking(fd)
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
        _ = inet_ntop(AF_INET, &addr.sin_addr, &text, socklen_t(text.count))
        let host = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return (OwnedFD(fd), "\(host):\(UInt16(bigEndian: addr.sin_port))")
    }

    enum IO { case done(Int), wouldBlock, closed, failed(String) }

    static func receive(_ fd: Int32, into buffer: inout [UInt8]) -> IO {
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n > 0 { return .done(n) }
        if n == 0 { return .closed }
        if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return .wouldBlock }
        return .failed(errnoString())
    }

    static func transmit(_ fd: Int32, _ bytes: ArraySlice<UInt8>) -> IO {
        #if os(Linux)
        let flags = Int32(MSG_NOSIGNAL)
        #else
        let flags: Int32 = 0  // Darwin: SIGPIPE is ignored by the process owner instead
        #endif
        let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, flags) }
        if n >= 0 { return .done(n) }
        if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return .wouldBlock }
        return .failed(errnoString())
    }

    /// A self-pipe that wakes the poll loop from another thread.
    static func pipePair() -> (read: OwnedFD, write: OwnedFD) {
        var fds: [Int32] = [-1, -1]
        _ = pipe(&fds)
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        setNonBlocking(fds[0])
        setNonBlocking(fds[1])
        return (OwnedFD(fds[0]), OwnedFD(fds[1]))
    }

    static func wake(_ fd: Int32) {
        var b: UInt8 = 1
        _ = write(fd, &b, 1)
    }

    static func drain(_ fd: Int32) {
        var buf = [UInt8](repeating: 0, count: 64)
        while buf.withUnsafeMutableBytes({ read(fd, $0.baseAddress, 64) }) > 0 {}
    }

    private static func setNonBlocking(_ fd: Int32) { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
}

private func errnoString() -> String { String(cString: strerror(errno)) }

private func posixClose(_ fd: Int32) -> Int32 {
    #if canImport(Glibc)
    Glibc.close(fd)
    #elseif canImport(Musl)
    Musl.close(fd)
    #else
    Darwin.close(fd)
    #endif
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A non-blocking TCP client socket: one owner, closed in deinit. Used by `RTMPPublisher`'s
/// worker thread only.
final class TCPSocket {
    let fd: Int32

    private init(fd: Int32) { self.fd = fd }

    deinit { _ = systemClose(fd) }

    /// Resolves and connects with a deadline (IPv4 and IPv6, first address that answers).
    static func connect(host: String, port: UInt16, timeout: Duration, sendBufferSize: Int? = nil) throws(RTMPError) -> TCPSocket {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if os(Linux)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        var result: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &result)
        guard rc == 0, let first = result else {
            throw RTMPError(.connectionFailed, "cannot resolve RTMP host '\(host)': \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(first) }
        var lastError = "no address"
        var info: UnsafeMutablePointer<addrinfo>? = first
        let deadline = ContinuousClock.now + timeout
        while let ai = info {
            info = ai.pointee.ai_next
            let fd = socket(ai.pointee.ai_family, ai.pointee.ai_socktype, ai.pointee.ai_protocol)
            guard fd >= 0 else { lastError = errnoString(); continue }
            let sock = TCPSocket(fd: fd)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            var one: Int32 = 1
            _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            if let sendBufferSize {
                var size = Int32(clamping: sendBufferSize)
                _ = setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
            }
            #if canImport(Darwin)
            _ = setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
            #endif
            if sysConnect(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen) == 0 {
                if sock.isConnectedToItself { lastError = selfConnected; continue }
                return sock
            }
            guard errno == EINPROGRESS else { lastError = errnoString(); continue }
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else { break }
            var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let ready = poll(&pfd, 1, Int32(max(1, RTMPTimestampMapper.milliseconds(remaining))))
            if ready <= 0 { lastError = ready == 0 ? "timed out after \(timeout)" : errnoString(); continue }
            var soError: Int32 = 0
            var len = socklen_t(MemoryLayout<Int32>.size)
            _ = getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &len)
            if soError == 0 {
                if sock.isConnectedToItself { lastError = selfConnected; continue }
                return sock
            }
            lastError = String(cString: strerror(soError))
        }
        throw RTMPError(.connectionFailed, "cannot connect to RTMP server \(host):\(port): \(lastError) (is MediaMTX running and listening there?)")
    }

    private static let selfConnected = "nothing listens there (the connection reached itself)"

    /// TCP "simultaneous open" with itself: with nobody listening on a loopback port inside the
    /// ephemeral range, the kernel can pick that very port as the source, and the socket
    /// connects to itself. It would then hold the port, so the server could not start on it.
    var isConnectedToItself: Bool {
        var local = sockaddr_storage(), peer = sockaddr_storage()
        var localLength = socklen_t(MemoryLayout<sockaddr_storage>.size), peerLength = localLength
        let named = withUnsafeMutablePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &localLength) }
        }
        let peered = withUnsafeMutablePointer(to: &peer) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &peerLength) }
        }
        guard named == 0, peered == 0, localLength == peerLength else { return false }
        return withUnsafeBytes(of: &local) { a in
            withUnsafeBytes(of: &peer) { b in a.prefix(Int(localLength)).elementsEqual(b.prefix(Int(peerLength))) }
        }
    }

    enum IOResult { case done(Int), wouldBlock, closed, failed(String) }

    func read(into buffer: inout [UInt8]) -> IOResult {
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n > 0 { return .done(n) }
        if n == 0 { return .closed }
        if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return .wouldBlock }
        return .failed(errnoString())
    }

    func write(_ bytes: ArraySlice<UInt8>) -> IOResult {
        #if os(Linux)
        let flags = Int32(MSG_NOSIGNAL)
        #else
        let flags: Int32 = 0
        #endif
        let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, flags) }
        if n >= 0 { return .done(n) }
        if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return .wouldBlock }
        return .failed(errnoString())
    }
}

private func errnoString() -> String { String(cString: strerror(errno)) }

private func systemClose(_ fd: Int32) -> Int32 {
    #if canImport(Glibc)
    Glibc.close(fd)
    #elseif canImport(Musl)
    Musl.close(fd)
    #else
    Darwin.close(fd)
    #endif
}

private func sysConnect(_ fd: Int32, _ addr: UnsafePointer<sockaddr>?, _ len: socklen_t) -> Int32 {
    #if canImport(Glibc)
    Glibc.connect(fd, addr, len)
    #elseif canImport(Musl)
    Musl.connect(fd, addr, len)
    #else
    Darwin.connect(fd, addr, len)
    #endif
}

/// A self-pipe that wakes a poll loop from another thread.
final class WakePipe: Sendable {
    let readFD: Int32
    let writeFD: Int32

    init() {
        var fds: [Int32] = [-1, -1]
        _ = pipe(&fds)
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        readFD = fds[0]
        writeFD = fds[1]
        _ = fcntl(readFD, F_SETFL, fcntl(readFD, F_GETFL) | O_NONBLOCK)
        _ = fcntl(writeFD, F_SETFL, fcntl(writeFD, F_GETFL) | O_NONBLOCK)
    }

    deinit {
        _ = systemClose(readFD)
        _ = systemClose(writeFD)
    }

    func wake() {
        var b: UInt8 = 1
        _ = sysWrite(writeFD, &b, 1)
    }

    func drain() {
        var buf = [UInt8](repeating: 0, count: 64)
        while buf.withUnsafeMutableBytes({ sysRead(readFD, $0.baseAddress, 64) }) > 0 {}
    }
}

private func sysWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int {
    #if canImport(Glibc)
    Glibc.write(fd, p, n)
    #elseif canImport(Musl)
    Musl.write(fd, p, n)
    #else
    Darwin.write(fd, p, n)
    #endif
}

private func sysRead(_ fd: Int32, _ p: UnsafeMutableRawPointer?, _ n: Int) -> Int {
    #if canImport(Glibc)
    Glibc.read(fd, p, n)
    #elseif canImport(Musl)
    Musl.read(fd, p, n)
    #else
    Darwin.read(fd, p, n)
    #endif
}

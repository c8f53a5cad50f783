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

    deinit { POSIX.close(fd) }

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
            guard fd >= 0 else { lastError = POSIX.errnoDescription(); continue }
            let sock = TCPSocket(fd: fd)
            POSIX.prepare(fd)
            var one: Int32 = 1
            _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            if let sendBufferSize {
                var size = Int32(clamping: sendBufferSize)
                _ = setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
            }
            #if canImport(Darwin)
            _ = setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
            #endif
            if POSIX.connect(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen) == 0 {
                if sock.isConnectedToItself { lastError = selfConnected; continue }
                return sock
            }
            guard errno == EINPROGRESS else { lastError = POSIX.errnoDescription(); continue }
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else { break }
            var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let ready = poll(&pfd, 1, Int32(max(1, RTMPTimestampMapper.milliseconds(remaining))))
            if ready <= 0 { lastError = ready == 0 ? "timed out after \(timeout)" : POSIX.errnoDescription(); continue }
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

    typealias IOResult = POSIX.IO

    func read(into buffer: inout [UInt8]) -> IOResult { POSIX.receive(fd, into: &buffer) }

    func write(_ bytes: ArraySlice<UInt8>) -> IOResult { POSIX.send(fd, bytes) }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// The few POSIX calls every socket and pipe owner of the project shares (RTMP's TCP client,
/// FakeMediaMTX's listener, the UDP drivers), written once: the libc module differs per
/// platform, and the owning classes' own `close()`/`read()` methods shadow the C names.
public enum POSIX {
    /// What a non-blocking read or write did.
    public enum IO: Equatable, Sendable {
        case done(Int)
        case wouldBlock
        /// The peer closed the connection (read returned 0).
        case closed
        case failed(String)
    }

    /// `strerror(errno)`, read right after the failing call.
    public static func errnoDescription(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }

    public static func close(_ fd: Int32) {
        #if canImport(Glibc)
        _ = Glibc.close(fd)
        #elseif canImport(Musl)
        _ = Musl.close(fd)
        #else
        _ = Darwin.close(fd)
        #endif
    }

    public static func connect(_ fd: Int32, _ address: UnsafePointer<sockaddr>?, _ length: socklen_t) -> Int32 {
        #if canImport(Glibc)
        Glibc.connect(fd, address, length)
        #elseif canImport(Musl)
        Musl.connect(fd, address, length)
        #else
        Darwin.connect(fd, address, length)
        #endif
    }

    /// Close-on-exec and non-blocking, for every descriptor the project opens: a child process
    /// (a browser a test starts, ffmpeg) must not inherit a socket and keep its port bound, and
    /// every descriptor is served by a poll loop. Returns false when fcntl failed.
    @discardableResult
    public static func prepare(_ fd: Int32) -> Bool {
        fcntl(fd, F_SETFD, FD_CLOEXEC) == 0 && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == 0
    }

    /// One recv(2) into `buffer`. EINTR counts as "would block": the poll loop comes back.
    public static func receive(_ fd: Int32, into buffer: inout [UInt8]) -> IO {
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n > 0 { return .done(n) }
        if n == 0 { return .closed }
        if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return .wouldBlock }
        return .failed(errnoDescription())
    }

    /// One send(2) of `bytes` (part of them may go). Never raises SIGPIPE on Linux; on Darwin
    /// the socket is set SO_NOSIGPIPE by its owner.
    public static func send(_ fd: Int32, _ bytes: ArraySlice<UInt8>) -> IO {
        #if os(Linux)
        let flags = Int32(MSG_NOSIGNAL)
        #else
        let flags: Int32 = 0
        #endif
        let n = bytes.withUnsafeBytes { sendBytes(fd, $0.baseAddress, $0.count, flags) }
        if n >= 0 { return .done(n) }
        if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return .wouldBlock }
        return .failed(errnoDescription())
    }
}

/// send(2) where the name is not shadowed by `POSIX.send`.
private func sendBytes(_ fd: Int32, _ bytes: UnsafeRawPointer?, _ count: Int, _ flags: Int32) -> Int {
    send(fd, bytes, count, flags)
}

/// A self-pipe that wakes a poll loop from other threads: they `wake()`, the loop polls
/// `readDescriptor` and `drain()`s it. Both ends are non-blocking, so a full pipe (many wakes
/// before the loop ran) loses nothing: one byte in it is enough.
///
/// The descriptors close once, in `close()` (after the loop's thread ended, so the numbers are
/// not reused under it) or in deinit.
public final class WakePipe: Sendable {
    public struct SetupFailed: Error, CustomStringConvertible {
        public let code: Int32
        public var description: String { "cannot create a wake-up pipe: \(POSIX.errnoDescription(code)) (errno \(code))" }
    }

    public let readDescriptor: Int32
    public let writeDescriptor: Int32
    private let closed = Atomic<Bool>(false)

    public init() throws(SetupFailed) {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw SetupFailed(code: errno) }
        guard POSIX.prepare(fds[0]), POSIX.prepare(fds[1]) else {
            let code = errno
            POSIX.close(fds[0])
            POSIX.close(fds[1])
            throw SetupFailed(code: code)
        }
        readDescriptor = fds[0]
        writeDescriptor = fds[1]
    }

    deinit { close() }

    public func wake() {
        var byte: UInt8 = 1
        _ = write(writeDescriptor, &byte, 1)
    }

    public func drain() {
        var bytes = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        while withUnsafeMutableBytes(of: &bytes, { read(readDescriptor, $0.baseAddress, $0.count) }) > 0 {}
    }

    /// Idempotent.
    public func close() {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        POSIX.close(readDescriptor)
        POSIX.close(writeDescriptor)
    }
}

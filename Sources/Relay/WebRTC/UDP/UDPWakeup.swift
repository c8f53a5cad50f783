#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A self-pipe: other threads `signal()` to wake the driver thread out of poll(); the driver
/// polls `readDescriptor` and `drain()`s it. Both ends are non-blocking, so a full pipe (many
/// signals before the driver ran) loses nothing: one byte in the pipe is enough to wake it.
///
/// `@unchecked Sendable`: the descriptors are immutable after init and write(2)/read(2) on a
/// pipe are safe from any thread; `close()` runs only after the driver thread was joined.
final class UDPWakeup: @unchecked Sendable {
    let readDescriptor: Int32
    let writeDescriptor: Int32

    init() throws(UDPDriverError) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw .errno("pipe for the driver wakeup") }
        for fd in fds {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        }
        readDescriptor = fds[0]
        writeDescriptor = fds[1]
    }

    func signal() {
        var byte: UInt8 = 1
        _ = write(writeDescriptor, &byte, 1)
    }

    func drain() {
        var bytes = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        while withUnsafeMutableBytes(of: &bytes, { read(readDescriptor, $0.baseAddress, $0.count) }) > 0 {}
    }

    func close() {
        closeDescriptor(readDescriptor)
        closeDescriptor(writeDescriptor)
    }
}

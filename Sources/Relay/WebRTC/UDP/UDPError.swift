#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A socket or thread call failed while setting up or running a UDP driver.
public struct UDPDriverError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What was being done ("bind 127.0.0.1:0", "start the driver thread").
    public var operation: String
    /// errno, when the failure came from the C library.
    public var code: Int32?
    /// A failure that is not a C call (e.g. PeerConnection setup), in words.
    public var detail: String?

    public init(operation: String, code: Int32? = nil, detail: String? = nil) {
        self.operation = operation
        self.code = code
        self.detail = detail
    }

    static func errno(_ operation: String) -> UDPDriverError {
        UDPDriverError(operation: operation, code: lastErrno())
    }

    public var description: String {
        var text = "UDP driver: \(operation) failed"
        if let code { text += ": " + String(cString: strerror(code)) + " (errno \(code))" }
        if let detail { text += ": " + detail }
        if code == EADDRNOTAVAIL { text += "; check the address is configured on a local interface" }
        if code == EADDRINUSE { text += "; another process holds the port: use port 0 or another port" }
        return text
    }
}

/// errno, read right after the failing call.
@inline(__always) func lastErrno() -> Int32 {
    errno
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Conversions between `SocketAddress` and the C socket structures, for a UDP driver.
/// Kept apart so the sans-IO code never sees a sockaddr.
extension SocketAddress {
    /// From a `sockaddr_storage` filled in by `recvfrom`/`getsockname`; nil for families other
    /// than AF_INET/AF_INET6.
    public init?(sockaddrStorage storage: sockaddr_storage) {
        var storage = storage
        switch Int32(storage.ss_family) {
        case AF_INET:
            let result: SocketAddress? = withUnsafeBytes(of: &storage) { raw in
                let sin = raw.load(as: sockaddr_in.self)
                var address = sin.sin_addr
                let bytes = withUnsafeBytes(of: &address) { Array($0) }
                return SocketAddress(addressBytes: bytes, port: UInt16(bigEndian: sin.sin_port))
            }
            guard let result else { return nil }
            self = result
        case AF_INET6:
            let result: SocketAddress? = withUnsafeBytes(of: &storage) { raw in
                let sin6 = raw.load(as: sockaddr_in6.self)
                var address = sin6.sin6_addr
                let bytes = withUnsafeBytes(of: &address) { Array($0) }
                return SocketAddress(addressBytes: bytes, port: UInt16(bigEndian: sin6.sin6_port))
            }
            guard let result else { return nil }
            self = result
        default:
            return nil
        }
    }

    /// This address as a `sockaddr_storage` plus the length to pass to `sendto`/`bind`.
    public var sockaddrStorage: (storage: sockaddr_storage, length: socklen_t) {
        var storage = sockaddr_storage()
        let bytes = addressBytes
        switch family {
        case .ipv4:
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = port.bigEndian
            withUnsafeMutableBytes(of: &sin.sin_addr) { $0.copyBytes(from: bytes) }
            withUnsafeMutableBytes(of: &storage) { raw in
                withUnsafeBytes(of: &sin) { raw.copyMemory(from: $0) }
            }
            return (storage, socklen_t(MemoryLayout<sockaddr_in>.size))
        case .ipv6:
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_port = port.bigEndian
            withUnsafeMutableBytes(of: &sin6.sin6_addr) { $0.copyBytes(from: bytes) }
            withUnsafeMutableBytes(of: &storage) { raw in
                withUnsafeBytes(of: &sin6) { raw.copyMemory(from: $0) }
            }
            return (storage, socklen_t(MemoryLayout<sockaddr_in6>.size))
        }
    }
}

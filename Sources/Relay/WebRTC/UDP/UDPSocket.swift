#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One non-blocking UDP socket (IPv4 or IPv6; IPv6 sockets are IPv6-only). Owns the fd and
/// closes it exactly once (`close()` or deinit). Used from one thread at a time. Public so a
/// server with one socket for many connections (FakeCalls' SFU port) can run its own poll loop.
public final class UDPSocket {
    /// For poll(); never close it directly.
    public let fd: Int32
    /// The bound address with the real port (port 0 asks the kernel for an ephemeral one).
    public let localAddress: SocketAddress
    /// Host candidates for this socket (one per interface address when bound to the wildcard).
    public var hostCandidates: [ICECandidate] { HostCandidates.candidates(for: localAddress) }
    private var isClosed = false

    public init(bindTo address: SocketAddress, receiveBufferBytes: Int32 = 1 << 20) throws(UDPDriverError) {
        let family = address.family == .ipv4 ? AF_INET : AF_INET6
        #if canImport(Darwin)
        let fd = socket(family, SOCK_DGRAM, 0)
        #else
        let fd = socket(family, Int32(SOCK_DGRAM.rawValue), 0)
        #endif
        guard fd >= 0 else { throw .errno("socket(\(address.family == .ipv4 ? "AF_INET" : "AF_INET6"))") }
        do throws(UDPDriverError) {
            guard POSIX.prepare(fd) else { throw .errno("make the socket non-blocking") }
            if family == AF_INET6 {
                var on: Int32 = 1
                _ = setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &on, socklen_t(MemoryLayout<Int32>.size))
            }
            // Media arrives in bursts (a keyframe is dozens of packets): a larger buffer rides
            // them out while the loop thread is busy. Best effort; the kernel may cap it.
            var bufferBytes = receiveBufferBytes
            _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufferBytes, socklen_t(MemoryLayout<Int32>.size))
            var (storage, length) = address.sockaddrStorage
            let bound = withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
            }
            guard bound == 0 else { throw .errno("bind \(address)") }
            var actual = sockaddr_storage()
            var actualLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let named = withUnsafeMutablePointer(to: &actual) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &actualLength) }
            }
            guard named == 0, let resolved = SocketAddress(sockaddrStorage: actual) else { throw .errno("getsockname") }
            self.fd = fd
            self.localAddress = resolved
        } catch {
            POSIX.close(fd)
            throw error
        }
    }

    deinit {
        close()
    }

    public func close() {
        guard !isClosed else { return }
        isClosed = true
        POSIX.close(fd)
    }

    /// Reads one datagram into `buffer`; nil when none is waiting (EAGAIN) or on an error that
    /// concerns one datagram only (e.g. ECONNREFUSED from an earlier ICMP).
    public func receive(into buffer: UnsafeMutableRawBufferPointer) -> (count: Int, from: SocketAddress)? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let count = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                recvfrom(fd, buffer.baseAddress, buffer.count, 0, $0, &length)
            }
        }
        guard count >= 0, let from = Self.address(storage) else { return nil }
        return (count, from)
    }

    /// True when the datagram went to the kernel. A full send buffer drops it, as UDP would.
    @discardableResult
    public func send(_ bytes: [UInt8], to destination: SocketAddress) -> Bool {
        var (storage, length) = destination.sockaddrStorage
        let sent = bytes.withUnsafeBytes { raw in
            withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, raw.baseAddress, raw.count, 0, $0, length)
                }
            }
        }
        return sent == bytes.count
    }

    /// The source of a received datagram, without the byte array the general conversion makes
    /// (this runs per packet).
    private static func address(_ storage: sockaddr_storage) -> SocketAddress? {
        var storage = storage
        switch Int32(storage.ss_family) {
        case AF_INET:
            return withUnsafeBytes(of: &storage) { raw in
                let sin = raw.load(as: sockaddr_in.self)
                return SocketAddress(ipv4: UInt32(bigEndian: sin.sin_addr.s_addr), port: UInt16(bigEndian: sin.sin_port))
            }
        case AF_INET6:
            return withUnsafeBytes(of: &storage) { raw in
                let sin6 = raw.load(as: sockaddr_in6.self)
                return withUnsafeBytes(of: sin6.sin6_addr) { bytes in
                    let high = bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self)
                    let low = bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
                    return SocketAddress(ipv6High: UInt64(bigEndian: high), low: UInt64(bigEndian: low),
                                         port: UInt16(bigEndian: sin6.sin6_port))
                }
            }
        default:
            return nil
        }
    }
}

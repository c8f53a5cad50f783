#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The host candidates for a bound UDP socket (RFC 8445 §5.1.1.1).
enum HostCandidates {
    /// A socket bound to one address has that one candidate. A socket bound to the wildcard
    /// (0.0.0.0 / ::) receives on every interface of its family: one candidate per interface
    /// address, loopback only when nothing else exists, IPv6 link-local left out (it needs a
    /// scope id SDP cannot carry).
    static func candidates(for bound: SocketAddress) -> [ICECandidate] {
        guard bound.isUnspecified else { return [.host(bound)] }
        let addresses = interfaceAddresses(family: bound.family).filter { !$0.isLinkLocal }
        let usable = addresses.filter { !$0.isLoopback }
        let chosen = usable.isEmpty ? addresses : usable
        var seen: Set<SocketAddress> = []
        var result: [ICECandidate] = []
        for (index, address) in chosen.enumerated() {
            let withPort = address.withPort(bound.port)
            guard seen.insert(withPort).inserted else { continue }
            // Earlier interfaces get a slightly higher local preference, so priorities differ.
            result.append(.host(withPort, localPreference: UInt16(65535 - min(index, 1000)),
                                foundation: String(index + 1)))
        }
        return result
    }

    static func interfaceAddresses(family: SocketAddress.Family) -> [SocketAddress] {
        var head: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&head) == 0, let first = head else { return [] }
        defer { freeifaddrs(head) }
        var result: [SocketAddress] = []
        var cursor: UnsafeMutablePointer<ifaddrs>? = first
        while let entry = cursor {
            defer { cursor = entry.pointee.ifa_next }
            guard let raw = entry.pointee.ifa_addr, (entry.pointee.ifa_flags & UInt32(IFF_UP)) != 0 else { continue }
            let wanted = family == .ipv4 ? AF_INET : AF_INET6
            guard Int32(raw.pointee.sa_family) == wanted else { continue }
            var storage = sockaddr_storage()
            let size = wanted == AF_INET ? MemoryLayout<sockaddr_in>.size : MemoryLayout<sockaddr_in6>.size
            withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: UnsafeRawBufferPointer(start: raw, count: size)) }
            if let address = SocketAddress(sockaddrStorage: storage) { result.append(address) }
        }
        return result
    }
}

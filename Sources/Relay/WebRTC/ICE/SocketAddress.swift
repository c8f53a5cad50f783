#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 address plus a UDP port, as a plain value (no sockaddr pointers).
///
/// The address is kept in two integers so that building one per received datagram costs no
/// allocation; `addressBytes` gives the network-order bytes (4 or 16).
public struct SocketAddress: Hashable, Sendable, CustomStringConvertible {
    public enum Family: Sendable, Hashable {
        case ipv4
        case ipv6
    }

    public let family: Family
    public var port: UInt16
    /// Network-order address: IPv6 bytes 0–7 in `high`, 8–15 in `low`; IPv4 lives in the low
    /// 32 bits of `low` (and `high` is 0).
    private let high: UInt64
    private let low: UInt64

    /// IPv4 from its four bytes in network order (`192, 0, 2, 1`).
    public init(ipv4 a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8, port: UInt16) {
        self.family = .ipv4
        self.port = port
        self.high = 0
        self.low = UInt64(a) << 24 | UInt64(b) << 16 | UInt64(c) << 8 | UInt64(d)
    }

    /// IPv4 from a 32-bit value in host order (`0xC000_0201` is 192.0.2.1).
    public init(ipv4 value: UInt32, port: UInt16) {
        self.family = .ipv4
        self.port = port
        self.high = 0
        self.low = UInt64(value)
    }

    /// IPv6 from two 64-bit halves in host order (first 8 bytes, last 8 bytes).
    public init(ipv6High high: UInt64, low: UInt64, port: UInt16) {
        self.family = .ipv6
        self.port = port
        self.high = high
        self.low = low
    }

    /// From network-order bytes: 4 bytes → IPv4, 16 bytes → IPv6, anything else → nil.
    public init?<Bytes: Collection>(addressBytes bytes: Bytes, port: UInt16) where Bytes.Element == UInt8 {
        switch bytes.count {
        case 4:
            var value: UInt32 = 0
            for byte in bytes { value = value << 8 | UInt32(byte) }
            self.init(ipv4: value, port: port)
        case 16:
            var high: UInt64 = 0
            var low: UInt64 = 0
            for (index, byte) in bytes.enumerated() {
                if index < 8 { high = high << 8 | UInt64(byte) } else { low = low << 8 | UInt64(byte) }
            }
            self.init(ipv6High: high, low: low, port: port)
        default:
            return nil
        }
    }

    /// From an IP literal ("192.0.2.1", "2001:db8::1"; brackets allowed around IPv6) and a port.
    /// Host names (including mDNS `*.local`) and zone ids are not addresses and give nil.
    public init?(ip text: some StringProtocol, port: UInt16) {
        var literal = String(text)
        if literal.hasPrefix("["), literal.hasSuffix("]") {
            literal = String(literal.dropFirst().dropLast())
        }
        guard !literal.isEmpty, literal.utf8.count <= 64 else { return nil }
        if literal.contains(":") {
            var raw = in6_addr()
            guard inet_pton(AF_INET6, literal, &raw) == 1 else { return nil }
            let bytes = withUnsafeBytes(of: &raw) { Array($0) }
            self.init(addressBytes: bytes, port: port)
        } else {
            var raw = in_addr()
            guard inet_pton(AF_INET, literal, &raw) == 1 else { return nil }
            let bytes = withUnsafeBytes(of: &raw) { Array($0) }
            self.init(addressBytes: bytes, port: port)
        }
    }

    /// From "192.0.2.1:5000" or "[2001:db8::1]:5000".
    public init?(_ text: some StringProtocol) {
        let string = String(text)
        if string.hasPrefix("[") {
            guard let close = string.firstIndex(of: "]") else { return nil }
            let host = string[string.index(after: string.startIndex)..<close]
            let rest = string[string.index(after: close)...]
            guard rest.hasPrefix(":"), let port = UInt16(rest.dropFirst()) else { return nil }
            self.init(ip: host, port: port)
        } else {
            guard let colon = string.lastIndex(of: ":"),
                  !string[..<colon].contains(":"),
                  let port = UInt16(string[string.index(after: colon)...])
            else { return nil }
            self.init(ip: string[..<colon], port: port)
        }
    }

    /// The address in network byte order: 4 bytes for IPv4, 16 for IPv6.
    public var addressBytes: [UInt8] {
        switch family {
        case .ipv4:
            return (0..<4).map { UInt8(truncatingIfNeeded: low >> (24 - 8 * UInt64($0))) }
        case .ipv6:
            return (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * UInt64($0))) }
                + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * UInt64($0))) }
        }
    }

    /// The IPv4 address as a host-order integer (nil for IPv6).
    public var ipv4Value: UInt32? { family == .ipv4 ? UInt32(truncatingIfNeeded: low) : nil }

    /// The IPv6 address as two host-order halves (nil for IPv4).
    public var ipv6Halves: (high: UInt64, low: UInt64)? { family == .ipv6 ? (high, low) : nil }

    /// The same address with another port.
    public func withPort(_ port: UInt16) -> SocketAddress {
        var copy = self
        copy.port = port
        return copy
    }

    /// 0.0.0.0 or :: (a socket bound to every interface).
    public var isUnspecified: Bool { high == 0 && low == 0 }

    public var isLoopback: Bool {
        switch family {
        case .ipv4: return low >> 24 == 127
        case .ipv6: return high == 0 && low == 1
        }
    }

    public var isLinkLocal: Bool {
        switch family {
        case .ipv4: return low >> 16 == 0xA9FE
        case .ipv6: return high >> 54 == 0x3FA  // fe80::/10
        }
    }

    /// The address alone, IPv6 in RFC 5952 form ("2001:db8::1").
    public var ipString: String {
        switch family {
        case .ipv4:
            return addressBytes.map(String.init).joined(separator: ".")
        case .ipv6:
            let bytes = addressBytes
            let groups = (0..<8).map { UInt16(bytes[2 * $0]) << 8 | UInt16(bytes[2 * $0 + 1]) }
            // Longest run (length ≥ 2) of zero groups becomes "::", the first such run on a tie.
            var bestStart = -1
            var bestLength = 0
            var index = 0
            while index < 8 {
                if groups[index] == 0 {
                    var end = index
                    while end < 8, groups[end] == 0 { end += 1 }
                    if end - index > bestLength, end - index >= 2 {
                        bestStart = index
                        bestLength = end - index
                    }
                    index = end
                } else {
                    index += 1
                }
            }
            func hex(_ range: Range<Int>) -> String {
                range.map { String(groups[$0], radix: 16) }.joined(separator: ":")
            }
            if bestStart < 0 { return hex(0..<8) }
            return hex(0..<bestStart) + "::" + hex((bestStart + bestLength)..<8)
        }
    }

    /// "192.0.2.1:5000" or "[2001:db8::1]:5000".
    public var description: String {
        switch family {
        case .ipv4: return "\(ipString):\(port)"
        case .ipv6: return "[\(ipString)]:\(port)"
        }
    }
}

/// Classic libpcap capture files of UDP datagrams: how recorded browser RTP is stored
/// (Fixtures/rtp) so that tshark, Wireshark and FFmpeg-era tooling read it as well as relayd.
///
/// Written files use LINKTYPE_RAW (101): each record is an IPv4 header, a UDP header and the
/// datagram, with made-up addresses (10.0.0.1 → 10.0.0.2) and one port pair per track, so
/// `tshark -r f.pcap -d udp.port==5004,rtp` decodes the RTP. The reader also accepts what
/// `tcpdump`/`tshark -i lo` write (Ethernet, Linux cooked, raw IPv4/IPv6; µs or ns, either byte
/// order), skipping anything that is not UDP.
public enum Pcap {
    /// One UDP datagram and when it was captured.
    public struct Datagram: Sendable, Equatable {
        /// Capture time in microseconds since the Unix epoch.
        public var timestampMicros: UInt64
        public var sourcePort: UInt16
        public var destinationPort: UInt16
        public var payload: [UInt8]

        public init(timestampMicros: UInt64, sourcePort: UInt16, destinationPort: UInt16, payload: [UInt8]) {
            self.timestampMicros = timestampMicros
            self.sourcePort = sourcePort
            self.destinationPort = destinationPort
            self.payload = payload
        }
    }

    public struct FormatError: Error, CustomStringConvertible, Equatable {
        public var description: String
    }

    static let linkTypeEthernet: UInt32 = 1
    static let linkTypeRaw: UInt32 = 101
    static let linkTypeLinuxCooked: UInt32 = 113
    static let linkTypeIPv4: UInt32 = 228
    static let linkTypeIPv6: UInt32 = 229

    /// The 24-byte file header of a file `PcapWriter` writes (µs resolution, little endian).
    public static func fileHeader() -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(24)
        bytes.appendLittleEndian(UInt32(0xA1B2_C3D4))
        bytes.appendLittleEndian(UInt16(2))
        bytes.appendLittleEndian(UInt16(4))
        bytes.appendLittleEndian(UInt32(0))  // thiszone
        bytes.appendLittleEndian(UInt32(0))  // sigfigs
        bytes.appendLittleEndian(UInt32(65_535))  // snaplen
        bytes.appendLittleEndian(linkTypeRaw)
        return bytes
    }

    /// One record (record header + IPv4 + UDP + payload) for `datagram`.
    public static func record(_ datagram: Datagram) -> [UInt8] {
        let udpLength = 8 + datagram.payload.count
        let ipLength = 20 + udpLength
        var bytes: [UInt8] = []
        bytes.reserveCapacity(16 + ipLength)
        bytes.appendLittleEndian(UInt32(truncatingIfNeeded: datagram.timestampMicros / 1_000_000))
        bytes.appendLittleEndian(UInt32(truncatingIfNeeded: datagram.timestampMicros % 1_000_000))
        bytes.appendLittleEndian(UInt32(ipLength))  // captured length
        bytes.appendLittleEndian(UInt32(ipLength))  // original length
        var ip: [UInt8] = [0x45, 0, UInt8(truncatingIfNeeded: ipLength >> 8), UInt8(truncatingIfNeeded: ipLength),
                           0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]
        let checksum = internetChecksum(ip)
        ip[10] = UInt8(checksum >> 8)
        ip[11] = UInt8(checksum & 0xFF)
        bytes += ip
        bytes.appendBigEndian(datagram.sourcePort)
        bytes.appendBigEndian(datagram.destinationPort)
        bytes.appendBigEndian(UInt16(truncatingIfNeeded: udpLength))
        bytes.appendBigEndian(UInt16(0))  // no UDP checksum (allowed over IPv4)
        bytes += datagram.payload
        return bytes
    }

    static func internetChecksum(_ header: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        var index = 0
        while index + 1 < header.count {
            sum += UInt32(header[index]) << 8 | UInt32(header[index + 1])
            index += 2
        }
        while sum > 0xFFFF { sum = (sum & 0xFFFF) + (sum >> 16) }
        return ~UInt16(sum)
    }

    /// Every UDP datagram in a capture file, in file order.
    public static func datagrams(in bytes: [UInt8]) throws -> [Datagram] {
        guard bytes.count >= 24 else { throw FormatError(description: "not a pcap file: shorter than its 24-byte header") }
        let magic = UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24
        let littleEndian: Bool
        let nanoseconds: Bool
        switch magic {
        case 0xA1B2_C3D4: (littleEndian, nanoseconds) = (true, false)
        case 0xD4C3_B2A1: (littleEndian, nanoseconds) = (false, false)
        case 0xA1B2_3C4D: (littleEndian, nanoseconds) = (true, true)
        case 0x4D3C_B2A1: (littleEndian, nanoseconds) = (false, true)
        case 0x0A0D_0D0A:
            throw FormatError(description: "this is a pcapng file: convert it with `editcap -F pcap in.pcapng out.pcap`")
        default:
            throw FormatError(description: "not a pcap file (magic \(String(magic, radix: 16)))")
        }
        func u32(_ offset: Int) -> UInt32 {
            let b = (UInt32(bytes[offset]), UInt32(bytes[offset + 1]), UInt32(bytes[offset + 2]), UInt32(bytes[offset + 3]))
            return littleEndian ? b.0 | b.1 << 8 | b.2 << 16 | b.3 << 24 : b.3 | b.2 << 8 | b.1 << 16 | b.0 << 24
        }
        let linkType = u32(20) & 0x0FFF_FFFF
        var datagrams: [Datagram] = []
        var offset = 24
        while offset < bytes.count {
            guard offset + 16 <= bytes.count else {
                throw FormatError(description: "record at byte \(offset) is cut short (header)")
            }
            let seconds = UInt64(u32(offset))
            let fraction = UInt64(u32(offset + 4))
            let captured = Int(u32(offset + 8))
            let start = offset + 16
            guard captured <= bytes.count - start else {
                throw FormatError(description: "record at byte \(offset) is cut short (\(captured) bytes announced)")
            }
            let micros = seconds * 1_000_000 + (nanoseconds ? fraction / 1000 : fraction)
            if let datagram = udp(in: bytes[start..<(start + captured)], linkType: linkType, timestampMicros: micros) {
                datagrams.append(datagram)
            }
            offset = start + captured
        }
        return datagrams
    }

    /// The UDP datagram inside one link-layer frame, or nil when it holds something else.
    private static func udp(in frame: ArraySlice<UInt8>, linkType: UInt32, timestampMicros: UInt64) -> Datagram? {
        var ip = frame.startIndex
        switch linkType {
        case linkTypeRaw, linkTypeIPv4, linkTypeIPv6:
            break
        case linkTypeEthernet:
            var typeAt = ip + 12
            guard frame.endIndex >= typeAt + 2 else { return nil }
            if frame[typeAt] == 0x81, frame[typeAt + 1] == 0x00 { typeAt += 4 }  // one 802.1Q tag
            ip = typeAt + 2
        case linkTypeLinuxCooked:
            ip += 16
        default:
            return nil
        }
        guard ip < frame.endIndex else { return nil }
        var udp: Int
        switch frame[ip] >> 4 {
        case 4:
            let headerLength = Int(frame[ip] & 0x0F) * 4
            guard headerLength >= 20, frame.endIndex >= ip + headerLength, frame[ip + 9] == 17 else { return nil }
            // A fragment other than the first carries no UDP header.
            guard (UInt16(frame[ip + 6] & 0x1F) << 8 | UInt16(frame[ip + 7])) == 0 else { return nil }
            udp = ip + headerLength
        case 6:
            guard frame.endIndex >= ip + 40, frame[ip + 6] == 17 else { return nil }
            udp = ip + 40
        default:
            return nil
        }
        guard frame.endIndex >= udp + 8 else { return nil }
        let length = Int(frame[udp + 4]) << 8 | Int(frame[udp + 5])
        guard length >= 8, udp + length <= frame.endIndex else { return nil }
        return Datagram(timestampMicros: timestampMicros,
                        sourcePort: UInt16(frame[udp]) << 8 | UInt16(frame[udp + 1]),
                        destinationPort: UInt16(frame[udp + 2]) << 8 | UInt16(frame[udp + 3]),
                        payload: Array(frame[(udp + 8)..<(udp + length)]))
    }
}

fileprivate extension Array where Element == UInt8 {
    mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        var little = value.littleEndian
        Swift.withUnsafeBytes(of: &little) { append(contentsOf: $0) }
    }

    mutating func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
        var big = value.bigEndian
        Swift.withUnsafeBytes(of: &big) { append(contentsOf: $0) }
    }
}

/// What one datagram on the shared ICE/DTLS/SRTP socket carries (RFC 7983, section 7).
public enum DatagramKind: Sendable, Equatable {
    case stun
    case dtls
    case rtp
    case rtcp
    /// ZRTP (16–19), TURN channel data (64–79) or anything unassigned: drop it.
    case unknown
}

/// Classifies datagrams by their first byte (and, for RTP/RTCP, the second), so one UDP socket
/// can carry ICE, DTLS and SRTP/SRTCP together.
public enum PacketDemux {
    /// - Parameters:
    ///   - first: the datagram's first byte.
    ///   - second: its second byte, when the datagram has one. RTP and RTCP share the first-byte
    ///     range 128–191; RTCP is told apart by its packet type 192–223 (RFC 5761: the second
    ///     byte with the marker bit masked off is 64–95).
    public static func classify(first: UInt8, second: UInt8?) -> DatagramKind {
        switch first {
        case 0...3: return .stun
        case 20...63: return .dtls
        case 128...191:
            guard let second else { return .unknown }
            return (64...95).contains(second & 0x7F) ? .rtcp : .rtp
        default: return .unknown
        }
    }

    public static func classify(_ datagram: UnsafeRawBufferPointer) -> DatagramKind {
        guard datagram.count > 0 else { return .unknown }
        return classify(first: datagram[0], second: datagram.count > 1 ? datagram[1] : nil)
    }

    public static func classify(_ datagram: [UInt8]) -> DatagramKind {
        guard let first = datagram.first else { return .unknown }
        return classify(first: first, second: datagram.count > 1 ? datagram[1] : nil)
    }
}

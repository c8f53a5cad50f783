/// A datagram the driver must send: `bytes` from the local address `source` to `destination`.
public struct PeerTransmit: Sendable, Equatable {
    public var bytes: [UInt8]
    public var source: SocketAddress
    public var destination: SocketAddress

    public init(bytes: [UInt8], source: SocketAddress, destination: SocketAddress) {
        self.bytes = bytes
        self.source = source
        self.destination = destination
    }
}

/// One decrypted RTP packet: the plain packet bytes and its parsed header (ranges index `bytes`).
/// A first version: each packet is one `[UInt8]` copy out of the receive buffer.
public struct ReceivedRTP: Sendable, Equatable {
    public var bytes: [UInt8]
    public var header: RTPPacketView

    public var payload: ArraySlice<UInt8> { bytes[header.payloadRange] }
}

/// Why a peer connection ended. Every reason is final: the connection sends and reports nothing
/// more afterwards.
public enum PeerDisconnectReason: Sendable, Equatable, CustomStringConvertible {
    /// ICE consent lost (RFC 7675): the peer answered nothing for the consent timeout (30 s).
    case consentLost
    /// The peer sent a DTLS close_notify: it is leaving on purpose.
    case closeNotify
    /// ICE never found a working candidate pair.
    case iceFailed(ICEFailure)
    /// The DTLS handshake or the established association failed (fingerprint mismatch, no
    /// common SRTP profile, handshake timeout, fatal alert).
    case dtlsFailed(DTLSError)
    /// DTLS finished but libsrtp refused the exported keys.
    case srtpFailed(SRTPError)
    /// `close()` was called on this side.
    case localClose

    public var description: String {
        switch self {
        case .consentLost:
            return "ICE consent lost: no answer from the peer for 30 s (it vanished or the network path broke)"
        case .closeNotify:
            return "the peer closed the DTLS association (close_notify): it left"
        case .iceFailed(let failure):
            return failure.description
        case .dtlsFailed(let error):
            return "DTLS failed: \(error)"
        case .srtpFailed(let error):
            return "SRTP setup failed: \(error)"
        case .localClose:
            return "closed locally"
        }
    }
}

/// What a `PeerConnection` reports through `pollEvent()`, in order.
public enum PeerConnectionEvent: Sendable, Equatable {
    /// ICE selected a pair (local, remote); DTLS starts on it.
    case iceConnected(local: SocketAddress, remote: SocketAddress)
    /// The DTLS handshake finished, the peer's fingerprint matched the SDP, and this SRTP profile
    /// was negotiated.
    case dtlsConnected(SRTPProfile)
    /// SRTP contexts are keyed: media can flow both ways.
    case connected
    /// One decrypted RTP packet from the peer.
    case rtp(ReceivedRTP)
    /// One decrypted RTCP compound packet from the peer, parsed.
    case rtcp([RTCPPacket])
    /// The connection is over (see the reason). Sent once.
    case disconnected(PeerDisconnectReason)
}

/// Where a connection is in its life.
public enum PeerConnectionState: String, Sendable, Hashable {
    /// ICE checks running (or, for ICE-lite, waiting for the peer's checks).
    case connecting
    /// ICE selected a pair; DTLS handshaking.
    case securing
    /// Keys in place; media flows.
    case connected
    /// Over (see the `.disconnected` event's reason).
    case closed
}

/// Counters for status pages and tests. Dropped packets never raise events; they are counted here.
public struct PeerConnectionStatistics: Sendable, Equatable {
    public var rtpReceived = 0
    public var rtcpReceived = 0
    public var rtpSent = 0
    public var rtcpSent = 0
    /// SRTP/SRTCP packets already seen or older than the replay window: normal under
    /// retransmission and duplication, dropped silently.
    public var srtpReplays = 0
    /// SRTP/SRTCP packets whose authentication tag did not verify: an attack, a key mismatch or
    /// a bug. Dropped.
    public var srtpAuthFailures = 0
    /// Other libsrtp failures (e.g. a packet too short to carry a tag). Dropped.
    public var srtpOtherFailures = 0
    /// Decrypted packets that do not parse as RTP/RTCP. Dropped.
    public var malformedMedia = 0
    /// SRTP/SRTCP that arrived before the DTLS handshake gave keys. Dropped.
    public var mediaBeforeKeys = 0
    /// Datagrams whose first byte is neither STUN, DTLS nor RTP/RTCP (RFC 7983). Dropped.
    public var unknownDatagrams = 0
    /// DTLS application data (data channels are not supported). Dropped.
    public var dtlsApplicationData = 0

    public init() {}
}

/// Why a send was refused.
public enum PeerSendError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Media can only be sent once `.connected` was reported, and not after `.disconnected`.
    case notConnected(PeerConnectionState)
    /// libsrtp refused to protect the packet (not RTP/RTCP, too short, or too long).
    case protectFailed(SRTPOutcome)
    /// The packet is larger than `PeerConnection.maximumPacketSize`.
    case tooLarge(Int)

    public var description: String {
        switch self {
        case .notConnected(let state):
            return "cannot send media: the peer connection is \(state.rawValue), not connected"
        case .protectFailed(let outcome):
            return "SRTP protect failed (\(outcome)): check the packet is a valid RTP/RTCP packet"
        case .tooLarge(let size):
            return "packet of \(size) bytes exceeds \(PeerConnection.maximumPacketSize) (one UDP datagram)"
        }
    }
}

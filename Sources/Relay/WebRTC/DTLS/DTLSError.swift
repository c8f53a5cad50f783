import COpenSSL

/// Everything that can go wrong in the DTLS layer, with enough detail to act on.
public enum DTLSError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The peer's certificate does not hash to the fingerprint its SDP announced: either the
    /// SDP and the DTLS peer are not the same party (check signalling and which address the
    /// datagrams come from) or someone is in the middle. The handshake was aborted.
    case fingerprintMismatch(expected: DTLSFingerprint, got: DTLSFingerprint)
    /// The handshake finished without the peer certificate having been checked (should not
    /// happen; OpenSSL was configured to require one).
    case peerCertificateMissing
    /// The handshake failed in OpenSSL (including an alert sent by the peer); `details` holds
    /// OpenSSL's own error strings.
    case handshakeFailed(details: String)
    /// No answer from the peer after `retransmissions` retransmissions of our last flight:
    /// check that ICE is connected and that datagrams reach the peer.
    case handshakeTimedOut(retransmissions: Int)
    /// The peer did not agree to any of the SRTP profiles we offered (use_srtp).
    case noSRTPProfileNegotiated(offered: [DTLSSRTPProfile])
    /// The connection broke after the handshake (a fatal alert or a protocol error).
    case connectionFailed(details: String)
    /// An OpenSSL call failed while setting things up.
    case openSSL(operation: String, details: String)
    /// `send` was called when the connection cannot carry data.
    case notConnected(state: String)

    public var description: String {
        switch self {
        case .fingerprintMismatch(let expected, let got):
            "DTLS peer certificate fingerprint \(got) does not match the SDP's \(expected); handshake aborted"
        case .peerCertificateMissing:
            "DTLS handshake finished without a verified peer certificate"
        case .handshakeFailed(let details):
            "DTLS handshake failed: \(details)"
        case .handshakeTimedOut(let retransmissions):
            "DTLS handshake timed out after \(retransmissions) retransmissions; "
                + "check that ICE is connected and datagrams reach the peer"
        case .noSRTPProfileNegotiated(let offered):
            "DTLS peer accepted none of the offered SRTP profiles (\(offered.map(\.openSSLName).joined(separator: ", ")))"
        case .connectionFailed(let details):
            "DTLS connection failed: \(details)"
        case .openSSL(let operation, let details):
            "OpenSSL \(operation) failed: \(details)"
        case .notConnected(let state):
            "DTLS connection cannot send in state \(state)"
        }
    }
}

/// OpenSSL keeps errors in a per-thread queue; these helpers empty it into text so one failure
/// never leaks into the report of the next.
enum OpenSSLErrorQueue {
    static func clear() { ERR_clear_error() }

    /// Drains the queue; "no OpenSSL error recorded" if it was empty.
    static func drain() -> String {
        var messages: [String] = []
        var buffer = [CChar](repeating: 0, count: 256)
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            buffer.withUnsafeMutableBufferPointer { ERR_error_string_n(code, $0.baseAddress, $0.count) }
            let bytes = buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }
            messages.append(String(decoding: bytes, as: UTF8.self))
        }
        return messages.isEmpty ? "no OpenSSL error recorded" : messages.joined(separator: "; ")
    }
}

/// A datagram the driver must send from `source` (one of the local candidates' sockets).
public struct ICETransmit: Hashable, Sendable {
    public var source: SocketAddress
    public var destination: SocketAddress
    public var bytes: [UInt8]
}

/// What the agent tells its owner.
public enum ICEEvent: Hashable, Sendable {
    /// The pair media should use now (sent again if a better pair is nominated later).
    case selectedPair(local: SocketAddress, remote: SocketAddress)
    case connected
    /// Consent lost (RFC 7675): no answer from the peer for `consentTimeout`. Stop sending.
    case disconnected
    case failed(ICEFailure)
}

public enum ICEConnectionState: Hashable, Sendable {
    case new
    case checking
    case connected
    case disconnected
    case failed
    case closed
}

/// Why ICE failed, worded for the person reading the log.
public enum ICEFailure: Error, Hashable, Sendable, CustomStringConvertible {
    /// Every candidate pair failed its checks.
    case allPairsFailed(pairs: Int, lastError: String?)

    public var description: String {
        switch self {
        case .allPairsFailed(let pairs, let lastError):
            let detail = lastError.map { " (last: \($0))" } ?? ""
            return "ICE failed: all \(pairs) candidate pair(s) failed their connectivity checks\(detail); "
                + "check that the peer's candidates are reachable over UDP and that ice-ufrag/ice-pwd match the SDP"
        }
    }
}

/// Counters for logs and tests.
public struct ICEStatistics: Hashable, Sendable {
    public var requestsSent = 0
    public var retransmissions = 0
    public var requestsReceived = 0
    public var responsesReceived = 0
    public var malformed = 0
    public var integrityFailures = 0
    public var fingerprintFailures = 0
    public var roleConflicts = 0
}

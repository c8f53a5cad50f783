/// The ufrag/password pair of one side (RFC 8445 §5.3, SDP `a=ice-ufrag` / `a=ice-pwd`).
public struct ICECredentials: Hashable, Sendable {
    public var ufrag: String
    public var password: String

    public init(ufrag: String, password: String) {
        self.ufrag = ufrag
        self.password = password
    }

    /// ice-chars only (ALPHA / DIGIT / "+" / "/"): 8-char ufrag, 24-char password (≥ 128 bits).
    public static func random<G: RandomNumberGenerator>(using generator: inout G) -> ICECredentials {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        func make(_ count: Int) -> String {
            String((0..<count).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
        }
        return ICECredentials(ufrag: make(8), password: make(24))
    }

    public static func random() -> ICECredentials {
        var system = SystemRandomNumberGenerator()
        return random(using: &system)
    }
}

/// Which kind of agent this is. A lite agent only answers checks and is always controlled.
public enum ICEMode: Sendable, Hashable {
    /// Full agent, controlling, nominating aggressively (USE-CANDIDATE on every check): the relay
    /// facing an ICE-lite SFU.
    case controlling
    /// Full agent, controlled: sends checks, waits for the peer to nominate (facing a browser).
    case controlled
    /// ICE-lite (RFC 8445 §2.5): never sends checks, selects the pair the peer nominates.
    case lite
}

public enum ICERole: Sendable, Hashable {
    case controlling
    case controlled
}

/// Timers and knobs. Defaults follow RFC 8445 / RFC 7675 and suit a LAN or the public internet.
public struct ICEConfiguration: Sendable {
    public var mode: ICEMode
    public var localCredentials: ICECredentials
    /// ICE-CONTROLLING/ICE-CONTROLLED tie-breaker; nil draws one from the generator.
    public var tieBreaker: UInt64?
    /// Ta: one new check (ordinary or triggered) at most this often, across all pairs.
    public var checkInterval: Duration = .milliseconds(20)
    /// First retransmission timeout of a check; doubles on each retransmission up to `maxRTO`.
    public var initialRTO: Duration = .milliseconds(250)
    public var maxRTO: Duration = .milliseconds(1600)
    /// Transmissions of one check before its pair fails (the last one waits `maxRTO` more).
    public var maxAttempts: Int = 7
    /// Consent freshness (RFC 7675): a check on the selected pair every interval ×[0.8, 1.2].
    public var consentInterval: Duration = .seconds(5)
    /// No successful response (or, for lite, no valid check) for this long → `.disconnected`.
    public var consentTimeout: Duration = .seconds(30)
    /// Seed for transaction ids, tie-breaker and consent jitter; nil seeds from the system.
    public var randomSeed: UInt64?
    /// Sent as SOFTWARE in requests and responses when set.
    public var software: String?
    /// Upper bound on candidate pairs (local × remote), so a hostile SDP cannot grow it unbounded.
    public var maxPairs: Int = 64

    public init(mode: ICEMode, localCredentials: ICECredentials, tieBreaker: UInt64? = nil,
                randomSeed: UInt64? = nil) {
        self.mode = mode
        self.localCredentials = localCredentials
        self.tieBreaker = tieBreaker
        self.randomSeed = randomSeed
    }
}

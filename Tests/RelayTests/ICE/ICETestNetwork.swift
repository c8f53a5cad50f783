import Testing
import Relay

/// Two agents face to face with a seeded, impaired "network" between them and a manual clock.
/// Datagrams are moved by `run`, which jumps straight to the next deadline: no sockets, no sleeps.
struct ICETestNetwork {
    typealias Instant = ContinuousClock.Instant

    enum Side: Hashable { case a, b }

    struct InFlight {
        var deliverAt: Instant
        var sequence: Int
        var to: Side
        var transmit: ICETransmit
    }

    var a: ICEAgent
    var b: ICEAgent
    let aAddresses: Set<SocketAddress>
    let bAddresses: Set<SocketAddress>
    let start: Instant
    var now: Instant
    var random: SplitMix64

    var lossRate = 0.0
    var duplicateRate = 0.0
    var baseDelay: Duration = .milliseconds(5)
    /// Extra random delay per datagram, which reorders datagrams sent close together.
    var jitter: Duration = .zero
    /// Datagrams sent by these sides vanish (a peer that went silent).
    var silenced: Set<Side> = []

    var inFlight: [InFlight] = []
    var sequence = 0
    var aEvents: [(Instant, ICEEvent)] = []
    var bEvents: [(Instant, ICEEvent)] = []
    var lastDeliveredTo: [Side: Instant] = [:]
    var delivered = 0

    init(a: ICEAgent, aAddresses: [SocketAddress], b: ICEAgent, bAddresses: [SocketAddress], seed: UInt64 = 1) {
        self.a = a
        self.b = b
        self.aAddresses = Set(aAddresses)
        self.bAddresses = Set(bAddresses)
        self.start = ContinuousClock.now
        self.now = start
        self.random = SplitMix64(seed: seed)
    }

    var elapsed: Duration { now - start }

    func events(_ side: Side) -> [ICEEvent] { (side == .a ? aEvents : bEvents).map(\.1) }

    func firstTime(_ side: Side, of event: (ICEEvent) -> Bool) -> Duration? {
        (side == .a ? aEvents : bEvents).first { event($0.1) }.map { $0.0 - start }
    }

    /// Runs until `duration` of manual time has passed (from now) or `stop` holds.
    mutating func run(for duration: Duration, stop: (ICETestNetwork) -> Bool = { _ in false }) {
        let end = now + duration
        var iterations = 0
        a.handleTimeout(now: now)
        b.handleTimeout(now: now)
        while iterations < 200_000 {
            iterations += 1
            collect()
            if stop(self) { return }
            var next = end
            if let t = a.pollTimeout(), t < next { next = t }
            if let t = b.pollTimeout(), t < next { next = t }
            if let t = inFlight.map(\.deliverAt).min(), t < next { next = t }
            if next > now { now = next }
            deliverDue()
            if let t = a.pollTimeout(), t <= now { a.handleTimeout(now: now) }
            if let t = b.pollTimeout(), t <= now { b.handleTimeout(now: now) }
            if now >= end {
                collect()
                return
            }
        }
        Issue.record("network loop did not settle after \(iterations) iterations at \(elapsed)")
    }

    private mutating func collect() {
        while let transmit = a.pollTransmit() { send(transmit, from: .a) }
        while let transmit = b.pollTransmit() { send(transmit, from: .b) }
        while let event = a.pollEvent() { aEvents.append((now, event)) }
        while let event = b.pollEvent() { bEvents.append((now, event)) }
    }

    private mutating func send(_ transmit: ICETransmit, from side: Side) {
        let owner: Side = side == .a ? .a : .b
        let expected = owner == .a ? aAddresses : bAddresses
        if !expected.contains(transmit.source) {
            Issue.record("\(side) sent from \(transmit.source), which is not one of its addresses")
        }
        guard !silenced.contains(side) else { return }
        let target: Side
        if aAddresses.contains(transmit.destination) {
            target = .a
        } else if bAddresses.contains(transmit.destination) {
            target = .b
        } else {
            return  // no one there
        }
        let copies = Double.random(in: 0..<1, using: &random) < duplicateRate ? 2 : 1
        for _ in 0..<copies {
            if Double.random(in: 0..<1, using: &random) < lossRate { continue }
            let extra = jitter == .zero ? Duration.zero : jitter * Double.random(in: 0..<1, using: &random)
            sequence += 1
            inFlight.append(InFlight(deliverAt: now + baseDelay + extra, sequence: sequence, to: target, transmit: transmit))
        }
    }

    private mutating func deliverDue() {
        let due = inFlight.filter { $0.deliverAt <= now }.sorted {
            ($0.deliverAt, $0.sequence) < ($1.deliverAt, $1.sequence)
        }
        inFlight.removeAll { $0.deliverAt <= now }
        for item in due {
            delivered += 1
            lastDeliveredTo[item.to] = now
            let t = item.transmit
            if item.to == .a {
                a.handle(datagram: t.bytes, from: t.source, to: t.destination, now: now)
            } else {
                b.handle(datagram: t.bytes, from: t.source, to: t.destination, now: now)
            }
        }
    }
}

extension ICETestNetwork {
    /// A controlling agent (the relay) and a peer of `peerMode`, each knowing the other's
    /// credentials and candidates as they would from SDP.
    static func pair(peerMode: ICEMode, aAddresses: [SocketAddress], bAddresses: [SocketAddress],
                     seed: UInt64 = 1, aMode: ICEMode = .controlling, aTieBreaker: UInt64? = nil,
                     bTieBreaker: UInt64? = nil, aKnowsPassword: String? = nil) -> ICETestNetwork {
        let aCredentials = ICECredentials(ufrag: "relay", password: "relaypassword0123456789")
        let bCredentials = ICECredentials(ufrag: "sfu1", password: "sfupassword0123456789ab")
        var aConfig = ICEConfiguration(mode: aMode, localCredentials: aCredentials, tieBreaker: aTieBreaker, randomSeed: seed &* 31 &+ 7)
        aConfig.software = "relayd-test"
        let bConfig = ICEConfiguration(mode: peerMode, localCredentials: bCredentials, tieBreaker: bTieBreaker, randomSeed: seed &* 17 &+ 3)
        var a = ICEAgent(configuration: aConfig)
        var b = ICEAgent(configuration: bConfig)
        // Each side's own candidates carry the priorities the other side learns from its SDP.
        for (index, address) in aAddresses.enumerated() {
            a.addLocalCandidate(.host(address, localPreference: UInt16(65535 - index)))
        }
        for (index, address) in bAddresses.enumerated() {
            b.addLocalCandidate(.host(address, localPreference: UInt16(65535 - index)))
        }
        a.setRemoteCredentials(ICECredentials(ufrag: bCredentials.ufrag, password: aKnowsPassword ?? bCredentials.password))
        b.setRemoteCredentials(aCredentials)
        for (index, address) in bAddresses.enumerated() {
            a.addRemoteCandidate(.host(address, localPreference: UInt16(65535 - index)))
        }
        if peerMode != .lite {
            for (index, address) in aAddresses.enumerated() {
                b.addRemoteCandidate(.host(address, localPreference: UInt16(65535 - index)))
            }
        }
        return ICETestNetwork(a: a, aAddresses: aAddresses, b: b, bAddresses: bAddresses, seed: seed)
    }
}

func isConnected(_ event: ICEEvent) -> Bool { event == .connected }
func isDisconnected(_ event: ICEEvent) -> Bool { event == .disconnected }
func isFailed(_ event: ICEEvent) -> Bool {
    if case .failed = event { return true }
    return false
}
func selectedPairs(_ events: [ICEEvent]) -> [(local: SocketAddress, remote: SocketAddress)] {
    events.compactMap {
        if case .selectedPair(let local, let remote) = $0 { return (local, remote) }
        return nil
    }
}

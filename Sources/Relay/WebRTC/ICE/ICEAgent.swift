/// A sans-IO ICE agent (RFC 8445 + RFC 7675 consent) for one component over UDP.
///
/// Inputs: `handle(datagram:from:to:now:)` for every STUN datagram the socket receives,
/// `handleTimeout(now:)` when `pollTimeout()` passes, candidates and credentials from SDP.
/// Outputs: `pollTransmit()`, `pollEvent()`, `pollTimeout()`. No sockets, clocks or threads:
/// the driver calls `handleTimeout(now:)` once after configuring to start the checks.
public struct ICEAgent: Sendable {
    public typealias Instant = ContinuousClock.Instant

    public let configuration: ICEConfiguration
    public var mode: ICEMode { configuration.mode }
    public internal(set) var role: ICERole
    public let tieBreaker: UInt64
    public internal(set) var state: ICEConnectionState = .new
    public internal(set) var statistics = ICEStatistics()
    public internal(set) var remoteCredentials: ICECredentials?
    public internal(set) var localCandidates: [ICECandidate] = []
    public internal(set) var remoteCandidates: [ICECandidate] = []

    var random: SplitMix64
    var pairs: [CandidatePair] = []
    var transactions: [STUNTransactionID: Transaction] = [:]
    /// Pair indices waiting for a triggered check, first come first served.
    var triggeredQueue: [Int] = []
    var selectedIndex: Int?
    /// Lite agents keep no pairs; they remember the nominated addresses and priority.
    var liteSelection: (local: SocketAddress, remote: SocketAddress, priority: UInt64)?
    var lastNow: Instant?
    var lastPacedCheck: Instant?
    var nextConsentCheck: Instant?
    /// Last proof the peer is there: a valid response (full) or a valid check (lite).
    var lastConsent: Instant?
    var failureReported = false
    var lastPairError: String?

    var transmits = PollQueue<ICETransmit>()
    var events = PollQueue<ICEEvent>()

    public init(configuration: ICEConfiguration) {
        self.configuration = configuration
        var random = configuration.randomSeed.map(SplitMix64.init(seed:)) ?? SplitMix64()
        self.tieBreaker = configuration.tieBreaker ?? random.next()
        self.random = random
        self.role = configuration.mode == .controlling ? .controlling : .controlled
    }

    public var localCredentials: ICECredentials { configuration.localCredentials }

    /// The pair in use, if any.
    public var selectedPair: (local: SocketAddress, remote: SocketAddress)? {
        if let liteSelection { return (liteSelection.local, liteSelection.remote) }
        guard let selectedIndex else { return nil }
        return (pairs[selectedIndex].local.address, pairs[selectedIndex].remote.address)
    }

    // MARK: configuration inputs

    /// A local socket address the driver receives on. Pairs are formed with every remote
    /// candidate of the same family.
    public mutating func addLocalCandidate(_ candidate: ICECandidate) {
        guard candidate.component == 1, candidate.transport == "udp",
              !localCandidates.contains(where: { $0.address == candidate.address }) else { return }
        localCandidates.append(candidate)
        for remote in remoteCandidates { addPair(local: candidate, remote: remote) }
    }

    public mutating func addLocalAddress(_ address: SocketAddress) {
        addLocalCandidate(.host(address))
    }

    public mutating func setRemoteCredentials(_ credentials: ICECredentials) {
        remoteCredentials = credentials
    }

    /// A remote candidate from SDP (component 1, UDP; others are ignored).
    public mutating func addRemoteCandidate(_ candidate: ICECandidate) {
        guard candidate.component == 1, candidate.transport == "udp" else { return }
        if let index = remoteCandidates.firstIndex(where: { $0.address == candidate.address }) {
            // A signalled candidate replaces a peer-reflexive one learned from a check.
            if remoteCandidates[index].kind == .peerReflexive {
                remoteCandidates[index] = candidate
                for pairIndex in pairs.indices where pairs[pairIndex].remote.address == candidate.address {
                    pairs[pairIndex].remote = candidate
                }
            }
            return
        }
        remoteCandidates.append(candidate)
        for local in localCandidates { addPair(local: local, remote: candidate) }
    }

    /// Stops everything: no more transmits, timers or events.
    public mutating func close() {
        state = .closed
        transactions.removeAll()
        triggeredQueue.removeAll()
        transmits.removeAll()
        nextConsentCheck = nil
    }

    // MARK: outputs

    public mutating func pollTransmit() -> ICETransmit? {
        transmits.pop()
    }

    public mutating func pollEvent() -> ICEEvent? {
        events.pop()
    }

    /// When `handleTimeout(now:)` should be called next; nil when nothing is scheduled.
    public func pollTimeout() -> Instant? {
        guard state != .closed else { return nil }
        var deadline: Instant?
        func consider(_ instant: Instant?) {
            guard let instant else { return }
            if deadline == nil || instant < deadline! { deadline = instant }
        }
        for transaction in transactions.values { consider(transaction.nextEvent) }
        if hasPacedWork {
            consider(lastPacedCheck.map { $0 + configuration.checkInterval } ?? lastNow)
        }
        if state == .connected {
            consider(nextConsentCheck)
            consider(lastConsent.map { $0 + configuration.consentTimeout })
        }
        return deadline
    }

    // MARK: time input

    public mutating func handleTimeout(now: Instant) {
        guard state != .closed else { return }
        lastNow = now
        if state == .new, mode != .lite, remoteCredentials != nil, !pairs.isEmpty { state = .checking }

        // Retransmissions and timeouts.
        // Sorted with a tie-break on the id: dictionary order differs between processes, and a
        // seeded run must send the same datagrams in the same order every time.
        let due = transactions.values.filter { $0.nextEvent <= now }.sorted {
            ($0.nextEvent, $0.id.high, $0.id.low) < ($1.nextEvent, $1.id.high, $1.id.low)
        }
        for transaction in due { advance(transaction, now: now) }

        // One paced check.
        if hasPacedWork, lastPacedCheck.map({ now >= $0 + configuration.checkInterval }) ?? true {
            if let index = nextPairToCheck() {
                sendCheck(pairIndex: index, now: now)
                lastPacedCheck = now
            }
        }

        // Consent freshness on the selected pair.
        if state == .connected, let lastConsent, now >= lastConsent + configuration.consentTimeout {
            state = .disconnected
            nextConsentCheck = nil
            transactions = transactions.filter { $0.value.purpose != .consent }
            events.append(.disconnected)
            return
        }
        if state == .connected, mode != .lite, let selectedIndex, let next = nextConsentCheck, now >= next {
            sendConsentCheck(pairIndex: selectedIndex, now: now)
            nextConsentCheck = now + nextConsentInterval()
        }
        checkForFailure()
    }

    // MARK: pairs and checks (internal)

    mutating func addPair(local: ICECandidate, remote: ICECandidate) {
        guard local.address.family == remote.address.family, pairs.count < configuration.maxPairs,
              !pairs.contains(where: { $0.local.address == local.address && $0.remote.address == remote.address })
        else { return }
        pairs.append(CandidatePair(local: local, remote: remote))
        if state == .failed {
            state = .checking
            failureReported = false
        }
    }

    func pairPriority(_ pair: CandidatePair) -> UInt64 {
        role == .controlling
            ? ICECandidate.pairPriority(controlling: pair.local.priority, controlled: pair.remote.priority)
            : ICECandidate.pairPriority(controlling: pair.remote.priority, controlled: pair.local.priority)
    }

    /// True when the next paced slot would send something.
    var hasPacedWork: Bool {
        guard mode != .lite, remoteCredentials != nil,
              state != .closed, state != .disconnected else { return false }
        return !triggeredQueue.isEmpty || (ordinaryChecksAllowed && pairs.contains { $0.state == .waiting })
    }

    var ordinaryChecksAllowed: Bool { selectedIndex == nil && state != .failed }

    mutating func nextPairToCheck() -> Int? {
        if !triggeredQueue.isEmpty { return triggeredQueue.removeFirst() }
        guard ordinaryChecksAllowed else { return nil }
        var best: Int?
        for index in pairs.indices where pairs[index].state == .waiting {
            if best == nil || pairPriority(pairs[index]) > pairPriority(pairs[best!]) { best = index }
        }
        return best
    }

    mutating func nextConsentInterval() -> Duration {
        let factor = Double.random(in: 0.8...1.2, using: &random)
        return configuration.consentInterval * factor
    }

    /// Builds a Binding request for a pair: USERNAME remote:local, PRIORITY (as a peer-reflexive
    /// candidate would have), the role attribute, USE-CANDIDATE when nominating.
    mutating func makeRequest(pairIndex: Int, useCandidate: Bool) -> (STUNTransactionID, [UInt8])? {
        guard let remoteCredentials else { return nil }
        let pair = pairs[pairIndex]
        let id = STUNTransactionID.random(using: &random)
        var attributes: [STUNAttribute] = [
            .username("\(remoteCredentials.ufrag):\(localCredentials.ufrag)"),
            .priority(ICECandidate.priority(kind: .peerReflexive, localPreference: UInt16(truncatingIfNeeded: pair.local.priority >> 8),
                                            component: pair.local.component)),
            role == .controlling ? .iceControlling(tieBreaker: tieBreaker) : .iceControlled(tieBreaker: tieBreaker),
        ]
        if useCandidate { attributes.append(.useCandidate) }
        if let software = configuration.software { attributes.insert(.software(software), at: 0) }
        let message = STUNMessage(messageClass: .request, transactionID: id, attributes: attributes)
        let bytes = message.encode(integrityKey: STUNMessage.shortTermKey(password: remoteCredentials.password))
        return (id, bytes)
    }

    mutating func sendCheck(pairIndex: Int, now: Instant) {
        // Aggressive nomination: the controlling agent nominates with every check.
        let nominate = role == .controlling
        guard let (id, bytes) = makeRequest(pairIndex: pairIndex, useCandidate: nominate) else { return }
        pairs[pairIndex].state = .inProgress
        let pair = pairs[pairIndex]
        start(Transaction(id: id, pairIndex: pairIndex, purpose: .connectivity, useCandidate: nominate,
                          sentAsRole: role, source: pair.local.address, destination: pair.remote.address,
                          bytes: bytes, attempts: 0, rto: configuration.initialRTO, nextEvent: now),
              now: now)
    }

    mutating func sendConsentCheck(pairIndex: Int, now: Instant) {
        guard let (id, bytes) = makeRequest(pairIndex: pairIndex, useCandidate: false) else { return }
        let pair = pairs[pairIndex]
        start(Transaction(id: id, pairIndex: pairIndex, purpose: .consent, useCandidate: false,
                          sentAsRole: role, source: pair.local.address, destination: pair.remote.address,
                          bytes: bytes, attempts: 0, rto: configuration.initialRTO, nextEvent: now),
              now: now)
    }

    mutating func start(_ transaction: Transaction, now: Instant) {
        transactions[transaction.id] = transaction
        advance(transaction, now: now)
    }

    /// Sends (or resends) a request, or gives up after `maxAttempts` transmissions.
    mutating func advance(_ transaction: Transaction, now: Instant) {
        var transaction = transaction
        if transaction.attempts >= configuration.maxAttempts {
            transactions[transaction.id] = nil
            if transaction.purpose == .connectivity {
                pairFailed(transaction.pairIndex, reason: "no response to \(transaction.attempts) checks to \(transaction.destination)")
            }
            return
        }
        transmits.append(ICETransmit(source: transaction.source, destination: transaction.destination, bytes: transaction.bytes))
        if transaction.attempts == 0 { statistics.requestsSent += 1 } else { statistics.retransmissions += 1 }
        transaction.attempts += 1
        // The last transmission waits the capped RTO for its answer; earlier ones double it.
        transaction.nextEvent = now + transaction.rto
        transaction.rto = min(transaction.rto * 2, configuration.maxRTO)
        transactions[transaction.id] = transaction
    }

    mutating func pairFailed(_ index: Int, reason: String) {
        guard pairs[index].state != .succeeded else { return }
        pairs[index].state = .failed
        lastPairError = reason
        checkForFailure()
    }

    /// `.failed` once nothing is left to try and nothing was selected.
    mutating func checkForFailure() {
        guard mode != .lite, selectedIndex == nil, !failureReported, !pairs.isEmpty,
              state == .checking || state == .new,
              pairs.allSatisfy({ $0.state == .failed }),
              triggeredQueue.isEmpty,
              !transactions.values.contains(where: { $0.purpose == .connectivity })
        else { return }
        failureReported = true
        state = .failed
        events.append(.failed(.allPairsFailed(pairs: pairs.count, lastError: lastPairError)))
    }

    /// Uses a pair for media. A later nomination with higher priority replaces it.
    mutating func select(pairIndex: Int, now: Instant) {
        if let current = selectedIndex {
            guard current != pairIndex, pairPriority(pairs[pairIndex]) > pairPriority(pairs[current]) else { return }
        }
        selectedIndex = pairIndex
        let pair = pairs[pairIndex]
        events.append(.selectedPair(local: pair.local.address, remote: pair.remote.address))
        becomeConnected(now: now)
        if nextConsentCheck == nil { nextConsentCheck = now + nextConsentInterval() }
    }

    mutating func becomeConnected(now: Instant) {
        lastConsent = now
        if state != .connected {
            state = .connected
            failureReported = false
            events.append(.connected)
        }
    }
}

/// A local/remote candidate pair and its check state (RFC 8445 §6.1.2.6; no frozen state:
/// with host candidates only, every pair is its own foundation).
struct CandidatePair: Sendable {
    enum State: Sendable { case waiting, inProgress, succeeded, failed }
    var local: ICECandidate
    var remote: ICECandidate
    var state: State = .waiting
    /// The peer nominated this pair (controlled side) or we did and it succeeded.
    var nominated = false
}

/// One outstanding Binding request with its retransmission schedule.
struct Transaction: Sendable {
    enum Purpose: Sendable { case connectivity, consent }
    let id: STUNTransactionID
    let pairIndex: Int
    let purpose: Purpose
    let useCandidate: Bool
    let sentAsRole: ICERole
    let source: SocketAddress
    let destination: SocketAddress
    let bytes: [UInt8]
    var attempts: Int
    var rto: Duration
    var nextEvent: ContinuousClock.Instant
}

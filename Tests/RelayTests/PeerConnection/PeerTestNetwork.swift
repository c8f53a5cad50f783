import Relay

/// The relay's and the SFU side's PeerConnections face to face in one process: a manual clock,
/// a loop that moves datagrams between them, and an optional impairment (loss, duplication,
/// reordering) decided per datagram by a seeded generator.
final class PeerTestNetwork {
    static let relayAddress = SocketAddress(ipv4: 10, 0, 0, 1, port: 50_000)
    static let sfuAddress = SocketAddress(ipv4: 192, 0, 2, 10, port: 3478)

    let relay: PeerConnection
    let sfu: PeerConnection
    let start = ContinuousClock.now
    private(set) var elapsed: Duration = .zero
    var now: ContinuousClock.Instant { start + elapsed }

    private(set) var relayEvents: [PeerConnectionEvent] = []
    private(set) var sfuEvents: [PeerConnectionEvent] = []
    /// Every datagram sent, per direction (for replay tests).
    private(set) var sentBySFU: [PeerTransmit] = []
    private(set) var sentByRelay: [PeerTransmit] = []

    /// Per datagram: deliver it 0 (lost), 1 or 2 (duplicated) times. Default: once.
    var copies: (PeerTransmit) -> Int = { _ in 1 }
    /// Reorders each batch before delivery. Default: as sent.
    var reorder: (inout [(PeerTransmit, toRelay: Bool)]) -> Void = { _ in }
    /// When false, the SFU side's datagrams never arrive (a vanished peer).
    var sfuReachable = true
    var relayReachable = true

    init(relay: PeerConnection, sfu: PeerConnection) {
        self.relay = relay
        self.sfu = sfu
    }

    /// Moves datagrams until both sides are quiet (no transmit left).
    func pump() {
        for _ in 0..<1000 {
            var batch: [(PeerTransmit, toRelay: Bool)] = []
            while let transmit = relay.pollTransmit() {
                sentByRelay.append(transmit)
                guard relayReachable else { continue }
                for _ in 0..<copies(transmit) { batch.append((transmit, false)) }
            }
            while let transmit = sfu.pollTransmit() {
                sentBySFU.append(transmit)
                guard sfuReachable else { continue }
                for _ in 0..<copies(transmit) { batch.append((transmit, true)) }
            }
            collectEvents()
            if batch.isEmpty { return }
            reorder(&batch)
            for (transmit, toRelay) in batch {
                deliver(transmit, toRelay: toRelay)
            }
        }
    }

    func deliver(_ transmit: PeerTransmit, toRelay: Bool) {
        let target = toRelay ? relay : sfu
        target.handle(datagram: transmit.bytes, from: transmit.source, to: transmit.destination, now: now)
    }

    func collectEvents() {
        while let event = relay.pollEvent() { relayEvents.append(event) }
        while let event = sfu.pollEvent() { sfuEvents.append(event) }
    }

    /// Starts both sides, then alternates pumping and jumping the clock to the next deadline
    /// until `done` holds or `limit` of manual time has passed. Returns whether `done` held.
    @discardableResult
    func run(for limit: Duration, until done: () -> Bool = { false }) -> Bool {
        relay.start(now: now)
        sfu.start(now: now)
        let end = elapsed + limit
        while true {
            pump()
            if done() { return true }
            let deadlines = [relay.pollTimeout(), sfu.pollTimeout()].compactMap { $0 }
            guard let next = deadlines.min() else { return done() }
            let target = max(next - start, elapsed)
            guard target <= end else {
                elapsed = end
                return done()
            }
            elapsed = target
            relay.handleTimeout(now: now)
            sfu.handleTimeout(now: now)
        }
    }

    func clearEvents() {
        relayEvents.removeAll()
        sfuEvents.removeAll()
    }

    var bothConnected: Bool { relay.state == .connected && sfu.state == .connected }
}

extension Array where Element == PeerConnectionEvent {
    var rtpPackets: [ReceivedRTP] {
        compactMap { if case .rtp(let packet) = $0 { return packet } else { return nil } }
    }

    var rtcpPackets: [RTCPPacket] {
        flatMap { event -> [RTCPPacket] in if case .rtcp(let packets) = event { return packets } else { return [] } }
    }

    var disconnectReasons: [PeerDisconnectReason] {
        compactMap { if case .disconnected(let reason) = $0 { return reason } else { return nil } }
    }
}

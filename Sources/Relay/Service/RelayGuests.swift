import Logging

/// Every guest being relayed: starts a GuestRelay the moment a publish is answered and stops it
/// when the guest ends (DELETE, replacement, shutdown).
actor RelayGuests: GuestSessionObserver {
    private var relays: [String: GuestRelay] = [:]
    private let makeDependencies: @Sendable (PublishedGuest) -> GuestRelay.Dependencies

    init(makeDependencies: @escaping @Sendable (PublishedGuest) -> GuestRelay.Dependencies) {
        self.makeDependencies = makeDependencies
    }

    func guestPublished(_ guest: PublishedGuest) async {
        let relay = GuestRelay(guest: guest, dependencies: makeDependencies(guest))
        relays[guest.guestId] = relay
        relay.start()
    }

    func guestEnded(_ guest: PublishedGuest, reason: GuestEndReason) async {
        guard let relay = relays[guest.guestId], relay.guest.sessionId == guest.sessionId else { return }
        relays[guest.guestId] = nil
        await relay.stop()
    }

    func relay(for guestId: String) -> GuestRelay? { relays[guestId] }

    /// Stops every relay (relayd stopping), including those not started through WHIP.
    func stopAll() async {
        let all = relays.values
        relays.removeAll()
        for relay in all { await relay.stop() }
    }

    func statuses() -> [GuestRelayStatus] { relays.values.map { $0.status() }.sorted { $0.guestId < $1.guestId } }
    var count: Int { relays.count }
}

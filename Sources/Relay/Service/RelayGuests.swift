import Foundation
import Logging

/// Every guest being relayed: starts a GuestRelay the moment a publish is answered and stops it
/// when the guest ends (DELETE, replacement, shutdown). A relay that finds the guest gone at
/// Calls (its tracks inactive, its session closed) ends itself; it is then forgotten here and
/// `onGuestGone` lets the WHIP side forget the guest too.
actor RelayGuests: GuestSessionObserver {
    private var relays: [String: GuestRelay] = [:]
    private let makeDependencies: @Sendable (PublishedGuest) -> GuestRelay.Dependencies
    private let onGuestGone: GuestGoneHandler

    init(makeDependencies: @escaping @Sendable (PublishedGuest) -> GuestRelay.Dependencies,
         onGuestGone: GuestGoneHandler = GuestGoneHandler()) {
        self.makeDependencies = makeDependencies
        self.onGuestGone = onGuestGone
    }

    func guestPublished(_ guest: PublishedGuest) async {
        if let previous = relays.removeValue(forKey: guest.guestId) {
            // A second publish of the same guest without an end first (not through WHIP, which
            // ends the old session itself): the new session replaces the old one.
            await previous.stop(reason: GuestEndReason.replaced.description)
        }
        let relay = GuestRelay(guest: guest, dependencies: makeDependencies(guest))
        relays[guest.guestId] = relay
        relay.start(onClosedItself: { [weak self] relay, reason in
            guard let self else { return }
            Task { await self.relayClosedItself(relay, reason: reason) }
        })
    }

    func guestEnded(_ guest: PublishedGuest, reason: GuestEndReason) async {
        guard let relay = relays[guest.guestId], relay.guest.sessionId == guest.sessionId else { return }
        relays[guest.guestId] = nil
        await relay.stop(reason: reason.description)
    }

    private func relayClosedItself(_ relay: GuestRelay, reason: String) async {
        guard relays[relay.guest.guestId] === relay else { return }
        relays[relay.guest.guestId] = nil
        await onGuestGone.call(relay.guest)
    }

    func relay(for guestId: String) -> GuestRelay? { relays[guestId] }

    /// Stops every relay (relayd stopping), including those not started through WHIP.
    func stopAll() async {
        let all = relays.values
        relays.removeAll()
        for relay in all { await relay.stop(reason: GuestEndReason.shutdown.description) }
    }

    func statuses() -> [GuestRelayStatus] { relays.values.map { $0.status() }.sorted { $0.guestId < $1.guestId } }
    var count: Int { relays.count }
}

/// What to do when a guest's relay found the guest gone, set once the WHIP endpoint exists (it
/// is built after RelayGuests, which it observes).
///
/// `@unchecked Sendable`: `handler` is read and written only while holding `lock`.
final class GuestGoneHandler: @unchecked Sendable {
    private let lock = NSLock()
    private var handler: (@Sendable (PublishedGuest) async -> Void)?

    init() {}

    func set(_ handler: @escaping @Sendable (PublishedGuest) async -> Void) { lock.withLock { self.handler = handler } }

    func call(_ guest: PublishedGuest) async {
        let handler = lock.withLock { self.handler }
        await handler?(guest)
    }
}

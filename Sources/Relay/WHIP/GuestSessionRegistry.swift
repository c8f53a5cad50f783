/// Which guests are joining or live. One join per guest at a time and a global cap on joins in
/// flight: excess POSTs get 503 + Retry-After at once instead of queueing without bound.
actor GuestSessionRegistry {
    enum Slot {
        case joining(ticket: UInt64)
        case live(PublishedGuest)
    }

    enum BeginJoinError: Error, Equatable {
        case guestBusy
        case overloaded
    }

    struct Ticket: Sendable {
        let guestId: String
        let id: UInt64
        /// The session this join replaces; the caller ends it before publishing anew.
        let replaced: PublishedGuest?
    }

    private var slots: [String: Slot] = [:]
    private var nextTicket: UInt64 = 1
    private var joinsInFlight = 0
    private let maxJoinsInFlight: Int

    init(maxJoinsInFlight: Int) { self.maxJoinsInFlight = maxJoinsInFlight }

    func beginJoin(guestId: String) throws(BeginJoinError) -> Ticket {
        var replaced: PublishedGuest?
        switch slots[guestId] {
        case .joining: throw .guestBusy
        case .live(let guest): replaced = guest
        case nil: break
        }
        guard joinsInFlight < maxJoinsInFlight else { throw .overloaded }
        joinsInFlight += 1
        let ticket = Ticket(guestId: guestId, id: nextTicket, replaced: replaced)
        nextTicket += 1
        slots[guestId] = .joining(ticket: ticket.id)
        return ticket
    }

    func finishJoin(_ ticket: Ticket, guest: PublishedGuest) {
        joinsInFlight -= 1
        slots[ticket.guestId] = .live(guest)
    }

    func abortJoin(_ ticket: Ticket) {
        joinsInFlight -= 1
        if case .joining(let id) = slots[ticket.guestId], id == ticket.id { slots[ticket.guestId] = nil }
    }

    /// Removes the live session of a guest; with a resource id, only if it is that session.
    func remove(guestId: String, resourceId: String? = nil) -> PublishedGuest? {
        guard case .live(let guest) = slots[guestId] else { return nil }
        if let resourceId, guest.resourceId != resourceId { return nil }
        slots[guestId] = nil
        return guest
    }

    func live(guestId: String) -> PublishedGuest? {
        if case .live(let guest) = slots[guestId] { return guest }
        return nil
    }

    func removeAll() -> [PublishedGuest] {
        let all = allLive()
        for guest in all { slots[guest.guestId] = nil }
        return all
    }

    func allLive() -> [PublishedGuest] {
        slots.values.compactMap { slot in
            if case .live(let guest) = slot { return guest }
            return nil
        }.sorted { $0.guestId < $1.guestId }
    }

    var isEmpty: Bool { slots.isEmpty }
}

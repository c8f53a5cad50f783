import Foundation

/// One thumbnail per configured guest id, kept across that guest's sessions so the operator
/// page shows the last picture even while a guest reconnects.
/// `@unchecked Sendable`: `lock` guards `byGuest`.
public final class GuestSnapshots: @unchecked Sendable {
    private let lock = NSLock()
    private var byGuest: [String: GuestSnapshot] = [:]
    private let interval: Duration

    public init(interval: Duration = .seconds(2)) { self.interval = interval }

    /// The guest's snapshot taker, made on first use.
    public func snapshot(for guestId: String) -> GuestSnapshot {
        lock.withLock {
            if let existing = byGuest[guestId] { return existing }
            let made = GuestSnapshot(interval: interval)
            byGuest[guestId] = made
            return made
        }
    }

    /// The guest's snapshot taker if it ever had one.
    public func existing(for guestId: String) -> GuestSnapshot? { lock.withLock { byGuest[guestId] } }
}

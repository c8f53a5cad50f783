import Foundation

/// A guest whose tracks are published on Calls: what the relay needs to subscribe to them and
/// what the WHIP resource needs to end them.
public struct PublishedGuest: Sendable, Equatable {
    public struct Track: Sendable, Equatable {
        public var name: String
        public var kind: String
        public var mid: String
        public init(name: String, kind: String, mid: String) {
            self.name = name
            self.kind = kind
            self.mid = mid
        }
    }

    public var guestId: String
    /// The Calls session the guest's browser publishes into.
    public var sessionId: String
    public var tracks: [Track]
    /// The last path segment of the WHIP `Location`; a stale client cannot end a newer session.
    public var resourceId: String
    /// The WHIP ETag (quoted), naming this ICE session.
    public var etag: String
    public var since: Date

    public var trackNames: [String] { tracks.map(\.name) }

    public init(guestId: String, sessionId: String, tracks: [Track], resourceId: String, etag: String, since: Date) {
        self.guestId = guestId
        self.sessionId = sessionId
        self.tracks = tracks
        self.resourceId = resourceId
        self.etag = etag
        self.since = since
    }
}

/// Tells the rest of relayd when a guest's publish starts and ends (the relay subscribes on
/// `guestPublished` at once: no fixed sleep).
public protocol GuestSessionObserver: Sendable {
    func guestPublished(_ guest: PublishedGuest) async
    func guestEnded(_ guest: PublishedGuest, reason: GuestEndReason) async
}

public enum GuestEndReason: Sendable, Equatable, CustomStringConvertible {
    case deleted
    case replaced
    case shutdown
    /// The guest's tracks at Calls went inactive or its session closed (found by its relay).
    case publisherGone
    /// Ended from the operator page.
    case kicked

    public var description: String {
        switch self {
        case .deleted: "guest left (DELETE)"
        case .replaced: "replaced by a new session from the same guest"
        case .shutdown: "relayd is stopping"
        case .publisherGone: "the guest's publish ended at Calls (browser closed or connection lost)"
        case .kicked: "ended by the operator"
        }
    }
}

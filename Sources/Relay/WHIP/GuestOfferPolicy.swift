/// What the WHIP endpoint needs from the SDP layer: check a guest's offer and rewrite it so the
/// browser will send H.264 when it can. Kept as a seam so the endpoint's HTTP semantics are
/// tested without caring how SDP is parsed.
public protocol GuestOfferPolicy: Sendable {
    /// Throws `WHIPOfferRejection` for an offer that cannot be published.
    func prepare(offer: String) throws -> PreparedGuestOffer
}

public struct PreparedGuestOffer: Sendable, Equatable {
    public struct Track: Sendable, Equatable {
        public var kind: String  // "audio" | "video"
        public var mid: String
        public init(kind: String, mid: String) {
            self.kind = kind
            self.mid = mid
        }
    }

    /// The offer forwarded to Calls (codecs reordered to prefer H.264).
    public var sdp: String
    /// One entry per sendable audio/video m-line, in offer order.
    public var tracks: [Track]
    /// The offer's ICE ufrag: the WHIP ETag names the ICE session.
    public var iceUfrag: String

    public init(sdp: String, tracks: [Track], iceUfrag: String) {
        self.sdp = sdp
        self.tracks = tracks
        self.iceUfrag = iceUfrag
    }
}

/// Why an offer was refused, as the guest's client will read it.
public struct WHIPOfferRejection: Error, Sendable, Equatable, CustomStringConvertible {
    /// 400 for SDP that does not parse; 422 for SDP with nothing relayd can use.
    public var status: Int
    public var reason: String

    public init(status: Int, reason: String) {
        self.status = status
        self.reason = reason
    }

    public var description: String { reason }
}

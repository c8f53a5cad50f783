import Foundation

// The JSON bodies of the Cloudflare Calls (Realtime SFU) API, shared by CallsClient and FakeCalls
// so both sides speak exactly one shape. Field names and casing are the API's own.

public struct SessionDescription: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable { case offer, answer }
    public var type: Kind
    public var sdp: String

    public init(type: Kind, sdp: String) {
        self.type = type
        self.sdp = sdp
    }
}

public struct TrackObject: Codable, Sendable, Equatable {
    public enum Location: String, Codable, Sendable { case local, remote }
    public var location: Location?
    public var sessionId: String?
    public var trackName: String?
    public var mid: String?
    public var kind: String?
    public var status: String?
    public var errorCode: String?
    public var errorDescription: String?

    public init(location: Location? = nil, sessionId: String? = nil, trackName: String? = nil, mid: String? = nil,
                kind: String? = nil, status: String? = nil, errorCode: String? = nil, errorDescription: String? = nil) {
        self.location = location
        self.sessionId = sessionId
        self.trackName = trackName
        self.mid = mid
        self.kind = kind
        self.status = status
        self.errorCode = errorCode
        self.errorDescription = errorDescription
    }

    public static func local(_ trackName: String, mid: String) -> TrackObject {
        TrackObject(location: .local, trackName: trackName, mid: mid)
    }

    public static func remote(_ trackName: String, session: String, kind: String? = nil) -> TrackObject {
        TrackObject(location: .remote, sessionId: session, trackName: trackName, kind: kind)
    }
}

public struct NewSessionResponse: Codable, Sendable, Equatable {
    public var sessionId: String
    public var sessionDescription: SessionDescription?

    public init(sessionId: String, sessionDescription: SessionDescription? = nil) {
        self.sessionId = sessionId
        self.sessionDescription = sessionDescription
    }
}

public struct TracksRequest: Codable, Sendable, Equatable {
    public var sessionDescription: SessionDescription?
    public var tracks: [TrackObject]
    public var autoDiscover: Bool?

    public init(sessionDescription: SessionDescription? = nil, tracks: [TrackObject], autoDiscover: Bool? = nil) {
        self.sessionDescription = sessionDescription
        self.tracks = tracks
        self.autoDiscover = autoDiscover
    }
}

public struct TracksResponse: Codable, Sendable, Equatable {
    public var requiresImmediateRenegotiation: Bool?
    public var sessionDescription: SessionDescription?
    public var tracks: [TrackObject]?
    public var errorCode: String?
    public var errorDescription: String?

    public init(requiresImmediateRenegotiation: Bool? = nil, sessionDescription: SessionDescription? = nil,
                tracks: [TrackObject]? = nil, errorCode: String? = nil, errorDescription: String? = nil) {
        self.requiresImmediateRenegotiation = requiresImmediateRenegotiation
        self.sessionDescription = sessionDescription
        self.tracks = tracks
        self.errorCode = errorCode
        self.errorDescription = errorDescription
    }
}

public struct RenegotiateRequest: Codable, Sendable, Equatable {
    public var sessionDescription: SessionDescription

    public init(sessionDescription: SessionDescription) { self.sessionDescription = sessionDescription }
}

public struct CloseTracksRequest: Codable, Sendable, Equatable {
    public struct Mid: Codable, Sendable, Equatable {
        public var mid: String
        public init(mid: String) { self.mid = mid }
    }

    public var tracks: [Mid]
    public var force: Bool
    public var sessionDescription: SessionDescription?

    public init(mids: [String], force: Bool, sessionDescription: SessionDescription? = nil) {
        self.tracks = mids.map(Mid.init)
        self.force = force
        self.sessionDescription = sessionDescription
    }
}

public struct SessionStateResponse: Codable, Sendable, Equatable {
    public var tracks: [TrackObject]
    public var errorCode: String?
    public var errorDescription: String?

    public init(tracks: [TrackObject], errorCode: String? = nil, errorDescription: String? = nil) {
        self.tracks = tracks
        self.errorCode = errorCode
        self.errorDescription = errorDescription
    }
}

/// The error body every non-2xx Calls response carries.
public struct CallsErrorBody: Codable, Sendable, Equatable {
    public var errorCode: String
    public var errorDescription: String

    public init(errorCode: String, errorDescription: String) {
        self.errorCode = errorCode
        self.errorDescription = errorDescription
    }
}

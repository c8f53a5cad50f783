import Foundation
@testable import Relay

/// A CallsAPI that answers like a healthy Calls and records what it was asked, so WHIP tests
/// can check what reached Calls (and what was closed) without HTTP.
actor RecordingCallsAPI: CallsAPI {
    enum Call: Equatable {
        case newSession(String)
        case publish(session: String, tracks: [TrackObject])
        case closeTracks(session: String, mids: [String])
    }

    private(set) var calls: [Call] = []
    private var counter = 0
    var failPublishWith: (any Error & Sendable)?

    func setFailure(_ error: (any Error & Sendable)?) { failPublishWith = error }

    func newSession() async throws -> String {
        counter += 1
        let id = String(format: "%032x", counter)
        calls.append(.newSession(id))
        return id
    }

    func publish(session: String, offer: String, tracks: [TrackObject]) async throws -> TracksResponse {
        if let failPublishWith { throw failPublishWith }
        calls.append(.publish(session: session, tracks: tracks))
        return TracksResponse(requiresImmediateRenegotiation: false,
                              sessionDescription: SessionDescription(type: .answer, sdp: "v=0\r\nanswer-for-\(session)\r\n"),
                              tracks: tracks.map { TrackObject(sessionId: session, trackName: $0.trackName, mid: $0.mid) })
    }

    func subscribe(session: String, tracks: [TrackObject], offer: String?) async throws -> TracksResponse {
        TracksResponse()
    }

    func renegotiate(session: String, answer: String) async throws {}

    func closeTracks(session: String, mids: [String], force: Bool) async throws -> TracksResponse {
        calls.append(.closeTracks(session: session, mids: mids))
        return TracksResponse()
    }

    func sessionState(session: String) async throws -> SessionStateResponse { SessionStateResponse(tracks: []) }

    var closedSessions: [String] {
        calls.compactMap { if case .closeTracks(let session, _) = $0 { return session } else { return nil } }
    }
}

/// Accepts any offer that starts with "v=0" and says it has video mid 0 and audio mid 1.
struct PermissiveOfferPolicy: GuestOfferPolicy {
    func prepare(offer: String) throws -> PreparedGuestOffer {
        guard offer.hasPrefix("v=0") else { throw WHIPOfferRejection(status: 400, reason: "not SDP") }
        return PreparedGuestOffer(sdp: offer, tracks: [.init(kind: "video", mid: "0"), .init(kind: "audio", mid: "1")],
                                  iceUfrag: "ufrag")
    }
}

import Logging

/// The two-step publish of a guest's offer: `POST /sessions/new`, then
/// `POST /sessions/{id}/tracks/new` with one `local` track per m-line. Logs lines 1–5 of the
/// expected sequence the deployment's operators already know.
struct GuestPublisher: Sendable {
    let calls: any CallsAPI

    struct Published: Sendable {
        let sessionId: String
        let answer: String
        let tracks: [PublishedGuest.Track]
    }

    func publish(guestId: String, offer: PreparedGuestOffer, logger: Logger) async throws -> Published {
        var logger = logger
        logger[metadataKey: "guest"] = "\(guestId)"
        logger.info("Creating Cloudflare Calls session for \(guestId) (two-step flow)")
        let sessionId = try await calls.newSession()
        logger[metadataKey: "session"] = "\(sessionId)"
        logger.info("Created empty session: \(sessionId)")

        let tracks = Self.trackNames(for: offer.tracks)
        let answer: SessionDescription
        do {
            let response = try await calls.publish(
                session: sessionId, offer: offer.sdp,
                tracks: tracks.map { TrackObject.local($0.name, mid: $0.mid) })
            guard let description = response.sessionDescription, description.type == .answer else {
                throw PublishFailure.noAnswer(sessionId: sessionId)
            }
            answer = description
        } catch {
            await abandon(session: sessionId, mids: tracks.map(\.mid), after: error, logger: logger)
            throw error
        }
        let names = Self.pythonList(tracks.map(\.name))
        logger.info("Added \(tracks.count) tracks to session \(sessionId): \(names)")
        logger.info("Successfully created session for \(guestId): \(sessionId) with tracks \(names)")
        return Published(sessionId: sessionId, answer: answer.sdp, tracks: tracks)
    }

    /// A publish that failed after its session was created may still have added tracks at Calls
    /// (an answer lost on the way back, an unreadable body): close whatever the session holds,
    /// so nothing of this guest stays there. An empty session has no delete call and expires.
    private func abandon(session: String, mids: [String], after error: any Error, logger: Logger) async {
        if error is CancellationError { return }
        if let calls = error as? CallsError, calls.httpStatus == 404 || calls.httpStatus == 410 { return }
        do {
            _ = try await calls.closeTracks(session: session, mids: mids, force: true)
            logger.info("Closed the tracks of the failed publish in session \(session)")
        } catch {
            logger.warning("Could not close the tracks of the failed publish in session \(session): \(error)")
        }
    }

    /// Track names as the deployment always used them: "video" and "audio"; a second m-line of
    /// the same kind gets a numbered name so names stay unique within the session.
    /// Video is listed before audio, as the deployment's logs always showed them.
    static func trackNames(for tracks: [PreparedGuestOffer.Track]) -> [PublishedGuest.Track] {
        var seen: [String: Int] = [:]
        let ordered = tracks.filter { $0.kind == "video" } + tracks.filter { $0.kind != "video" }
        return ordered.map { track in
            let count = seen[track.kind, default: 0] + 1
            seen[track.kind] = count
            let name = count == 1 ? track.kind : "\(track.kind)-\(count)"
            return PublishedGuest.Track(name: name, kind: track.kind, mid: track.mid)
        }
    }

    /// `['video', 'audio']`, the way the expected log sequence prints track lists.
    static func pythonList(_ names: [String]) -> String {
        "[" + names.map { "'\($0)'" }.joined(separator: ", ") + "]"
    }

    enum PublishFailure: Error, CustomStringConvertible {
        case noAnswer(sessionId: String)

        var description: String {
            switch self {
            case .noAnswer(let session):
                "Calls accepted the tracks of session \(session) but returned no SDP answer"
            }
        }
    }
}

import Foundation
import Relay

// tracks/new (publish and both subscribe shapes), renegotiate and tracks/close.
// Each runs while the session is marked mutating; after every await the state is read again
// (the actor is re-entrant), and changes are written in one synchronous step at the end.
extension FakeCallsAPI {
    func tracksNew(id: String, body: Data) async -> HTTPResponse {
        guard let request = try? JSONDecoder().decode(TracksRequest.self, from: body) else {
            return Self.error(400, "decoding_error", "request body does not decode as {sessionDescription?, tracks}")
        }
        guard !request.tracks.isEmpty else { return Self.error(406, "invalid_params", "tracks must not be empty") }
        guard request.tracks.count <= options.maxTracksPerRequest else {
            return Self.error(406, "invalid_params", "at most \(options.maxTracksPerRequest) tracks per request")
        }
        let locations = Set(request.tracks.map(\.location))
        guard locations.count == 1, let location = locations.first ?? nil else {
            return Self.error(406, "invalid_params",
                              "every track needs a location, and all tracks of one request must be local or all remote")
        }
        switch location {
        case .local: return await publish(id: id, request: request)
        case .remote: return await subscribe(id: id, request: request)
        }
    }

    // MARK: publish

    private func publish(id: String, request: TracksRequest) async -> HTTPResponse {
        guard let offer = request.sessionDescription else {
            return Self.error(406, "invalid_params", "local tracks need the client's offer in sessionDescription")
        }
        guard offer.type == .offer else {
            return Self.error(400, "invalid_session_description", "tracks/new takes an offer, not an answer")
        }
        let sections: [FakeMediaSection]
        do { sections = try mediaSide.mediaSections(of: offer.sdp) } catch {
            return Self.error(400, "invalid_session_description", "\(error)")
        }
        var added: [FakeCallsSession.Track] = []
        let existing = sessions[id]?.tracks ?? []
        for track in request.tracks {
            guard let name = track.trackName, !name.isEmpty, let mid = track.mid, !mid.isEmpty else {
                return Self.error(406, "invalid_params", "local tracks need trackName and mid")
            }
            guard let section = sections.first(where: { $0.mid == mid }) else {
                return Self.error(406, "invalid_params", "mid \(mid) of track \(name) is not in the offer")
            }
            if (existing + added).contains(where: { $0.trackName == name && $0.location == .local }) {
                return Self.error(406, "invalid_params", "track \(name) is already published in this session")
            }
            added.append(.init(location: .local, mid: mid, trackName: name, kind: section.kind))
        }
        let answer: String
        do { answer = try await mediaSide.answer(toOffer: offer.sdp, session: id) } catch {
            return Self.error(400, "invalid_session_description", "\(error)")
        }
        sessions[id]?.tracks += added
        let tracks = added.map { TrackObject(sessionId: id, trackName: $0.trackName, mid: $0.mid) }
        return Self.json(200, TracksResponse(requiresImmediateRenegotiation: false,
                                             sessionDescription: SessionDescription(type: .answer, sdp: answer),
                                             tracks: tracks))
    }

    // MARK: subscribe

    private func subscribe(id: String, request: TracksRequest) async -> HTTPResponse {
        guard let appId = sessions[id]?.appId else { return Self.error(404, "session_error", "session not found") }
        if let description = request.sessionDescription, description.type != .offer {
            return Self.error(400, "invalid_session_description", "tracks/new takes an offer, not an answer")
        }
        // Find each remote track; refuse the ones not published or not flowing yet (per track).
        var results: [TrackObject] = []
        var accepted: [(request: TrackObject, published: FakeCallsSession.Track, publisher: String)] = []
        for track in request.tracks {
            guard let publisher = track.sessionId, !publisher.isEmpty, let name = track.trackName, !name.isEmpty else {
                return Self.error(406, "invalid_params", "remote tracks need sessionId and trackName")
            }
            guard let published = publishedTrack(session: publisher, trackName: name, appId: appId),
                  isFlowing(publisher: publisher, trackName: name) else {
                recordRefusal(publisher: publisher, trackName: name)
                results.append(TrackObject(sessionId: publisher, trackName: name, errorCode: "not_found_track_error",
                                           errorDescription: "Track not found on remote peer"))
                continue
            }
            results.append(TrackObject(sessionId: publisher, trackName: name))
            accepted.append((track, published, publisher))
        }
        guard !accepted.isEmpty else {
            return Self.json(200, TracksResponse(requiresImmediateRenegotiation: false, tracks: results))
        }
        if let offer = request.sessionDescription {
            return await subscribeWithClientOffer(id: id, offer: offer.sdp, accepted: accepted, results: results)
        }
        return await subscribeWithSFUOffer(id: id, accepted: accepted, results: results)
    }

    /// The documented pull: the SFU allocates its own mids and offers; the client answers with
    /// PUT renegotiate.
    private func subscribeWithSFUOffer(
        id: String, accepted: [(request: TrackObject, published: FakeCallsSession.Track, publisher: String)],
        results: [TrackObject]
    ) async -> HTTPResponse {
        guard var session = sessions[id] else { return Self.error(404, "session_error", "session not found") }
        var results = results
        var added: [FakeCallsSession.Track] = []
        for entry in accepted {
            let mid = session.allocateMid()
            let track = FakeCallsSession.Track(location: .remote, mid: mid, trackName: entry.published.trackName,
                                               kind: entry.published.kind, publisherSession: entry.publisher,
                                               publisherMid: entry.published.mid)
            session.tracks.append(track)
            added.append(track)
            if let index = results.firstIndex(where: { $0.sessionId == entry.publisher
                && $0.trackName == entry.published.trackName && $0.errorCode == nil && $0.mid == nil }) {
                results[index].mid = mid
            }
        }
        let infos = session.tracks.filter { $0.location == .remote }.map(Self.info)
        let offer: String
        do { offer = try await mediaSide.offer(forTracks: infos, session: id) } catch {
            return Self.error(500, "retryable_transient_error", "FakeCalls could not write its offer: \(error)")
        }
        let nextMid = session.nextMid
        sessions[id]?.tracks += added
        sessions[id]?.nextMid = nextMid
        sessions[id]?.offerPending = true
        return Self.json(200, TracksResponse(requiresImmediateRenegotiation: true,
                                             sessionDescription: SessionDescription(type: .offer, sdp: offer),
                                             tracks: results))
    }

    /// The compatibility shape: the client offers recvonly m-lines; each track takes the mid it
    /// names, or the next free m-line of its kind.
    private func subscribeWithClientOffer(
        id: String, offer: String,
        accepted: [(request: TrackObject, published: FakeCallsSession.Track, publisher: String)], results: [TrackObject]
    ) async -> HTTPResponse {
        let sections: [FakeMediaSection]
        do { sections = try mediaSide.mediaSections(of: offer) } catch {
            return Self.error(400, "invalid_session_description", "\(error)")
        }
        var used = Set(sessions[id]?.tracks.map(\.mid) ?? [])
        var results = results
        var added: [FakeCallsSession.Track] = []
        for entry in accepted {
            let section: FakeMediaSection?
            if let mid = entry.request.mid, !mid.isEmpty {
                section = sections.first { $0.mid == mid && !used.contains(mid) }
            } else {
                section = sections.first {
                    !used.contains($0.mid) && $0.kind == entry.published.kind
                        && ($0.direction == "recvonly" || $0.direction == "sendrecv")
                }
            }
            guard let section else {
                return Self.error(406, "invalid_params",
                                  "the offer has no free \(entry.published.kind) m-line for track \(entry.published.trackName)")
            }
            used.insert(section.mid)
            added.append(.init(location: .remote, mid: section.mid, trackName: entry.published.trackName,
                               kind: entry.published.kind, publisherSession: entry.publisher,
                               publisherMid: entry.published.mid))
            if let index = results.firstIndex(where: { $0.sessionId == entry.publisher
                && $0.trackName == entry.published.trackName && $0.errorCode == nil && $0.mid == nil }) {
                results[index].mid = section.mid
            }
        }
        let answer: String
        do { answer = try await mediaSide.answer(toSubscribeOffer: offer, tracks: added.map(Self.info), session: id) } catch {
            return Self.error(400, "invalid_session_description", "\(error)")
        }
        sessions[id]?.tracks += added
        return Self.json(200, TracksResponse(requiresImmediateRenegotiation: false,
                                             sessionDescription: SessionDescription(type: .answer, sdp: answer),
                                             tracks: results))
    }

    // MARK: renegotiate

    func renegotiate(id: String, body: Data) async -> HTTPResponse {
        guard let request = try? JSONDecoder().decode(RenegotiateRequest.self, from: body) else {
            return Self.error(400, "decoding_error", "request body does not decode as {sessionDescription}")
        }
        guard request.sessionDescription.type == .answer else {
            return Self.error(400, "invalid_session_description", "renegotiate takes the answer to the SFU's offer")
        }
        guard sessions[id]?.offerPending == true else {
            return Self.error(400, "invalid_session_description", "no offer from the SFU is waiting for an answer")
        }
        do { try await mediaSide.accept(answer: request.sessionDescription.sdp, session: id) } catch {
            return Self.error(400, "invalid_session_description", "\(error)")
        }
        sessions[id]?.offerPending = false
        return Self.json(200, [String: String]())
    }

    // MARK: close

    func closeTracks(id: String, body: Data) async -> HTTPResponse {
        guard let request = try? JSONDecoder().decode(CloseTracksRequest.self, from: body) else {
            return Self.error(400, "decoding_error", "request body does not decode as {tracks:[{mid}], force}")
        }
        guard !request.tracks.isEmpty else { return Self.error(406, "invalid_params", "tracks must not be empty") }
        guard var session = sessions[id] else { return Self.error(404, "session_error", "session not found") }
        var results: [TrackObject] = []
        for entry in request.tracks {
            if let index = session.tracks.firstIndex(where: { $0.mid == entry.mid }) {
                session.tracks.remove(at: index)
                results.append(TrackObject(mid: entry.mid))
            } else {
                results.append(TrackObject(mid: entry.mid, errorCode: "not_found_track_error",
                                           errorDescription: "no track with this mid in the session"))
            }
        }
        let remaining = session.tracks
        if remaining.isEmpty {
            sessions[id]?.tracks = []
            sessions[id]?.closed = true
            sessions[id]?.offerPending = false
            await mediaSide.sessionClosed(id)
            return Self.json(200, TracksResponse(requiresImmediateRenegotiation: false, tracks: results))
        }
        var description: SessionDescription?
        var renegotiate = false
        if !request.force {
            if let offer = request.sessionDescription, offer.type == .offer {
                do { description = SessionDescription(type: .answer,
                                                      sdp: try await mediaSide.answer(toOffer: offer.sdp, session: id)) }
                catch { return Self.error(400, "invalid_session_description", "\(error)") }
            } else if remaining.contains(where: { $0.location == .remote }) {
                let infos = remaining.filter { $0.location == .remote }.map(Self.info)
                do { description = SessionDescription(type: .offer,
                                                      sdp: try await mediaSide.offer(forTracks: infos, session: id)) }
                catch { return Self.error(500, "retryable_transient_error", "FakeCalls could not write its offer") }
                renegotiate = true
            }
        }
        sessions[id]?.tracks = remaining
        if renegotiate { sessions[id]?.offerPending = true }
        return Self.json(200, TracksResponse(requiresImmediateRenegotiation: renegotiate,
                                             sessionDescription: description, tracks: results))
    }

    static func info(_ track: FakeCallsSession.Track) -> PublishedTrackInfo {
        PublishedTrackInfo(mid: track.mid, trackName: track.trackName, kind: track.kind,
                           publisherSession: track.publisherSession ?? "", publisherMid: track.publisherMid ?? "")
    }
}

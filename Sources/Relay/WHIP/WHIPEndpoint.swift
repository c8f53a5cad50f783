import Foundation
import Logging

/// The guest-facing endpoint: the deployment's paths (`POST /api/calls/whip/{guest}`,
/// `DELETE /api/calls/session/{guest}`, `GET /api/calls/sessions`) with RFC 9725 (WHIP)
/// semantics on top: 201 + Location + ETag, CORS, DELETE/PATCH on the Location.
public final class WHIPEndpoint: Sendable {
    public enum GuestStatus: Sendable, Equatable {
        case enabled
        case disabled
        case unknown
    }

    public struct Settings: Sendable {
        /// Looks a guest id up in the configuration.
        public var guestStatus: @Sendable (String) -> GuestStatus
        /// When set, POST/DELETE/PATCH need `Authorization: Bearer <token>`.
        public var bearerToken: String?
        /// Joins being set up at once, across all guests; more get 503 + Retry-After.
        public var maxJoinsInFlight: Int
        /// STUN/TURN URLs announced in `Link: <…>; rel="ice-server"` headers.
        public var iceServers: [String]

        public init(guestStatus: @escaping @Sendable (String) -> GuestStatus, bearerToken: String? = nil,
                    maxJoinsInFlight: Int = 16, iceServers: [String] = []) {
            self.guestStatus = guestStatus
            self.bearerToken = bearerToken
            self.maxJoinsInFlight = maxJoinsInFlight
            self.iceServers = iceServers
        }
    }

    static let whipPrefix = "/api/calls/whip/"
    static let seedSessionPrefix = "/api/calls/session/"
    static let sessionsPath = "/api/calls/sessions"

    private let settings: Settings
    private let calls: any CallsAPI
    private let offerPolicy: any GuestOfferPolicy
    private let observer: (any GuestSessionObserver)?
    private let registry: GuestSessionRegistry
    private let logger: Logger

    public init(settings: Settings, calls: any CallsAPI, offerPolicy: any GuestOfferPolicy,
                observer: (any GuestSessionObserver)? = nil, logger: Logger) {
        self.settings = settings
        self.calls = calls
        self.offerPolicy = offerPolicy
        self.observer = observer
        self.registry = GuestSessionRegistry(maxJoinsInFlight: settings.maxJoinsInFlight)
        self.logger = logger
    }

    /// Answers the requests this endpoint owns; nil for any other path.
    public func handle(_ request: HTTPRequest) async -> HTTPResponse? {
        guard let route = WHIPRoute(method: request.method, path: request.path) else { return nil }
        var response = await respond(to: route, request: request)
        WHIPResponses.addCORS(to: &response)
        return response
    }

    /// Every live guest session, for status pages.
    public func liveSessions() async -> [PublishedGuest] { await registry.allLive() }

    /// Ends one guest's live session (the operator's kick), as its DELETE would. False when the
    /// guest has none.
    public func end(guestId: String, reason: GuestEndReason) async -> Bool {
        guard let guest = await registry.remove(guestId: guestId) else { return false }
        await end(guest, reason: reason)
        return true
    }

    /// Ends every guest session (relayd stopping): closes their Calls tracks, tells the observer.
    public func endAll(reason: GuestEndReason) async {
        for guest in await registry.removeAll() { await end(guest, reason: reason) }
    }

    /// Ends a guest whose publish ended at Calls (found by its relay: tracks inactive, session
    /// closed), if it is still the live session of that guest.
    public func endVanished(_ guest: PublishedGuest) async {
        guard let live = await registry.remove(guestId: guest.guestId, resourceId: guest.resourceId) else { return }
        await end(live, reason: .publisherGone)
    }

    private func respond(to route: WHIPRoute, request: HTTPRequest) async -> HTTPResponse {
        switch route {
        case .preflight:
            return WHIPResponses.preflight()
        case .listSessions:
            return WHIPResponses.sessionList(await registry.allLive())
        case .invalid(let reason):
            return WHIPResponses.problem(404, reason)
        case .publish(let guestId):
            if let refusal = authorize(request) ?? checkGuest(guestId) { return refusal }
            return await publish(guestId: guestId, request: request)
        case .deleteGuest(let guestId, let resourceId):
            if let refusal = authorize(request) ?? checkGuest(guestId) { return refusal }
            guard let guest = await registry.remove(guestId: guestId, resourceId: resourceId) else {
                return WHIPResponses.problem(404, "guest \(guestId) has no live session")
            }
            await end(guest, reason: .deleted)
            return WHIPResponses.problem(200, "session of \(guestId) ended")
        case .patch(let guestId, let resourceId):
            if let refusal = authorize(request) ?? checkGuest(guestId) { return refusal }
            guard let guest = await registry.live(guestId: guestId), guest.resourceId == resourceId else {
                return WHIPResponses.problem(404, "guest \(guestId) has no such session")
            }
            if let ifMatch = request.headers["If-Match"], ifMatch != "*", ifMatch != guest.etag {
                return WHIPResponses.problem(412, "If-Match \(ifMatch) does not name the current ICE session \(guest.etag)")
            }
            var response = WHIPResponses.problem(
                405, "trickle ICE and ICE restarts are not supported: Cloudflare Calls needs every candidate in the offer")
            response.headers.set("Allow", "DELETE, OPTIONS")
            return response
        }
    }

    private func publish(guestId: String, request: HTTPRequest) async -> HTTPResponse {
        let offerText: String
        switch WHIPOfferBody.extract(from: request) {
        case .success(let text): offerText = text
        case .failure(let rejection): return WHIPResponses.problem(rejection.status, rejection.reason)
        }
        let offer: PreparedGuestOffer
        do {
            offer = try offerPolicy.prepare(offer: offerText)
        } catch let rejection as WHIPOfferRejection {
            return WHIPResponses.problem(rejection.status, rejection.reason)
        } catch {
            return WHIPResponses.problem(400, "the offer could not be read: \(error)")
        }

        let ticket: GuestSessionRegistry.Ticket
        do {
            ticket = try await registry.beginJoin(guestId: guestId)
        } catch .guestBusy {
            return WHIPResponses.busy("a join for \(guestId) is already being set up; retry shortly")
        } catch {
            return WHIPResponses.busy("relayd is setting up \(settings.maxJoinsInFlight) joins already; retry shortly")
        }
        if let old = ticket.replaced {
            logger.info("Guest \(guestId) joined again: ending its previous session \(old.sessionId) first",
                        metadata: ["guest": "\(guestId)", "session": "\(old.sessionId)"])
            await end(old, reason: .replaced)
        }

        let published: GuestPublisher.Published
        do {
            published = try await GuestPublisher(calls: calls).publish(guestId: guestId, offer: offer, logger: logger)
        } catch {
            await registry.abortJoin(ticket)
            let failure = WHIPCallsFailure(error: error, guestId: guestId)
            logger.error("\(failure.message)", metadata: ["guest": "\(guestId)"])
            return failure.response
        }

        let guest = PublishedGuest(
            guestId: guestId, sessionId: published.sessionId, tracks: published.tracks,
            resourceId: Self.randomToken(), etag: "\"\(offer.iceUfrag)\"", since: Date())
        await registry.finishJoin(ticket, guest: guest)
        let names = GuestPublisher.pythonList(guest.trackNames)
        logger.info("Cloudflare Calls session created for \(guestId): \(guest.sessionId) with tracks \(names)",
                    metadata: ["guest": "\(guestId)", "session": "\(guest.sessionId)"])
        await observer?.guestPublished(guest)
        return WHIPResponses.created(answer: published.answer, guest: guest, iceServers: settings.iceServers)
    }

    private func end(_ guest: PublishedGuest, reason: GuestEndReason) async {
        let metadata: Logger.Metadata = ["guest": "\(guest.guestId)", "session": "\(guest.sessionId)"]
        logger.info("Ending session of \(guest.guestId): \(reason)", metadata: metadata)
        await observer?.guestEnded(guest, reason: reason)
        do {
            _ = try await calls.closeTracks(session: guest.sessionId, mids: guest.tracks.map(\.mid), force: true)
        } catch let error as CallsError where reason == .publisherGone && [404, 410].contains(error.httpStatus) {
            logger.debug("The Calls session of \(guest.guestId) is already closed", metadata: metadata)
        } catch {
            // The SFU garbage-collects tracks without media after ~30 s, so this is not a leak
            // that outlives the guest; it is still worth a warning.
            logger.warning("Could not close the Calls tracks of \(guest.guestId): \(error)", metadata: metadata)
        }
    }

    private func authorize(_ request: HTTPRequest) -> HTTPResponse? {
        guard let expected = settings.bearerToken else { return nil }
        let presented = request.headers["Authorization"].flatMap(BearerToken.parse)
        if let presented, BearerToken.equal(presented, expected) { return nil }
        var response = WHIPResponses.problem(401, "a valid 'Authorization: Bearer <token>' header is required")
        response.headers.set("WWW-Authenticate", "Bearer")
        return response
    }

    private func checkGuest(_ guestId: String) -> HTTPResponse? {
        switch settings.guestStatus(guestId) {
        case .enabled: nil
        case .disabled: WHIPResponses.problem(403, "guest \(guestId) is disabled in the configuration")
        case .unknown: WHIPResponses.problem(404, "unknown guest \(guestId): guests are listed under 'guests:' in config.yml")
        }
    }

    static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }
}

import Foundation
import Logging
import Relay

/// Counters a test can assert on.
public struct FakeCallsStats: Sendable, Equatable {
    public var requests = 0
    /// Mutations that got past the overlap check (and so were processed).
    public var mutationsProcessed = 0
    /// Mutations refused with 406 because another one of the same session was in progress.
    public var overlappingMutationsRejected = 0
    /// Requests an injected fault (`setFaults`) applied to.
    public var faultsApplied = 0
}

/// The HTTP side of a faithful Cloudflare Calls, independent of any server: mount `handler` on
/// an HTTP server or call it in-process with `InProcessHTTPClient`.
///
/// Behaviour (see shared/reference/calls-api.md):
/// - Paths are `/v1/apps/{appId}/…` only. A path without `/v1` is 404, as on
///   rtc.live.cloudflare.com, so a client that forgets the version is caught.
/// - Unknown app → 404; missing/wrong `Authorization: Bearer` → 401 (JSON error body).
/// - `POST sessions/new` → 201 `{sessionId}` (32 hex). A `sessionDescription` in that body
///   (the old one-step flow) is accepted and ignored with a warning: no answer comes back.
/// - `…/tracks` → 405, `…/tracks/subscribe` → 404, wrong method on a known route → 405.
/// - Mutations of one session overlapping in time → 406 `session_error` "another mutation is in
///   progress"; each mutation takes `options.mutationLatency` (awaited via the injected sleep).
/// - Closing a session's last track closes the session: later calls → 410 `session_error`.
/// - Injected failures (`setFaults`, see `FakeCallsFault`) are consulted for every authorised
///   request: a delay, a Calls error status, a 200 with a malformed or truncated body.
public actor FakeCallsAPI {
    public private(set) var options: FakeCallsOptions
    public private(set) var stats = FakeCallsStats()
    let mediaSide: any FakeSFUMediaSide
    let sleep: @Sendable (Duration) async throws -> Void
    let logger: Logger
    var sessions: [String: FakeCallsSession] = [:]
    /// Subscribe attempts refused per "publisherSession/trackName" (for `.afterRefusedAttempts`).
    var refusedAttempts: [String: Int] = [:]
    var random = SystemRandomNumberGenerator()
    /// Injected failures (see `FakeCallsFault`).
    var faults = FakeCallsFaultBook()
    /// Sessions created so far (a session's ordinal, for `FakeCallsFault.Target.nthSession`).
    var sessionsCreated = 0

    public init(options: FakeCallsOptions, mediaSide: any FakeSFUMediaSide = MinimalSDPMediaSide(),
                logger: Logger = Logger(label: "fakecalls.api"),
                sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }) {
        self.options = options
        self.mediaSide = mediaSide
        self.logger = logger
        self.sleep = sleep
    }

    /// The request handler to mount on a server or wrap in `InProcessHTTPClient`.
    public nonisolated var handler: HTTPHandler {
        { [self] request in await self.handle(request) }
    }

    /// The publisher session's tracks count as flowing from now on (its browser sends media).
    public func markFlowing(session: String) {
        sessions[session]?.flowing = true
    }

    /// The publisher session's browser went silent (its PeerConnection sends nothing any more):
    /// its tracks report `inactive` from now on, as Calls' do, while the session stays open.
    public func markSilent(session: String) {
        sessions[session]?.flowing = false
        sessions[session]?.silent = true
    }

    public func setPublisherFlow(_ flow: FakeCallsOptions.PublisherFlow) { options.publisherFlow = flow }
    public func setMutationLatency(_ latency: Duration) { options.mutationLatency = latency }

    /// Replaces the injected faults (an empty list: none). Hit counts start again from zero.
    public func setFaults(_ rules: [FakeCallsFault]) { faults.set(rules) }

    /// How many requests each rule of the last `setFaults` hit, in the same order.
    public func faultHits() -> [Int] { faults.hits }

    /// Mutations being processed right now (0 once every request that arrived was answered,
    /// including ones whose client gave up waiting).
    public func mutationsInProgress() -> Int { sessions.values.filter(\.mutating).count }

    /// Ids of sessions that exist and are not closed.
    public func openSessionIds() -> [String] { sessions.values.filter { !$0.closed }.map(\.id).sorted() }

    /// Sessions holding at least one open track: what a client can leave behind. (An empty
    /// session costs the real SFU nothing and expires; it has no delete call either.)
    public func sessionsHoldingTracks() -> [String] {
        sessions.values.filter { !$0.closed && !$0.tracks.isEmpty }.map(\.id).sorted()
    }

    public func handle(_ request: HTTPRequest) async -> HTTPResponse {
        stats.requests += 1
        let response = await route(request)
        // Never the headers: Authorization carries the app's token.
        logger.debug("FakeCalls request", metadata: [
            "method": "\(request.method)", "path": "\(request.path)", "status": "\(response.status)",
        ])
        return response
    }

    // MARK: routing

    private func route(_ request: HTTPRequest) async -> HTTPResponse {
        let parts = request.path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        guard parts.count >= 3, parts[0] == "v1", parts[1] == "apps" else {
            return Self.error(404, "not_found", "no such path; the Calls API lives under /v1/apps/{appId}/")
        }
        let appId = parts[2]
        guard let token = options.apps[appId] else {
            return Self.error(404, "not_found", "app not found")
        }
        guard Self.bearerToken(request.headers["Authorization"]) == token else {
            return Self.error(401, "unauthorized", "missing or invalid Authorization: Bearer token")
        }
        let rest = Array(parts.dropFirst(3))
        let method = request.method.uppercased()
        switch rest.count {
        case 2 where rest == ["sessions", "new"]:
            guard method == "POST" else { return Self.methodNotAllowed(method) }
            return await withFault(kind(.sessionsNew, session: nil, body: nil)) { _ in
                await self.newSession(appId: appId, body: request.body)
            }
        case 2 where rest[0] == "sessions":
            guard method == "GET" else { return Self.methodNotAllowed(method) }
            return await withFault(kind(.sessionGet, session: rest[1], body: nil)) { _ in
                await self.sessionState(appId: appId, id: rest[1])
            }
        case 3 where rest[0] == "sessions" && rest[2] == "tracks":
            // There is no GET (or anything) on …/tracks; real Calls answers 405.
            return Self.methodNotAllowed(method)
        case 3 where rest[0] == "sessions" && rest[2] == "renegotiate":
            guard method == "PUT" else { return Self.methodNotAllowed(method) }
            return await withFault(kind(.renegotiate, session: rest[1], body: nil)) { delay in
                await self.mutation(appId: appId, id: rest[1], delay: delay) { id in
                    await self.renegotiate(id: id, body: request.body)
                }
            }
        case 4 where rest[0] == "sessions" && rest[2] == "tracks" && rest[3] == "new":
            guard method == "POST" else { return Self.methodNotAllowed(method) }
            return await withFault(kind(.tracksNew, session: rest[1], body: request.body)) { delay in
                await self.mutation(appId: appId, id: rest[1], delay: delay) { id in
                    await self.tracksNew(id: id, body: request.body)
                }
            }
        case 4 where rest[0] == "sessions" && rest[2] == "tracks" && rest[3] == "close":
            guard method == "PUT" else { return Self.methodNotAllowed(method) }
            return await withFault(kind(.tracksClose, session: rest[1], body: nil)) { delay in
                await self.mutation(appId: appId, id: rest[1], delay: delay) { id in
                    await self.closeTracks(id: id, body: request.body)
                }
            }
        default:
            return Self.error(404, "not_found", "no such path")
        }
    }

    // MARK: faults

    /// Describes a request for fault matching; a tracks/new also marks its session's role.
    private func kind(_ endpoint: FakeCallsFault.Endpoint, session id: String?, body: Data?) -> FakeCallsRequestKind {
        guard let id else {
            return FakeCallsRequestKind(endpoint: endpoint, session: nil, ordinal: sessionsCreated + 1,
                                        isPublisher: false, isSubscriber: false)
        }
        if let body, sessions[id] != nil, let request = try? JSONDecoder().decode(TracksRequest.self, from: body) {
            if request.tracks.contains(where: { $0.location == .local }) { sessions[id]?.publishes = true }
            if request.tracks.contains(where: { $0.location == .remote }) { sessions[id]?.pulls = true }
        }
        let session = sessions[id]
        return FakeCallsRequestKind(
            endpoint: endpoint, session: id, ordinal: session?.ordinal,
            isPublisher: session.map { $0.publishes || $0.tracks.contains { $0.location == .local } } ?? false,
            isSubscriber: session.map { $0.pulls || $0.tracks.contains { $0.location == .remote } } ?? false)
    }

    /// Applies the first matching fault to a request: answers in its place, delays it (`serve`
    /// gets the delay; mutations wait while marked mutating), or spoils its body.
    private func withFault(_ kind: FakeCallsRequestKind,
                           _ serve: @Sendable (Duration) async -> HTTPResponse) async -> HTTPResponse {
        guard let action = faults.action(for: kind) else { return await serve(.zero) }
        stats.faultsApplied += 1
        logger.debug("FakeCalls injects a fault", metadata: [
            "endpoint": "\(kind.endpoint.rawValue)", "session": "\(kind.session ?? "-")", "action": "\(action)",
        ])
        switch action {
        case .respond(let status, let code, let description):
            return Self.error(status, code, description)
        case .delay(let duration):
            if kind.endpoint == .sessionsNew || kind.endpoint == .sessionGet {
                do { try await sleep(duration) } catch {
                    return Self.error(503, "retryable_transient_error", "FakeCalls was interrupted")
                }
                return await serve(.zero)
            }
            return await serve(duration)
        case .malformedJSON:
            var response = await serve(.zero)
            response.body = Data("<html><body>502 upstream hiccup</body></html>".utf8)
            return response
        case .truncatedBody:
            var response = await serve(.zero)
            response.body = response.body.prefix(response.body.count / 2)
            return response
        }
    }

    // MARK: sessions

    private func newSession(appId: String, body: Data) -> HTTPResponse {
        if !body.isEmpty {
            struct MaybeOffer: Decodable { var sessionDescription: SessionDescription? }
            guard let decoded = try? JSONDecoder().decode(MaybeOffer.self, from: body) else {
                return Self.error(400, "decoding_error", "request body is not valid JSON")
            }
            if decoded.sessionDescription != nil {
                logger.warning("FakeCalls: sessionDescription in sessions/new ignored; send it with tracks/new")
            }
        }
        let id = newSessionId()
        sessionsCreated += 1
        sessions[id] = FakeCallsSession(id: id, appId: appId)
        sessions[id]?.ordinal = sessionsCreated
        return Self.json(201, NewSessionResponse(sessionId: id))
    }

    private func sessionState(appId: String, id: String) -> HTTPResponse {
        if let failure = lookupFailure(appId: appId, id: id) { return failure }
        guard let session = sessions[id] else { return Self.error(404, "session_error", "session not found") }
        let tracks = session.tracks.map { track -> TrackObject in
            let active: Bool
            switch track.location {
            case .local:
                active = isFlowing(publisher: id, trackName: track.trackName)
            case .remote:
                active = !session.offerPending && publishedTrack(session: track.publisherSession ?? "",
                                                                 trackName: track.trackName, appId: appId) != nil
                    && isFlowing(publisher: track.publisherSession ?? "", trackName: track.trackName)
            }
            return TrackObject(location: track.location, sessionId: track.publisherSession ?? id,
                               trackName: track.trackName, mid: track.mid, kind: track.kind,
                               status: active ? "active" : "inactive")
        }
        return Self.json(200, SessionStateResponse(tracks: tracks))
    }

    /// Runs one mutation with the overlap check and the configured latency.
    private func mutation(appId: String, id: String, delay: Duration = .zero,
                          _ body: @Sendable (String) async -> HTTPResponse) async -> HTTPResponse {
        if let failure = lookupFailure(appId: appId, id: id) { return failure }
        guard sessions[id]?.mutating == false else {
            stats.overlappingMutationsRejected += 1
            return Self.error(406, "session_error", "another mutation is in progress on this session")
        }
        sessions[id]?.mutating = true
        stats.mutationsProcessed += 1
        defer { sessions[id]?.mutating = false }
        if options.mutationLatency + delay > .zero {
            do {
                try await sleep(options.mutationLatency + delay)
            } catch {
                return Self.error(503, "retryable_transient_error", "FakeCalls was interrupted")
            }
        }
        return await body(id)
    }

    func lookupFailure(appId: String, id: String) -> HTTPResponse? {
        guard let session = sessions[id], session.appId == appId else {
            return Self.error(404, "session_error", "session not found")
        }
        if session.closed { return Self.error(410, "session_error", "session is closed") }
        return nil
    }

    private func newSessionId() -> String {
        while true {
            let id = String(format: "%016llx%016llx", random.next() as UInt64, random.next() as UInt64)
            if sessions[id] == nil { return id }
        }
    }

    // MARK: flow

    /// The local track `trackName` of an open session of `appId`, if published.
    func publishedTrack(session: String, trackName: String, appId: String) -> FakeCallsSession.Track? {
        guard let publisher = sessions[session], publisher.appId == appId, !publisher.closed else { return nil }
        return publisher.tracks.first { $0.location == .local && $0.trackName == trackName }
    }

    func isFlowing(publisher: String, trackName: String) -> Bool {
        if sessions[publisher]?.silent == true { return false }
        if sessions[publisher]?.flowing == true { return true }
        switch options.publisherFlow {
        case .immediately: return true
        case .whenMarked: return false
        case .afterRefusedAttempts(let count): return refusedAttempts["\(publisher)/\(trackName)", default: 0] >= count
        }
    }

    func recordRefusal(publisher: String, trackName: String) {
        refusedAttempts["\(publisher)/\(trackName)", default: 0] += 1
    }

    // MARK: responses

    static func bearerToken(_ header: String?) -> String? {
        guard let header else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return parts[1].trimmingCharacters(in: .whitespaces)
    }

    static func methodNotAllowed(_ method: String) -> HTTPResponse {
        error(405, "method_not_allowed", "\(method) is not allowed here")
    }

    static func error(_ status: Int, _ code: String, _ description: String) -> HTTPResponse {
        json(status, CallsErrorBody(errorCode: code, errorDescription: description))
    }

    static func json<T: Encodable>(_ status: Int, _ value: T) -> HTTPResponse {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let body = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return HTTPResponse(status: status, headers: ["Content-Type": "application/json"], body: body)
    }
}

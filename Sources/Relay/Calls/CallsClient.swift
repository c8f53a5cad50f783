import Foundation
import Logging

/// CallsAPI over HTTP: real Cloudflare Calls (`https://rtc.live.cloudflare.com/v1`) or FakeCalls.
///
/// - Mutations of one session (tracks/new, renegotiate, tracks/close) run one after another in
///   arrival order (Calls answers overlapping ones with 406); different sessions run in parallel.
/// - Retryable failures (425, 429, 5xx, `retryable_transient_error`, a connection that never
///   opened) are retried with `retryPolicy`; the lane of the session is released while waiting,
///   so a teardown is not stuck behind a retry loop. Cancelling the calling task stops the wait
///   at once and throws `CancellationError`.
/// - `subscribe` throws at once on per-track `not_found_track_error`/`empty_track_error`
///   (retryable CallsError); `subscribeWhenFlowing` is the same call retried until the
///   publisher's tracks flow — that is what replaces the seed's fixed 2 s sleep.
/// - The token is sent only in the Authorization header; it never reaches a log or an error.
public final class CallsClient: CallsAPI {
    public let baseURL: String
    public let appId: String
    public let requestTimeout: Duration
    public let retryPolicy: RetryPolicy
    private let token: String
    private let http: any HTTPClient
    private let sleep: CallsSleep
    private let logger: Logger
    private let queue = SessionMutationQueue()
    private let scrubber: CallsSecretScrubber

    /// - Parameters:
    ///   - baseURL: up to and including the version, e.g. "https://rtc.live.cloudflare.com/v1"
    ///     (a trailing "/" is ignored).
    ///   - token: the app's API token (a secret: only ever put in the Authorization header).
    ///   - sleep: how backoff waits are done; tests pass a recorder.
    public init(baseURL: String = "https://rtc.live.cloudflare.com/v1", appId: String, token: String,
                http: any HTTPClient, requestTimeout: Duration = .seconds(10), retryPolicy: RetryPolicy = .default,
                logger: Logger = Logger(label: "relay.calls"),
                sleep: @escaping CallsSleep = { try await Task.sleep(for: $0) }) {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.appId = appId
        self.token = token
        self.http = http
        self.requestTimeout = requestTimeout
        self.retryPolicy = retryPolicy
        self.logger = logger
        self.sleep = sleep
        self.scrubber = CallsSecretScrubber(secret: token)
    }

    // MARK: CallsAPI

    public func newSession() async throws -> String {
        let op = CallsOperation(name: "POST sessions/new", method: "POST", session: nil)
        let response: NewSessionResponse = try await withRetries(op, policy: retryPolicy) {
            try await self.exchange(op, path: "sessions/new", body: Data("{}".utf8), expect: 201, idempotent: true)
        }
        guard Self.isPlausibleId(response.sessionId) else {
            throw CallsErrorMapping.badResponse("empty or malformed sessionId", status: 201, operation: op)
        }
        return response.sessionId
    }

    public func publish(session: String, offer: String, tracks: [TrackObject]) async throws -> TracksResponse {
        let op = CallsOperation(name: "POST tracks/new (publish)", method: "POST", session: session)
        let request = TracksRequest(sessionDescription: SessionDescription(type: .offer, sdp: offer), tracks: tracks)
        return try await tracksNew(op, session: session, request: request, perTrackErrorsRetryable: false,
                                   policy: retryPolicy)
    }

    public func subscribe(session: String, tracks: [TrackObject], offer: String?) async throws -> TracksResponse {
        try await subscribe(session: session, tracks: tracks, offer: offer, policy: retryPolicy,
                            retryTracksNotFlowing: false)
    }

    /// `subscribe`, retried with `policy` (default: the client's) while every requested track is
    /// answered with `not_found_track_error`/`empty_track_error` — the publisher is not flowing
    /// yet. Nothing was added to the session in that case, so sending the request again is safe.
    /// When some tracks were added and others not, it throws the retryable CallsError carrying
    /// `partialResponse` (answer that offer, then subscribe the rest).
    public func subscribeWhenFlowing(session: String, tracks: [TrackObject], offer: String? = nil,
                                     policy: RetryPolicy? = nil) async throws -> TracksResponse {
        try await subscribe(session: session, tracks: tracks, offer: offer, policy: policy ?? retryPolicy,
                            retryTracksNotFlowing: true)
    }

    public func renegotiate(session: String, answer: String) async throws {
        let op = CallsOperation(name: "PUT renegotiate", method: "PUT", session: session)
        let body = try encode(RenegotiateRequest(sessionDescription: SessionDescription(type: .answer, sdp: answer)), op)
        let _: EmptyResponse = try await withRetries(op, policy: retryPolicy) {
            try await self.queue.run(session: session) {
                try await self.exchange(op, path: "sessions/\(session)/renegotiate", method: "PUT", body: body,
                                        expect: 200, idempotent: false)
            }
        }
    }

    public func closeTracks(session: String, mids: [String], force: Bool) async throws -> TracksResponse {
        let op = CallsOperation(name: "PUT tracks/close", method: "PUT", session: session)
        let body = try encode(CloseTracksRequest(mids: mids, force: force), op)
        let response: TracksResponse = try await withRetries(op, policy: retryPolicy) {
            try await self.queue.run(session: session) {
                try await self.exchange(op, path: "sessions/\(session)/tracks/close", method: "PUT", body: body,
                                        expect: 200, idempotent: false)
            }
        }
        try checkTopLevel(response, op)
        return response
    }

    public func sessionState(session: String) async throws -> SessionStateResponse {
        let op = CallsOperation(name: "GET session", method: "GET", session: session)
        let response: SessionStateResponse = try await withRetries(op, policy: retryPolicy) {
            try await self.exchange(op, path: "sessions/\(session)", method: "GET", body: nil, expect: 200,
                                    idempotent: true)
        }
        if let code = response.errorCode {
            throw CallsError(code: code, httpStatus: 200, description: "Calls \(op.label) failed: \(code) "
                + scrubber.scrub(response.errorDescription ?? ""), retryable: code == "retryable_transient_error")
        }
        return response
    }

    /// How many mutations of `session` are running or queued in this client (0 when idle).
    public func queuedMutations(for session: String) async -> Int { await queue.occupancy(of: session) }

    // MARK: tracks/new

    private func subscribe(session: String, tracks: [TrackObject], offer: String?, policy: RetryPolicy,
                           retryTracksNotFlowing: Bool) async throws -> TracksResponse {
        let op = CallsOperation(name: "POST tracks/new (subscribe)", method: "POST", session: session)
        let request = TracksRequest(sessionDescription: offer.map { SessionDescription(type: .offer, sdp: $0) },
                                    tracks: tracks)
        return try await tracksNew(op, session: session, request: request, perTrackErrorsRetryable: retryTracksNotFlowing,
                                   policy: policy)
    }

    private func tracksNew(_ op: CallsOperation, session: String, request: TracksRequest, perTrackErrorsRetryable: Bool,
                           policy: RetryPolicy) async throws -> TracksResponse {
        let body = try encode(request, op)
        let isSubscribe = request.tracks.contains { $0.location == .remote }
        return try await withRetries(op, policy: policy, retryIf: { error in
            // A subscribe whose tracks are not flowing yet is retried only on request, and only
            // when nothing was added (re-sending would otherwise duplicate the added tracks).
            guard error.isTrackNotFlowingYet else { return error.retryable }
            return perTrackErrorsRetryable && error.partialResponse == nil
        }) {
            let response: TracksResponse = try await self.queue.run(session: session) {
                try await self.exchange(op, path: "sessions/\(session)/tracks/new", body: body, expect: 200,
                                        idempotent: false)
            }
            try self.checkTopLevel(response, op)
            try self.checkTracks(response, op, requested: request.tracks.count, isSubscribe: isSubscribe)
            return response
        }
    }

    private func checkTopLevel(_ response: TracksResponse, _ op: CallsOperation) throws {
        guard let code = response.errorCode else { return }
        let text = scrubber.scrub(response.errorDescription ?? "")
        throw CallsError(code: code, httpStatus: 200, description: "Calls \(op.label) failed: \(code) \(text)",
                         retryable: code == "retryable_transient_error")
    }

    private func checkTracks(_ response: TracksResponse, _ op: CallsOperation, requested: Int, isSubscribe: Bool) throws {
        let failed = (response.tracks ?? []).filter { $0.errorCode != nil }.map(scrubber.scrub)
        guard !failed.isEmpty else { return }
        let list = failed.map { "\($0.trackName ?? "?")@\($0.sessionId ?? "?"): \($0.errorCode ?? "")" }
            .joined(separator: ", ")
        let notFlowing = failed.allSatisfy { CallsError.notFlowingTrackCodes.contains($0.errorCode ?? "") }
        let someAdded = failed.count < max(requested, response.tracks?.count ?? 0)
        if isSubscribe && notFlowing {
            throw CallsError(code: failed[0].errorCode ?? "not_found_track_error", httpStatus: 200,
                             description: "Calls \(op.label): the publisher's tracks are not flowing yet (\(list)); "
                                 + "check the guest's browser is connected and sending media",
                             retryable: true, trackErrors: failed, partialResponse: someAdded ? response : nil)
        }
        let hint = isSubscribe ? "check the track names match what the guest published"
                               : "check the tracks' mids exist in the guest's offer"
        throw CallsError(code: failed[0].errorCode ?? "track_error", httpStatus: 200,
                         description: "Calls \(op.label) refused tracks (\(list)): \(hint)",
                         retryable: false, trackErrors: failed, partialResponse: someAdded ? response : nil)
    }

    // MARK: retries

    private func withRetries<T: Sendable>(_ op: CallsOperation, policy: RetryPolicy,
                                          retryIf: (CallsError) -> Bool = { $0.retryable },
                                          _ attempt: @Sendable () async throws -> T) async throws -> T {
        var schedule = policy.makeSchedule()
        var unreachable = 0
        var tries = 0
        while true {
            try Task.checkCancellation()
            tries += 1
            do {
                return try await attempt()
            } catch let error as CallsError {
                unreachable = error.neverReachedCalls ? unreachable + 1 : 0
                guard retryIf(error), unreachable < max(policy.maxUnreachableAttempts, 1),
                      let delay = schedule.nextDelay()
                else { throw Self.gaveUp(error, tries: tries, waited: schedule.waited) }
                logger.debug("Calls call failed, retrying", metadata: [
                    "operation": "\(op.name)", "session": "\(op.session ?? "-")", "code": "\(error.code)",
                    "attempt": "\(schedule.attempts)", "delayMs": "\(delay.callsMilliseconds)",
                ])
                try await sleep(delay)
            }
        }
    }

    /// A retryable error thrown after retrying says so, rather than "retrying".
    private static func gaveUp(_ error: CallsError, tries: Int, waited: Duration) -> CallsError {
        guard error.retryable, tries > 1 else { return error }
        var final = error
        final.description = error.description.replacingOccurrences(of: "; retrying", with: "")
            + " (relayd gave up after \(tries) attempts over \(waited.callsMilliseconds) ms of backoff)"
        return final
    }

    // MARK: HTTP

    private struct EmptyResponse: Decodable, Sendable {}

    private func encode<T: Encodable>(_ value: T, _ op: CallsOperation) throws -> Data {
        do {
            return try JSONEncoder().encode(value)
        } catch {
            throw CallsError(code: "bad_request", description: "relayd could not encode \(op.label): \(error)",
                             retryable: false)
        }
    }

    private func exchange<T: Decodable & Sendable>(_ op: CallsOperation, path: String, method: String = "POST",
                                                   body: Data?, expect: Int, idempotent: Bool) async throws -> T {
        if let session = op.session, !Self.isPlausibleId(session) {
            throw CallsError(code: "invalid_session_id", description: "relayd refused to call \(op.name): the session id "
                + "is not a Calls id (\(session.count) characters, not hex) — a relayd bug", retryable: false)
        }
        var headers: HTTPHeaders = ["Authorization": "Bearer \(token)", "Accept": "application/json"]
        if body != nil { headers.set("Content-Type", "application/json") }
        let url = "\(baseURL)/apps/\(appId)/\(path)"
        let request = HTTPClientRequest(method: method, url: url, headers: headers, body: body, timeout: requestTimeout)
        let response: HTTPResponse
        do {
            response = method == "GET" ? try await http.send(request) : try await Self.finishOnceSent(request, http)
        } catch let error as HTTPClientError {
            logger.debug("Calls request failed", metadata: ["method": "\(method)", "path": "\(path)",
                                                            "error": "\(scrubber.scrub(error.description))"])
            var mapped = CallsErrorMapping.transport(error, operation: op, idempotent: idempotent)
            mapped.description = scrubber.scrub(mapped.description)
            throw mapped
        }
        logger.debug("Calls request", metadata: ["method": "\(method)", "path": "\(path)",
                                                 "status": "\(response.status)"])
        guard response.status == expect else {
            if (200..<300).contains(response.status) {
                throw CallsErrorMapping.badResponse("HTTP \(response.status) where \(expect) was expected",
                                                    status: response.status, operation: op)
            }
            let errorBody = (try? JSONDecoder().decode(CallsErrorBody.self, from: response.body)).map(scrubber.scrub)
            throw CallsErrorMapping.error(status: response.status, body: errorBody, operation: op, appId: appId)
        }
        do {
            return try JSONDecoder().decode(T.self, from: response.body.isEmpty ? Data("{}".utf8) : response.body)
        } catch {
            throw CallsErrorMapping.badResponse("body is not the expected JSON", status: response.status, operation: op)
        }
    }

    /// A mutation, once sent, is waited for even when the caller is cancelled (bounded by the
    /// request timeout): Calls may apply it anyway, and only its answer tells the caller what to
    /// clean up. A relay stopped mid-subscribe otherwise asked Calls what its session held before
    /// Calls had applied the aborted `tracks/new`, and left those tracks behind. Cancellation is
    /// still honoured before the request goes and between retries.
    private static func finishOnceSent(_ request: HTTPClientRequest, _ http: any HTTPClient) async throws -> HTTPResponse {
        try Task.checkCancellation()
        return try await Task { try await http.send(request) }.value
    }

    /// Calls ids are hex strings; anything else would end up inside a URL path.
    static func isPlausibleId(_ id: String) -> Bool {
        !id.isEmpty && id.count <= 128 && id.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }
    }
}

extension Duration {
    fileprivate var callsMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}

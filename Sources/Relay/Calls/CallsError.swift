import Foundation

/// A failed Cloudflare Calls call, as a value a person can act on.
///
/// `code` is the Calls `errorCode` when the API sent one (`session_error`, `invalid_params`,
/// `not_found_track_error`, …) or a local code: `transport`, `timeout`, `bad_response`,
/// `http_<status>` for a bare status without a body. `description` says what failed and what to
/// check; it never contains the API token (server text is scrubbed before it is kept).
public struct CallsError: Error, Sendable, CustomStringConvertible, Equatable {
    public var code: String
    public var httpStatus: Int?
    public var description: String
    /// True when the same call may succeed later (425, 5xx, `retryable_transient_error`,
    /// per-track `not_found_track_error`/`empty_track_error` on a subscribe, connect failures).
    public var retryable: Bool
    /// The tracks that carried their own `errorCode`/`errorDescription` in a 200 response.
    public var trackErrors: [TrackObject]
    /// For a subscribe where some tracks were added and others failed: the whole 200 body, so the
    /// caller can still answer its offer (the added tracks are in the session now).
    public var partialResponse: TracksResponse?
    /// The request never left this host (connection refused, no route, name not resolved):
    /// retried only a few times, since it is usually the base URL or the network, not Calls.
    public var neverReachedCalls: Bool

    public init(code: String, httpStatus: Int? = nil, description: String, retryable: Bool,
                trackErrors: [TrackObject] = [], partialResponse: TracksResponse? = nil,
                neverReachedCalls: Bool = false) {
        self.neverReachedCalls = neverReachedCalls
        self.code = code
        self.httpStatus = httpStatus
        self.description = description
        self.retryable = retryable
        self.trackErrors = trackErrors
        self.partialResponse = partialResponse
    }

    /// True when every failing track failed with a code that goes away once the publisher flows.
    public var isTrackNotFlowingYet: Bool {
        !trackErrors.isEmpty && trackErrors.allSatisfy { CallsError.notFlowingTrackCodes.contains($0.errorCode ?? "") }
    }

    static let notFlowingTrackCodes: Set<String> = ["not_found_track_error", "empty_track_error"]
}

/// Which call failed, for error texts: "POST tracks/new (subscribe) on session 1a2b…".
struct CallsOperation: Sendable {
    var name: String
    var method: String
    var session: String?

    var label: String {
        if let session { return "\(name) on session \(session)" }
        return name
    }
}

enum CallsErrorMapping {
    /// Maps a non-success HTTP answer to a CallsError. `body` is the already scrubbed error body
    /// when it decoded.
    static func error(status: Int, body: CallsErrorBody?, operation: CallsOperation, appId: String) -> CallsError {
        let code = body?.errorCode ?? "http_\(status)"
        let serverText = body.map { ": \($0.errorCode) \($0.errorDescription)" } ?? ""
        let what = "Calls \(operation.label) failed (HTTP \(status)\(serverText))"
        switch status {
        case 401, 403:
            return CallsError(code: body?.errorCode ?? "unauthorized", httpStatus: status,
                              description: "Calls rejected the API token (HTTP \(status)) for \(operation.label): "
                                  + "check cloudflare.calls_api_token / RELAYD_CALLS_API_TOKEN",
                              retryable: false)
        case 404:
            let hint = operation.session == nil
                ? "check cloudflare.calls_app_id (app \(appId)) and relay.calls_base_url"
                : "check cloudflare.calls_app_id (app \(appId)); the session may not exist"
            return CallsError(code: code, httpStatus: status, description: "\(what): \(hint)", retryable: false)
        case 405:
            return CallsError(code: code, httpStatus: status,
                              description: "\(what): Calls does not allow \(operation.method) here — a relayd bug",
                              retryable: false)
        case 410:
            return CallsError(code: code, httpStatus: status,
                              description: "\(what): the session has ended at Calls (closed or expired): a guest's "
                                  + "own session needs the guest to connect again; a relay's is replaced by subscribing anew",
                              retryable: false)
        case 425:
            return CallsError(code: code, httpStatus: status,
                              description: "\(what): the session's peer connection is not connected yet; retrying",
                              retryable: true)
        case 429:
            return CallsError(code: code, httpStatus: status,
                              description: "\(what): rate limited (about 50 requests/s per session); retrying",
                              retryable: true)
        case 500...599:
            return CallsError(code: code, httpStatus: status,
                              description: "\(what): Calls had a server-side problem; retrying", retryable: true)
        default:
            break
        }
        if code == "retryable_transient_error" {
            return CallsError(code: code, httpStatus: status, description: "\(what): transient; retrying", retryable: true)
        }
        let hint: String
        switch code {
        case "session_error" where status == 406:
            hint = "another mutation of this session was in progress; relayd serializes its own calls, "
                + "so check that no second relayd (or other client) uses the same session"
        case "invalid_session_description": hint = "the SDP was rejected; check the offer/answer being sent"
        case "invalid_params", "decoding_error": hint = "the request body was refused — a relayd bug"
        default: hint = "see the Calls error code"
        }
        return CallsError(code: code, httpStatus: status, description: "\(what): \(hint)", retryable: false)
    }

    static func transport(_ error: HTTPClientError, operation: CallsOperation, idempotent: Bool) -> CallsError {
        switch error.kind {
        case .connectionFailed:
            // The request never reached Calls, so sending it again cannot apply it twice.
            return CallsError(code: "transport", description: "could not reach Calls for \(operation.label) "
                + "(\(error.detail)): check network access to rtc.live.cloudflare.com and relay.calls_base_url in config.yml",
                retryable: true, neverReachedCalls: true)
        case .timedOut:
            return CallsError(code: "timeout", description: "Calls did not answer \(operation.label) in time "
                + "(\(error.detail))", retryable: idempotent)
        case .transport:
            return CallsError(code: "transport", description: "transport failure during \(operation.label) "
                + "(\(error.detail))", retryable: idempotent)
        }
    }

    static func badResponse(_ detail: String, status: Int, operation: CallsOperation) -> CallsError {
        CallsError(code: "bad_response", httpStatus: status,
                   description: "Calls answered \(operation.label) with something relayd cannot read (\(detail)): "
                       + "check relay.calls_base_url points at the Calls API",
                   retryable: false)
    }
}

/// Removes a secret from text that came from outside (a server could echo a header back).
struct CallsSecretScrubber: Sendable {
    let secret: String

    func scrub(_ text: String) -> String {
        guard secret.count >= 4 else { return text }
        return text.replacingOccurrences(of: secret, with: "[redacted]")
    }

    func scrub(_ body: CallsErrorBody) -> CallsErrorBody {
        CallsErrorBody(errorCode: scrub(body.errorCode), errorDescription: scrub(body.errorDescription))
    }

    func scrub(_ track: TrackObject) -> TrackObject {
        var copy = track
        copy.errorCode = copy.errorCode.map(scrub)
        copy.errorDescription = copy.errorDescription.map(scrub)
        return copy
    }
}

import Foundation
import Relay

/// One injected Calls failure: which requests it hits and what happens to them.
///
/// Rules are consulted by `FakeCallsAPI` for every authorised request, in order; the first rule
/// that matches and has hits left applies. A request nothing matches is served normally.
public struct FakeCallsFault: Sendable, Equatable, CustomStringConvertible {
    /// Which API call.
    public enum Endpoint: String, Sendable, Equatable, CaseIterable {
        case sessionsNew = "sessions/new"
        case tracksNew = "tracks/new"
        case renegotiate
        case tracksClose = "tracks/close"
        case sessionGet = "session"
        case any
    }

    /// Which session the call is about.
    public enum Target: Sendable, Equatable {
        case anySession
        /// The session created by the Nth `sessions/new` (1-based, counted since the API started),
        /// and that `sessions/new` itself.
        case nthSession(Int)
        /// A session that publishes (a `tracks/new` with local tracks, or holding local tracks).
        case publisher
        /// A session that pulls remote tracks (a `tracks/new` with remote tracks, or holding them).
        case subscriber
    }

    public enum Action: Sendable, Equatable {
        /// Served normally after this long (awaited with the API's injected sleep; a mutation is
        /// delayed while its session is marked mutating, so an overlapping one gets 406).
        case delay(Duration)
        /// Not served: this status with a Calls-shaped `{errorCode, errorDescription}` body.
        case respond(status: Int, errorCode: String, description: String)
        /// Served (its effects happen), but the body is replaced by text that is not JSON.
        case malformedJSON
        /// Served (its effects happen), but only the first half of the body is sent.
        case truncatedBody
    }

    public var endpoint: Endpoint
    public var target: Target
    public var action: Action
    /// How many matching requests it hits; nil: every one.
    public var times: Int?

    public init(_ endpoint: Endpoint, target: Target = .anySession, action: Action, times: Int? = nil) {
        self.endpoint = endpoint
        self.target = target
        self.action = action
        self.times = times
    }

    /// A Calls error status, e.g. `.status(425, "session_error")`.
    public static func status(_ status: Int, _ code: String, on endpoint: Endpoint, target: Target = .anySession,
                              times: Int? = nil) -> FakeCallsFault {
        FakeCallsFault(endpoint, target: target,
                       action: .respond(status: status, errorCode: code, description: "injected by FakeCalls (HTTP \(status))"),
                       times: times)
    }

    public var description: String {
        let what: String
        switch action {
        case .delay(let duration): what = "delay \(duration)"
        case .respond(let status, let code, _): what = "\(status) \(code)"
        case .malformedJSON: what = "malformed JSON"
        case .truncatedBody: what = "truncated body"
        }
        return "\(endpoint.rawValue) [\(target)] → \(what) \(times.map { "×\($0)" } ?? "always")"
    }
}

/// What a request is, for matching faults.
struct FakeCallsRequestKind: Sendable {
    var endpoint: FakeCallsFault.Endpoint
    /// nil for sessions/new.
    var session: String?
    /// The session's ordinal (1-based order of creation); for sessions/new, the one it would get.
    var ordinal: Int?
    var isPublisher: Bool
    var isSubscriber: Bool
}

/// The rule set and how often each rule has hit. A value: `FakeCallsAPI` (an actor) owns it.
struct FakeCallsFaultBook: Sendable {
    private(set) var rules: [FakeCallsFault] = []
    private(set) var hits: [Int] = []

    mutating func set(_ rules: [FakeCallsFault]) {
        self.rules = rules
        hits = Array(repeating: 0, count: rules.count)
    }

    /// The action for `request`, counting the hit; nil when no rule applies.
    mutating func action(for request: FakeCallsRequestKind) -> FakeCallsFault.Action? {
        for (index, rule) in rules.enumerated() where Self.matches(rule, request) {
            if let times = rule.times, hits[index] >= times { continue }
            hits[index] += 1
            return rule.action
        }
        return nil
    }

    static func matches(_ rule: FakeCallsFault, _ request: FakeCallsRequestKind) -> Bool {
        guard rule.endpoint == .any || rule.endpoint == request.endpoint else { return false }
        switch rule.target {
        case .anySession: return true
        case .nthSession(let n): return request.ordinal == n
        case .publisher: return request.isPublisher
        case .subscriber: return request.isSubscriber
        }
    }
}

extension FakeCallsFault {
    /// Parses the CLI form `ENDPOINT[@TARGET]=ACTION[xN]`, e.g. `tracks/new@publisher=delay:5s`,
    /// `tracks/new=425x3`, `renegotiate@subscriber=410`, `sessions/new@2=500`, `any=malformed`,
    /// `session=truncated`. Targets: publisher, subscriber, or a number (the Nth session).
    /// Actions: `delay:<n>ms|s`, an HTTP status (code `session_error` for 4xx,
    /// `retryable_transient_error` for 5xx, or `STATUS:CODE`), `malformed`, `truncated`.
    public init?(spec: String) {
        let halves = spec.split(separator: "=", maxSplits: 1).map(String.init)
        guard halves.count == 2 else { return nil }
        let lhs = halves[0].split(separator: "@", maxSplits: 1).map(String.init)
        guard let endpoint = Endpoint(rawValue: lhs[0]) else { return nil }
        var target = Target.anySession
        if lhs.count == 2 {
            switch lhs[1] {
            case "publisher": target = .publisher
            case "subscriber": target = .subscriber
            default:
                guard let n = Int(lhs[1]), n > 0 else { return nil }
                target = .nthSession(n)
            }
        }
        var rhs = halves[1]
        var times: Int?
        if let x = rhs.lastIndex(of: "x"), let n = Int(rhs[rhs.index(after: x)...]), n > 0 {
            times = n
            rhs = String(rhs[..<x])
        }
        let action: Action
        if rhs == "malformed" {
            action = .malformedJSON
        } else if rhs == "truncated" {
            action = .truncatedBody
        } else if rhs.hasPrefix("delay:") {
            let value = rhs.dropFirst("delay:".count)
            if value.hasSuffix("ms"), let ms = Int(value.dropLast(2)) {
                action = .delay(.milliseconds(ms))
            } else if value.hasSuffix("s"), let s = Double(value.dropLast()) {
                action = .delay(.milliseconds(Int(s * 1000)))
            } else {
                return nil
            }
        } else {
            let parts = rhs.split(separator: ":", maxSplits: 1).map(String.init)
            guard let status = Int(parts[0]), (400...599).contains(status) else { return nil }
            let code = parts.count == 2 ? parts[1] : (status >= 500 ? "retryable_transient_error" : "session_error")
            action = .respond(status: status, errorCode: code, description: "injected by FakeCalls (HTTP \(status))")
        }
        self.init(endpoint, target: target, action: action, times: times)
    }
}

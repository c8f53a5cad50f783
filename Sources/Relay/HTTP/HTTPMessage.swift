import Foundation

/// Header fields in arrival order; names compare case-insensitively (RFC 9110).
public struct HTTPHeaders: Sendable, Equatable, Sequence, ExpressibleByDictionaryLiteral {
    public private(set) var fields: [(name: String, value: String)] = []

    public init() {}
    public init(dictionaryLiteral elements: (String, String)...) {
        for (name, value) in elements { add(name, value) }
    }

    public subscript(name: String) -> String? {
        fields.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }

    public func values(_ name: String) -> [String] {
        fields.filter { $0.name.caseInsensitiveCompare(name) == .orderedSame }.map(\.value)
    }

    public mutating func add(_ name: String, _ value: String) { fields.append((name, value)) }

    /// Replaces every field of that name with one field.
    public mutating func set(_ name: String, _ value: String) {
        fields.removeAll { $0.name.caseInsensitiveCompare(name) == .orderedSame }
        fields.append((name, value))
    }

    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> { fields.makeIterator() }

    public static func == (lhs: HTTPHeaders, rhs: HTTPHeaders) -> Bool {
        lhs.fields.elementsEqual(rhs.fields) { $0.name == $1.name && $0.value == $1.value }
    }
}

/// A request as the server seam hands it to a handler: the whole body already read (and capped).
public struct HTTPRequest: Sendable {
    public var method: String
    /// The path without the query string, percent-decoded by the server.
    public var path: String
    public var query: [String: String]
    public var headers: HTTPHeaders
    public var body: Data
    /// "ip:port" of the peer when known; for logs, never for auth.
    public var remoteAddress: String?

    public init(method: String, path: String, query: [String: String] = [:], headers: HTTPHeaders = [:],
                body: Data = Data(), remoteAddress: String? = nil) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.remoteAddress = remoteAddress
    }
}

public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: Data

    public init(status: Int, headers: HTTPHeaders = [:], body: Data = Data()) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public init(status: Int, contentType: String, text: String, headers: HTTPHeaders = [:]) {
        var all = headers
        all.set("Content-Type", contentType)
        self.init(status: status, headers: all, body: Data(text.utf8))
    }

    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// What an HTTP server calls for every complete request. Handlers never throw: every failure
/// becomes a response a person can read.
public typealias HTTPHandler = @Sendable (HTTPRequest) async -> HTTPResponse

/// The client seam: libcurl in production and tests; an in-memory handler where a test wants
/// to script the other side exactly.
public protocol HTTPClient: Sendable {
    /// Sends a request to an absolute URL and returns whatever status came back (4xx/5xx are
    /// responses, not errors). Throws `HTTPClientError` for transport failures and timeouts,
    /// and `CancellationError` when the calling task is cancelled.
    func send(_ request: HTTPClientRequest) async throws -> HTTPResponse
}

public struct HTTPClientRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: HTTPHeaders
    public var body: Data?
    /// The whole exchange (connect + send + receive) must finish within this.
    public var timeout: Duration

    public init(method: String, url: String, headers: HTTPHeaders = [:], body: Data? = nil,
                timeout: Duration = .seconds(10)) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
    }
}

public struct HTTPClientError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable { case connectionFailed, timedOut, transport }
    public var kind: Kind
    /// What failed, without any header values (they may carry secrets).
    public var detail: String

    public init(kind: Kind, detail: String) {
        self.kind = kind
        self.detail = detail
    }

    public var description: String { "HTTP \(kind): \(detail)" }
}

/// An HTTPClient that calls a handler in-process: for tests that script the far side, and for
/// running FakeCalls' API without a socket.
public struct InProcessHTTPClient: HTTPClient {
    public let handler: HTTPHandler

    public init(handler: @escaping HTTPHandler) { self.handler = handler }

    public func send(_ request: HTTPClientRequest) async throws -> HTTPResponse {
        try Task.checkCancellation()
        guard let components = URLComponents(string: request.url) else {
            throw HTTPClientError(kind: .transport, detail: "malformed URL")
        }
        var query: [String: String] = [:]
        for item in components.queryItems ?? [] { query[item.name] = item.value ?? "" }
        return await handler(HTTPRequest(method: request.method, path: components.path, query: query,
                                         headers: request.headers, body: request.body ?? Data()))
    }
}

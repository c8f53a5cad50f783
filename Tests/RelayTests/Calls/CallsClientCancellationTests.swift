import Foundation
import Relay
import Testing

/// A far side that holds each request until the test answers it, and says when one arrived.
final class GatedHTTPClient: HTTPClient, @unchecked Sendable {  // @unchecked: `lock` guards `waiting`.
    let arrived = AsyncStream<String>.makeStream()
    private let lock = NSLock()
    private var waiting: CheckedContinuation<HTTPResponse, any Error>?

    func send(_ request: HTTPClientRequest) async throws -> HTTPResponse {
        // Like a transfer curl aborts: a cancelled wait ends at once.
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                lock.withLock { waiting = continuation }
                arrived.continuation.yield("\(request.method) \(request.url)")
            }
        } onCancel: {
            lock.withLock { () -> CheckedContinuation<HTTPResponse, any Error>? in defer { waiting = nil }; return waiting }?
                .resume(throwing: CancellationError())
        }
    }

    func answer(_ status: Int, _ body: String) {
        lock.withLock { () -> CheckedContinuation<HTTPResponse, any Error>? in defer { waiting = nil }; return waiting }?
            .resume(returning: HTTPResponse(status: status, headers: ["Content-Type": "application/json"], body: Data(body.utf8)))
    }
}

/// What cancelling a caller does to a Calls request in flight: a mutation, once sent, is waited
/// for (Calls may apply it, and only its answer says what to clean up); a read is abandoned.
@Suite struct CallsClientCancellationTests {
    static let created = #"{"sessionId":"0123456789abcdef0123456789abcdef"}"#

    @Test func aSentMutationIsAnsweredEvenWhenItsCallerIsCancelled() async throws {
        let http = GatedHTTPClient()
        let client = CallsClient(appId: "app1", token: CallsHarness.token, http: http)
        let call = Task { try await client.newSession() }
        var arrivals = http.arrived.stream.makeAsyncIterator()
        #expect(await arrivals.next()?.hasSuffix("/sessions/new") == true)
        call.cancel()
        http.answer(201, Self.created)
        // The session exists at Calls: the caller learns its id and can close it.
        #expect(try await call.value == "0123456789abcdef0123456789abcdef")
    }

    @Test func aCancelledCallerSendsNoNewMutation() async throws {
        let http = GatedHTTPClient()
        let client = CallsClient(appId: "app1", token: CallsHarness.token, http: http)
        let call = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await client.newSession()
        }
        await #expect(throws: CancellationError.self) { try await call.value }
        http.arrived.continuation.finish()
        var arrivals = http.arrived.stream.makeAsyncIterator()
        #expect(await arrivals.next() == nil, "nothing reached Calls")
    }

    @Test func aReadInFlightIsAbandonedWhenItsCallerIsCancelled() async throws {
        let http = GatedHTTPClient()
        let client = CallsClient(appId: "app1", token: CallsHarness.token, http: http)
        let call = Task { try await client.sessionState(session: "0123456789abcdef0123456789abcdef") }
        var arrivals = http.arrived.stream.makeAsyncIterator()
        #expect(await arrivals.next()?.hasPrefix("GET ") == true)
        call.cancel()
        await #expect(throws: CancellationError.self) { try await call.value }
    }
}

import Foundation
import Relay
import Testing

/// Timeouts, cancellation, refused connections, misbehaving clients and shutdown.
@Suite struct HTTPFailureTests {
    @Test func clientTimesOutAgainstAHandlerThatNeverAnswersInTime() async throws {
        let gate = Gate()
        let server = try MicroHTTPServer(configuration: .init()) { _ in
            await gate.wait()
            return HTTPResponse(status: 200)
        }
        defer { server.stop() }
        defer { gate.open() }
        let client = try CurlHTTPClient()
        let started = ContinuousClock.now
        let error = await #expect(throws: HTTPClientError.self) {
            _ = try await client.send(HTTPClientRequest(method: "GET", url: "http://127.0.0.1:\(server.port)/slow",
                                                        timeout: .milliseconds(300)))
        }
        let elapsed = ContinuousClock.now - started
        #expect(error?.kind == .timedOut)
        #expect(elapsed >= .milliseconds(250) && elapsed < .seconds(3), "took \(elapsed)")
    }

    @Test func cancellingTheTaskAbortsTheTransferPromptly() async throws {
        let gate = Gate()
        let entered = Counter()
        let server = try MicroHTTPServer(configuration: .init()) { _ in
            entered.increment()
            await gate.wait()
            return HTTPResponse(status: 200)
        }
        defer { server.stop() }
        defer { gate.open() }
        let client = try CurlHTTPClient()
        let task = Task {
            try await client.send(HTTPClientRequest(method: "POST", url: "http://127.0.0.1:\(server.port)/hang",
                                                    body: Data("x".utf8), timeout: .seconds(30)))
        }
        try await HTTPTestSupport.waitUntil("the handler to be running") { entered.count == 1 }
        let cancelledAt = ContinuousClock.now
        task.cancel()
        let result = await task.result
        let elapsed = ContinuousClock.now - cancelledAt
        #expect(throws: CancellationError.self) { try result.get() }
        #expect(elapsed < .milliseconds(500), "cancellation took \(elapsed)")

        // The client still works afterwards.
        gate.open()
        let next = try await client.send(HTTPClientRequest(method: "GET", url: "http://127.0.0.1:\(server.port)/after"))
        #expect(next.status == 200)
    }

    @Test func alreadyCancelledTaskThrowsWithoutSending() async throws {
        let client = try CurlHTTPClient()
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await client.send(HTTPClientRequest(method: "GET", url: "http://127.0.0.1:1/"))
        }
        await #expect(throws: CancellationError.self) { try await task.value }
    }

    @Test func refusedConnectionIsConnectionFailedAndHidesHeaderValues() async throws {
        let client = try CurlHTTPClient()
        let port = HTTPTestSupport.closedPort()
        let error = await #expect(throws: HTTPClientError.self) {
            _ = try await client.send(HTTPClientRequest(
                method: "POST", url: "http://127.0.0.1:\(port)/sessions/new?token=querysecret",
                headers: ["Authorization": "Bearer supersecret-token"], body: Data()))
        }
        #expect(error?.kind == .connectionFailed)
        #expect(error?.detail.contains("supersecret") == false)
        #expect(error?.detail.contains("querysecret") == false)
        #expect(error?.detail.contains("127.0.0.1") == true)
    }

    @Test func headerWithLineBreakIsRefusedBeforeSending() async throws {
        let client = try CurlHTTPClient()
        let error = await #expect(throws: HTTPClientError.self) {
            _ = try await client.send(HTTPClientRequest(method: "GET", url: "http://127.0.0.1:1/",
                                                        headers: ["X-Evil": "a\r\nInjected: yes"]))
        }
        #expect(error?.kind == .transport)
        #expect(error?.detail.contains("Injected") == false)
    }

    @Test func slowLorisClientIsDisconnectedAfterTheConnectionTimeout() async throws {
        let server = try MicroHTTPServer(configuration: .init(connectionTimeoutSeconds: 1)) { _ in
            HTTPResponse(status: 200)
        }
        defer { server.stop() }
        let client = try RawTCPClient(port: server.port)
        let started = ContinuousClock.now
        client.send("GET /api/calls/sessions HT")
        let closed = await client.closedByPeer(within: .seconds(6))
        let elapsed = ContinuousClock.now - started
        #expect(closed)
        #expect(elapsed >= .milliseconds(500), "closed after \(elapsed), before the timeout")

        // The server still serves others.
        let ok = try await CurlHTTPClient().send(HTTPClientRequest(method: "GET", url: "http://127.0.0.1:\(server.port)/"))
        #expect(ok.status == 200)
    }

    @Test func stopWhileRequestsAreInFlightAnswersThemAndDoesNotCrash() async throws {
        let gate = Gate()
        let entered = Counter()
        let server = try MicroHTTPServer(configuration: .init()) { _ in
            entered.increment()
            await gate.wait()
            return HTTPResponse(status: 200)
        }
        let client = try CurlHTTPClient()
        let port = server.port
        let requests = (0..<5).map { _ in
            Task { try await client.send(HTTPClientRequest(method: "GET", url: "http://127.0.0.1:\(port)/wait")) }
        }
        try await HTTPTestSupport.waitUntil("five handlers running") { entered.count == 5 }
        server.stop()
        for request in requests {
            let response = try await request.value
            #expect(response.status == 503)
            #expect(response.headers["Retry-After"] == "1")
        }
        #expect(server.requestsInFlight == 0)
        gate.open() // handlers finish into the void
        server.stop() // idempotent
        await #expect(throws: HTTPClientError.self) {
            _ = try await client.send(HTTPClientRequest(method: "GET", url: "http://127.0.0.1:\(port)/", timeout: .seconds(2)))
        }
    }

    @Test func stopRacingHandlerAnswersNeverCrashes() async throws {
        let client = try CurlHTTPClient()
        for round in 0..<10 {
            let gate = Gate()
            let entered = Counter()
            let server = try MicroHTTPServer(configuration: .init()) { _ in
                entered.increment()
                await gate.wait()
                return HTTPResponse(status: 200)
            }
            let port = server.port
            let requests = (0..<20).map { _ in
                Task { try await client.send(HTTPClientRequest(method: "GET", url: "http://127.0.0.1:\(port)/race")) }
            }
            try await HTTPTestSupport.waitUntil("twenty handlers running") { entered.count == 20 }
            // Answers and shutdown collide: every request ends as 200, 503 or a transport error.
            async let stopped: Void = Task.detached { server.stop(gracePeriod: .milliseconds(round % 2 == 0 ? 0 : 200)) }.value
            gate.open()
            await stopped
            for request in requests {
                switch await request.result {
                case .success(let response): #expect([200, 503].contains(response.status))
                case .failure(let error): #expect(error is HTTPClientError)
                }
            }
        }
    }

    @Test func badHostAndBusyPortAreReported() throws {
        let handler: HTTPHandler = { _ in HTTPResponse(status: 200) }
        let badHost = #expect(throws: HTTPServerError.self) {
            _ = try MicroHTTPServer(configuration: .init(host: "no.such.host.invalid"), handler: handler)
        }
        #expect(badHost?.kind == .badHost)
        let first = try MicroHTTPServer(configuration: .init(), handler: handler)
        defer { first.stop() }
        let busy = #expect(throws: HTTPServerError.self) {
            _ = try MicroHTTPServer(configuration: .init(port: first.port), handler: handler)
        }
        #expect(busy?.kind == .startFailed)
        let invalid = #expect(throws: HTTPServerError.self) {
            _ = try MicroHTTPServer(configuration: .init(port: 70000), handler: handler)
        }
        #expect(invalid?.kind == .invalidConfiguration)
    }

    @Test func listensOnIPv6Loopback() async throws {
        let server = try MicroHTTPServer(configuration: .init(host: "::1")) { request in
            HTTPResponse(status: 200, contentType: "text/plain", text: request.remoteAddress ?? "-")
        }
        defer { server.stop() }
        let response = try await CurlHTTPClient().send(HTTPClientRequest(method: "GET", url: "http://[::1]:\(server.port)/"))
        #expect(response.status == 200)
        #expect(response.text.hasPrefix("[::1]:"))
    }
}

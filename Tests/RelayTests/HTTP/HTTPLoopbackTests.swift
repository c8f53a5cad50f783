import Foundation
import Relay
import Testing

/// CurlHTTPClient ↔ MicroHTTPServer over real loopback sockets.
@Suite struct HTTPLoopbackTests {
    /// Echoes what it received so the test can check every part made the trip.
    static let echo: HTTPHandler = { request in
        var headers: HTTPHeaders = ["Content-Type": "application/octet-stream"]
        headers.add("X-Method", request.method)
        headers.add("X-Path", request.path)
        headers.add("X-Query", request.query.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "&"))
        headers.add("X-Token", request.headers["x-token"] ?? "-")
        headers.add("X-Remote", request.remoteAddress ?? "-")
        return HTTPResponse(status: request.method == "POST" ? 201 : 200, headers: headers, body: request.body)
    }

    @Test(arguments: ["GET", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"])
    func everyMethodMakesTheRoundTrip(method: String) async throws {
        let server = try MicroHTTPServer(configuration: .init(), handler: Self.echo)
        defer { server.stop() }
        let client = try CurlHTTPClient()
        let binary = Data((0..<1024).map { UInt8($0 % 256) })
        let sendsBody = method != "GET" && method != "OPTIONS"
        let response = try await client.send(HTTPClientRequest(
            method: method, url: "http://127.0.0.1:\(server.port)/api/calls/whip/guest%201?b=two%20words&a=1",
            headers: ["X-Token": "abc", "Content-Type": "application/octet-stream"],
            body: sendsBody ? binary : nil))
        #expect(response.status == (method == "POST" ? 201 : 200))
        #expect(response.headers["x-method"] == method)
        #expect(response.headers["X-Path"] == "/api/calls/whip/guest 1")
        #expect(response.headers["X-Query"] == "a=1&b=two words")
        #expect(response.headers["X-Token"] == "abc")
        #expect(response.headers["X-Remote"]?.hasPrefix("127.0.0.1:") == true)
        #expect(response.body == (sendsBody ? binary : Data()))
    }

    @Test func emptyBodyAndHeadWork() async throws {
        let server = try MicroHTTPServer(configuration: .init(), handler: Self.echo)
        defer { server.stop() }
        let client = try CurlHTTPClient()
        let post = try await client.send(HTTPClientRequest(method: "POST", url: "http://127.0.0.1:\(server.port)/x", body: Data()))
        #expect(post.status == 201)
        #expect(post.body.isEmpty)
        let head = try await client.send(HTTPClientRequest(method: "HEAD", url: "http://127.0.0.1:\(server.port)/x"))
        #expect(head.status == 200)
        #expect(head.headers["X-Method"] == "HEAD")
    }

    @Test func handlerThatAwaitsIsAnswered() async throws {
        actor Store {
            var hits = 0
            func hit() -> Int { hits += 1; return hits }
        }
        let store = Store()
        let server = try MicroHTTPServer(configuration: .init()) { request in
            try? await Task.sleep(for: .milliseconds(20))
            let hits = await store.hit()
            return HTTPResponse(status: 200, contentType: "text/plain", text: "hit \(hits) \(request.path)")
        }
        defer { server.stop() }
        let client = try CurlHTTPClient()
        let first = try await client.send(HTTPClientRequest(method: "GET", url: "http://127.0.0.1:\(server.port)/a"))
        let second = try await client.send(HTTPClientRequest(method: "GET", url: "http://127.0.0.1:\(server.port)/b"))
        #expect(first.text == "hit 1 /a")
        #expect(second.text == "hit 2 /b")
        #expect(first.headers["Content-Type"] == "text/plain")
    }

    @Test func bodyOverTheCapIs413AndTheHandlerIsNotCalled() async throws {
        let calls = Counter()
        let server = try MicroHTTPServer(configuration: .init(maxBodyBytes: 1000)) { request in
            calls.increment()
            return HTTPResponse(status: 200, body: request.body)
        }
        defer { server.stop() }
        let client = try CurlHTTPClient()
        let url = "http://127.0.0.1:\(server.port)/api/calls/whip/guest1"

        let atCap = try await client.send(HTTPClientRequest(method: "POST", url: url, body: Data(count: 1000)))
        #expect(atCap.status == 200)
        #expect(atCap.body.count == 1000)
        #expect(calls.count == 1)

        // Content-Length declared over the cap: refused before any body is read.
        let declared = try await client.send(HTTPClientRequest(method: "POST", url: url, body: Data(count: 1001)))
        #expect(declared.status == 413)
        // Chunked, so the server only learns the size while reading.
        let chunked = try await client.send(HTTPClientRequest(
            method: "POST", url: url, headers: ["Transfer-Encoding": "chunked"], body: Data(count: 5000)))
        #expect(chunked.status == 413)
        // 10 MB, the size the WHIP reference names. The server answers 413 as soon as it sees the
        // Content-Length and closes; a client still writing the body may see that close first
        // (EPIPE) instead of the answer. Either way nothing reaches the handler.
        do {
            let huge = try await client.send(HTTPClientRequest(method: "POST", url: url, body: Data(count: 10 << 20)))
            #expect(huge.status == 413)
        } catch let error as HTTPClientError {
            #expect(error.kind == .transport)
        }
        // Chunked and far past the cap: the server stops reading and drops the connection.
        do {
            let endless = try await client.send(HTTPClientRequest(
                method: "POST", url: url, headers: ["Transfer-Encoding": "chunked"], body: Data(count: 4 << 20)))
            #expect(endless.status == 413)
        } catch {
            #expect(error is HTTPClientError)
        }
        #expect(calls.count == 1)

        let after = try await client.send(HTTPClientRequest(method: "POST", url: url, body: Data("ok".utf8)))
        #expect(after.status == 200)
    }

    @Test func hundredConcurrentRequestsAreAllAnswered() async throws {
        let server = try MicroHTTPServer(configuration: .init()) { request in
            HTTPResponse(status: 200, contentType: "text/plain", text: request.query["n"] ?? "?")
        }
        defer { server.stop() }
        let client = try CurlHTTPClient()
        let answers = try await withThrowingTaskGroup(of: (Int, HTTPResponse).self) { group in
            for n in 0..<100 {
                group.addTask {
                    (n, try await client.send(HTTPClientRequest(method: "POST", url: "http://127.0.0.1:\(server.port)/n?n=\(n)",
                                                                body: Data("payload \(n)".utf8))))
                }
            }
            var all: [Int: HTTPResponse] = [:]
            for try await (n, response) in group { all[n] = response }
            return all
        }
        #expect(answers.count == 100)
        for (n, response) in answers {
            #expect(response.status == 200)
            #expect(response.text == "\(n)")
        }
    }

    @Test func descriptorsAndExchangesDoNotLeakOver200Requests() async throws {
        let server = try MicroHTTPServer(configuration: .init()) { request in
            HTTPResponse(status: 200, body: request.body)
        }
        defer { server.stop() }
        let client = try CurlHTTPClient()
        let url = "http://127.0.0.1:\(server.port)/leak"
        for _ in 0..<5 { _ = try await client.send(HTTPClientRequest(method: "GET", url: url)) }
        let before = HTTPTestSupport.openFileDescriptors()

        for n in 0..<200 {
            // Every other request closes its connection, so 100 connections come and go.
            let headers: HTTPHeaders = n % 2 == 0 ? ["Connection": "close"] : [:]
            let response = try await client.send(HTTPClientRequest(method: "PUT", url: url, headers: headers,
                                                                   body: Data(count: n)))
            #expect(response.status == 200)
            #expect(response.body.count == n)
        }
        // Clients come and go too: each owns a thread, a multi handle and its wake-up sockets.
        for _ in 0..<50 {
            let shortLived = try CurlHTTPClient()
            #expect(try await shortLived.send(HTTPClientRequest(method: "GET", url: url)).status == 200)
        }
        try await HTTPTestSupport.waitUntil("server to free every request") { server.requestsInFlight == 0 }
        // At most one kept-alive connection, seen from both ends.
        try await HTTPTestSupport.waitUntil("closed connections to go") { HTTPTestSupport.liveTCPSockets(port: server.port) <= 2 }
        // Other suites run in parallel in this process, hence slack; a per-request or per-client
        // leak would add 100 or more.
        try? await HTTPTestSupport.waitUntil("descriptors to settle") { HTTPTestSupport.openFileDescriptors() - before < 40 }
        let after = HTTPTestSupport.openFileDescriptors()
        #expect(after - before < 40, "open descriptors went from \(before) to \(after)")
    }

    @Test func garbageFromClientsNeverHurtsTheServer() async throws {
        let calls = Counter()
        let server = try MicroHTTPServer(configuration: .init(connectionTimeoutSeconds: 2)) { _ in
            calls.increment()
            return HTTPResponse(status: 200)
        }
        defer { server.stop() }
        var generator = SeededRandom(seed: 0x5EED)
        let hostile: [[UInt8]] = [
            Array("GET / HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "a", count: 100_000))\r\n\r\n".utf8),
            Array("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n".utf8),
            Array("GET /\u{0}\u{ff}\u{fe} HTTP/1.1\r\nHost: x\r\n\r\n".utf8),
            Array("GET /%00%ff%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n".utf8),
        ] + (0..<30).map { _ in (0..<Int.random(in: 1...2000, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) } }
        for bytes in hostile {
            let raw = try RawTCPClient(port: server.port)
            raw.send(bytes)
        }
        let ok = try await CurlHTTPClient().send(HTTPClientRequest(method: "GET", url: "http://127.0.0.1:\(server.port)/fine"))
        #expect(ok.status == 200)
        try await HTTPTestSupport.waitUntil("hostile requests to be freed") { server.requestsInFlight == 0 }
    }
}


import Foundation
import Logging
import Testing
@testable import Relay

@Suite struct WHIPEndpointTests {
    let calls = RecordingCallsAPI()

    func makeEndpoint(token: String? = nil, maxJoins: Int = 16) -> WHIPEndpoint {
        let settings = WHIPEndpoint.Settings(
            guestStatus: { id in id == "guest1" || id == "guest2" ? .enabled : id == "off" ? .disabled : .unknown },
            bearerToken: token, maxJoinsInFlight: maxJoins)
        return WHIPEndpoint(settings: settings, calls: calls, offerPolicy: PermissiveOfferPolicy(),
                            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
    }

    func post(_ endpoint: WHIPEndpoint, guest: String = "guest1", body: String = "v=0\r\noffer\r\n",
              contentType: String = "application/sdp", headers: HTTPHeaders = [:]) async -> HTTPResponse? {
        var all = headers
        all.set("Content-Type", contentType)
        return await endpoint.handle(HTTPRequest(method: "POST", path: "/api/calls/whip/\(guest)", headers: all,
                                                 body: Data(body.utf8)))
    }

    @Test func publishAnswers201WithLocationAndETag() async throws {
        let endpoint = makeEndpoint()
        let response = try #require(await post(endpoint))
        #expect(response.status == 201)
        #expect(response.headers["Content-Type"] == "application/sdp")
        #expect(response.text.hasPrefix("v=0"))
        let location = try #require(response.headers["Location"])
        #expect(location.hasPrefix("/api/calls/whip/guest1/"))
        #expect(response.headers["ETag"] == "\"ufrag\"")
        #expect(response.headers["Access-Control-Allow-Origin"] == "*")
        let published = await calls.calls
        #expect(published.count == 2)
        guard case .publish(_, let tracks) = published.last else { Issue.record("no publish"); return }
        #expect(tracks == [.local("video", mid: "0"), .local("audio", mid: "1")])
    }

    @Test func jsonBodyFromTheOldGuestPageIsAccepted() async throws {
        let response = try #require(await post(endpoint(), body: #"{"sdp":"v=0\r\nx\r\n","type":"offer"}"#,
                                                contentType: "application/json"))
        #expect(response.status == 201)
    }

    private func endpoint() -> WHIPEndpoint { makeEndpoint() }

    @Test(arguments: [
        ("text/plain", "v=0\r\n", 415),
        ("application/sdp", "", 400),
        ("application/sdp", "garbage", 400),
        ("application/json", "{\"nope\":1}", 400),
    ])
    func badBodiesAreRefusedWithAReason(contentType: String, body: String, status: Int) async throws {
        let endpoint = makeEndpoint()
        let response = try #require(await post(endpoint, body: body, contentType: contentType))
        #expect(response.status == status)
        #expect(!response.text.isEmpty)
        #expect(await endpoint.liveSessions().isEmpty)
        #expect(await calls.calls.isEmpty)
    }

    @Test func nonUTF8BodyIs400() async throws {
        let endpoint = makeEndpoint()
        let request = HTTPRequest(method: "POST", path: "/api/calls/whip/guest1",
                                  headers: ["Content-Type": "application/sdp"], body: Data([0x76, 0x3D, 0xFF, 0xFE, 0x00]))
        let response = try #require(await endpoint.handle(request))
        #expect(response.status == 400)
        #expect(response.text.contains("UTF-8"))
    }

    @Test(arguments: [("nobody", 404), ("off", 403), ("..", 404), ("guest1/../../etc", 404), ("gu%2Fest", 404)])
    func unknownDisabledAndMalformedGuests(guest: String, status: Int) async throws {
        let response = try #require(await post(makeEndpoint(), guest: guest))
        #expect(response.status == status)
        #expect(await calls.calls.isEmpty)
    }

    @Test func bearerTokenIsRequiredWhenConfigured() async throws {
        let endpoint = makeEndpoint(token: "s3cret")
        let missing = try #require(await post(endpoint))
        #expect(missing.status == 401)
        #expect(missing.headers["WWW-Authenticate"] == "Bearer")
        #expect(!missing.text.contains("s3cret"))
        let wrong = try #require(await post(endpoint, headers: ["Authorization": "Bearer s3cre"]))
        #expect(wrong.status == 401)
        let right = try #require(await post(endpoint, headers: ["Authorization": "Bearer s3cret"]))
        #expect(right.status == 201)
    }

    @Test func deleteOnLocationEndsTheSessionAndClosesItsTracks() async throws {
        let endpoint = makeEndpoint()
        let created = try #require(await post(endpoint))
        let location = try #require(created.headers["Location"])
        let deleted = try #require(await endpoint.handle(HTTPRequest(method: "DELETE", path: location)))
        #expect(deleted.status == 200)
        #expect(await endpoint.liveSessions().isEmpty)
        #expect(await calls.closedSessions.count == 1)
        let again = try #require(await endpoint.handle(HTTPRequest(method: "DELETE", path: location)))
        #expect(again.status == 404)
    }

    @Test func seedDeletePathWorksToo() async throws {
        let endpoint = makeEndpoint()
        _ = await post(endpoint)
        let deleted = try #require(await endpoint.handle(HTTPRequest(method: "DELETE", path: "/api/calls/session/guest1")))
        #expect(deleted.status == 200)
        #expect(await endpoint.liveSessions().isEmpty)
    }

    @Test func aSecondPostReplacesTheFirstSession() async throws {
        let endpoint = makeEndpoint()
        let first = try #require(await post(endpoint))
        let second = try #require(await post(endpoint))
        #expect(second.status == 201)
        #expect(first.headers["Location"] != second.headers["Location"])
        let live = await endpoint.liveSessions()
        #expect(live.count == 1)
        let closed = await calls.closedSessions
        #expect(closed.count == 1)
        #expect(closed.first != live.first?.sessionId)
        // The first client's Location no longer ends anything.
        let stale = try #require(await endpoint.handle(HTTPRequest(method: "DELETE", path: first.headers["Location"]!)))
        #expect(stale.status == 404)
        #expect(await endpoint.liveSessions().count == 1)
    }

    @Test func optionsAnswersThePreflight() async throws {
        let response = try #require(await makeEndpoint().handle(HTTPRequest(method: "OPTIONS", path: "/api/calls/whip/guest1")))
        #expect(response.status == 204)
        #expect(response.headers["Accept-Post"] == "application/sdp")
        #expect(response.headers["Access-Control-Allow-Headers"]?.contains("If-Match") == true)
        #expect(response.headers["Access-Control-Expose-Headers"]?.contains("Location") == true)
    }

    @Test func patchSaysTrickleIsNotSupportedAndChecksIfMatch() async throws {
        let endpoint = makeEndpoint()
        let created = try #require(await post(endpoint))
        let location = try #require(created.headers["Location"])
        let mismatch = try #require(await endpoint.handle(HTTPRequest(method: "PATCH", path: location, headers: ["If-Match": "\"other\""])))
        #expect(mismatch.status == 412)
        let patch = try #require(await endpoint.handle(HTTPRequest(method: "PATCH", path: location,
                                                                   headers: ["Content-Type": "application/trickle-ice-sdpfrag"])))
        #expect(patch.status == 405)
    }

    @Test func aHundredConcurrentPostsLeaveExactlyOneSession() async throws {
        let endpoint = makeEndpoint()
        let statuses = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<100 { group.addTask { await post(endpoint)?.status ?? 0 } }
            return await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(statuses.allSatisfy { $0 == 201 || $0 == 503 })
        #expect(statuses.contains(201))
        let live = await endpoint.liveSessions()
        #expect(live.count == 1)
        // Every session that was created but replaced got its tracks closed.
        let created = await calls.calls.filter { if case .newSession = $0 { true } else { false } }.count
        #expect(await calls.closedSessions.count == created - 1)
    }

    @Test func callsFailureAnswers502AndLeavesNoSession() async throws {
        struct Down: Error, CustomStringConvertible { var description: String { "Calls is down" } }
        await calls.setFailure(Down())
        let endpoint = makeEndpoint()
        let response = try #require(await post(endpoint))
        #expect(response.status == 502)
        #expect(response.text.contains("Calls is down"))
        #expect(await endpoint.liveSessions().isEmpty)
        await calls.setFailure(nil)
        #expect(try #require(await post(endpoint)).status == 201)
    }

    @Test func otherPathsAreNotOurs() async {
        #expect(await makeEndpoint().handle(HTTPRequest(method: "GET", path: "/metrics")) == nil)
    }
}

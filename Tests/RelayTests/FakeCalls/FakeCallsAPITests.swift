import FakeCalls
import Foundation
import Relay
import Testing

/// FakeCalls hit directly with raw requests (no client): status codes and error bodies.
@Suite("FakeCalls HTTP API")
struct FakeCallsAPITests {
    func errorCode(_ response: HTTPResponse) -> String? {
        (try? JSONDecoder().decode(CallsErrorBody.self, from: response.body))?.errorCode
    }

    func newSession(_ harness: CallsHarness) async throws -> String {
        let response = await harness.raw("POST", "sessions/new", body: "{}")
        #expect(response.status == 201)
        return try JSONDecoder().decode(NewSessionResponse.self, from: response.body).sessionId
    }

    func tracksBody(_ tracks: [TrackObject], offer: String? = nil) -> String {
        let request = TracksRequest(sessionDescription: offer.map { SessionDescription(type: .offer, sdp: $0) },
                                    tracks: tracks)
        return String(decoding: (try? JSONEncoder().encode(request)) ?? Data(), as: UTF8.self)
    }

    @Test func authAndAppChecks() async throws {
        let harness = try CallsHarness()
        let missing = await harness.raw("POST", "sessions/new", token: nil)
        #expect(missing.status == 401)
        #expect(errorCode(missing) == "unauthorized")
        #expect(await harness.raw("POST", "sessions/new", token: "nope").status == 401)
        #expect(await harness.raw("POST", "sessions/new", app: "unknownapp").status == 404)
        let unversioned = await harness.fake.handle(HTTPRequest(
            method: "POST", path: "/apps/\(CallsHarness.appId)/sessions/new",
            headers: ["Authorization": "Bearer \(CallsHarness.token)"]))
        #expect(unversioned.status == 404)
    }

    @Test func sessionsNewIs201AndIgnoresAnOffer() async throws {
        let harness = try CallsHarness()
        let empty = await harness.raw("POST", "sessions/new")
        #expect(empty.status == 201)
        let withOffer = await harness.raw("POST", "sessions/new",
                                          body: #"{"sessionDescription":{"type":"offer","sdp":"v=0"}}"#)
        #expect(withOffer.status == 201)
        let decoded = try JSONDecoder().decode(NewSessionResponse.self, from: withOffer.body)
        #expect(decoded.sessionDescription == nil)
        #expect(decoded.sessionId.count == 32)
        #expect(await harness.raw("GET", "sessions/new").status == 405)
        #expect(await harness.raw("POST", "sessions/new", body: "{not json").status == 400)
    }

    @Test func theSeedsWrongPathsAnswerLikeCalls() async throws {
        let harness = try CallsHarness()
        let session = try await newSession(harness)
        #expect(await harness.raw("GET", "sessions/\(session)/tracks").status == 405)
        #expect(await harness.raw("POST", "sessions/\(session)/tracks/subscribe", body: "{}").status == 404)
        #expect(await harness.raw("GET", "sessions/\(session)/tracks/new").status == 405)
        #expect(await harness.raw("GET", "sessions/ffffffffffffffffffffffffffffffff").status == 404)
    }

    @Test func bodyErrors() async throws {
        let harness = try CallsHarness()
        let session = try await newSession(harness)
        let garbage = await harness.raw("POST", "sessions/\(session)/tracks/new", body: "{]")
        #expect(garbage.status == 400)
        #expect(errorCode(garbage) == "decoding_error")
        let wrongCase = await harness.raw("POST", "sessions/\(session)/tracks/new", body: #"{"Tracks":[]}"#)
        #expect(errorCode(wrongCase) == "decoding_error")

        let mixed = await harness.raw("POST", "sessions/\(session)/tracks/new", body: tracksBody(
            [.local("video", mid: "0"), .remote("video", session: session)], offer: CallsHarness.browserOffer))
        #expect(mixed.status == 406)
        #expect(errorCode(mixed) == "invalid_params")

        let missingMid = await harness.raw("POST", "sessions/\(session)/tracks/new", body: tracksBody(
            [.local("video", mid: "7")], offer: CallsHarness.browserOffer))
        #expect(missingMid.status == 406)

        let tooMany = await harness.raw("POST", "sessions/\(session)/tracks/new", body: tracksBody(
            (0..<65).map { .remote("t\($0)", session: session) }))
        #expect(tooMany.status == 406)

        for bad in ["hello", "v=0\r\ns=-\r\n", "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"] {
            let response = await harness.raw("POST", "sessions/\(session)/tracks/new",
                                             body: tracksBody([.local("video", mid: "0")], offer: bad))
            #expect(response.status == 400)
            #expect(errorCode(response) == "invalid_session_description")
        }
        let noOffer = await harness.raw("PUT", "sessions/\(session)/renegotiate",
                                        body: #"{"sessionDescription":{"type":"answer","sdp":"v=0"}}"#)
        #expect(noOffer.status == 400)
        #expect(errorCode(noOffer) == "invalid_session_description")
    }

    @Test func overlappingRawMutationsGet406() async throws {
        let gate = CallsTestGate()
        let harness = try CallsHarness(fakeSleep: { _ in await gate.pass() })
        let publisher = try await harness.publishGuest()
        let subscriber = try await newSession(harness)
        await harness.fake.setMutationLatency(.milliseconds(1))
        let body = tracksBody([.remote("video", session: publisher)])
        async let first = harness.raw("POST", "sessions/\(subscriber)/tracks/new", body: body)
        try await callsWaitUntil("first mutation in progress") { await gate.waiting == 1 }
        let second = await harness.raw("POST", "sessions/\(subscriber)/tracks/new",
                                       body: tracksBody([.remote("audio", session: publisher)]))
        #expect(second.status == 406)
        #expect(errorCode(second) == "session_error")
        #expect(second.text.contains("another mutation is in progress"))
        // Reads are not mutations.
        #expect(await harness.raw("GET", "sessions/\(subscriber)").status == 200)
        // Another session is not affected.
        let other = try await newSession(harness)
        async let third = harness.raw("POST", "sessions/\(other)/tracks/new", body: body)
        await gate.open()
        let (firstResponse, thirdResponse) = await (first, third)
        #expect(firstResponse.status == 200)
        #expect(thirdResponse.status == 200)
        #expect(await harness.fake.stats.overlappingMutationsRejected == 1)
    }

    @Test func closedSessionAnswers410() async throws {
        let harness = try CallsHarness()
        let publisher = try await harness.publishGuest()
        let close = await harness.raw("PUT", "sessions/\(publisher)/tracks/close",
                                      body: #"{"tracks":[{"mid":"0"},{"mid":"1"}],"force":false}"#)
        #expect(close.status == 200)
        for (method, path) in [("GET", ""), ("PUT", "/renegotiate"), ("POST", "/tracks/new"), ("PUT", "/tracks/close")] {
            let response = await harness.raw(method, "sessions/\(publisher)\(path)", body: "{}")
            #expect(response.status == 410)
            #expect(errorCode(response) == "session_error")
        }
        #expect(await harness.fake.openSessionIds().isEmpty)
    }

    @Test func subscribersSeeTheirTracksGoInactiveWhenThePublisherLeaves() async throws {
        let harness = try CallsHarness()
        let publisher = try await harness.publishGuest()
        let subscriber = try await harness.client.newSession()
        let response = try await harness.client.subscribe(session: subscriber,
                                                          tracks: [.remote("video", session: publisher)], offer: nil)
        try await harness.client.renegotiate(session: subscriber,
                                             answer: CallsHarness.answer(mids: response.tracks?.compactMap(\.mid) ?? []))
        #expect(try await harness.client.sessionState(session: subscriber).tracks.map(\.status) == ["active"])
        _ = try await harness.client.closeTracks(session: publisher, mids: ["0", "1"], force: true)
        #expect(try await harness.client.sessionState(session: subscriber).tracks.map(\.status) == ["inactive"])
        let again = await #expect(throws: CallsError.self) {
            try await harness.client.subscribe(session: subscriber, tracks: [.remote("audio", session: publisher)],
                                               offer: nil)
        }
        #expect(again?.code == "not_found_track_error")
    }

    @Test func closingARemoteTrackWithoutForceOffersAgain() async throws {
        let harness = try CallsHarness()
        let publisher = try await harness.publishGuest()
        let subscriber = try await harness.client.newSession()
        let response = try await harness.client.subscribe(
            session: subscriber, tracks: [.remote("video", session: publisher), .remote("audio", session: publisher)],
            offer: nil)
        let mids = response.tracks?.compactMap(\.mid) ?? []
        try await harness.client.renegotiate(session: subscriber, answer: CallsHarness.answer(mids: mids))
        let closed = try await harness.client.closeTracks(session: subscriber, mids: [mids[0]], force: false)
        #expect(closed.requiresImmediateRenegotiation == true)
        #expect(closed.sessionDescription?.type == .offer)
        try await harness.client.renegotiate(session: subscriber, answer: CallsHarness.answer(mids: [mids[1]]))
        let unknown = try await harness.client.closeTracks(session: subscriber, mids: ["99"], force: true)
        #expect(unknown.tracks?.first?.errorCode == "not_found_track_error")
    }

    @Test func renegotiateRejectsAnOfferAndActpass() async throws {
        let harness = try CallsHarness()
        let publisher = try await harness.publishGuest()
        let subscriber = try await harness.client.newSession()
        _ = try await harness.client.subscribe(session: subscriber, tracks: [.remote("video", session: publisher)],
                                               offer: nil)
        let asOffer = await harness.raw("PUT", "sessions/\(subscriber)/renegotiate",
                                        body: #"{"sessionDescription":{"type":"offer","sdp":"v=0"}}"#)
        #expect(asOffer.status == 400)
        let actpass = "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\na=setup:actpass\r\n"
        let error = await #expect(throws: CallsError.self) {
            try await harness.client.renegotiate(session: subscriber, answer: actpass)
        }
        #expect(error?.code == "invalid_session_description")
        #expect(error?.httpStatus == 400)
    }

    @Test func aPublisherCannotPublishTheSameTrackNameTwice() async throws {
        let harness = try CallsHarness()
        let publisher = try await harness.publishGuest()
        let error = await #expect(throws: CallsError.self) {
            try await harness.client.publish(session: publisher, offer: CallsHarness.browserOffer,
                                             tracks: [.local("video", mid: "0")])
        }
        #expect(error?.code == "invalid_params")
    }

    @Test func randomBodiesAndPathsNeverCrashAndAre4xx() async throws {
        let harness = try CallsHarness()
        let session = try await newSession(harness)
        var state: UInt64 = 0xca11
        func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 33
        }
        let pieces = ["{", "}", "[", "]", "\"tracks\"", ":", ",", "\"location\"", "\"local\"", "\"remote\"",
                      "\"mid\"", "\"0\"", "null", "true", "\"sessionDescription\"", "\"type\"", "\"offer\"",
                      "\"sdp\"", "\"v=0\\r\\n\"", "\"force\""]
        let paths = ["tracks/new", "renegotiate", "tracks/close"]
        for round in 0..<300 {
            let body = (0..<Int(next() % 24)).map { _ in pieces[Int(next()) % pieces.count] }.joined()
            let path = paths[round % paths.count]
            let method = path == "tracks/new" ? "POST" : "PUT"
            let response = await harness.raw(method, "sessions/\(session)/\(path)", body: body)
            #expect((200..<500).contains(response.status), "\(method) \(path) \(body) → \(response.status)")
        }
        let weirdPaths = ["", "/", "/v1", "/v1/apps", "/v1/apps//sessions/new", "/v1/apps/\(CallsHarness.appId)/sessions",
                          "/v1/apps/\(CallsHarness.appId)/sessions/\(session)/tracks/new/extra"]
        for path in weirdPaths {
            let response = await harness.fake.handle(HTTPRequest(
                method: "POST", path: path, headers: ["Authorization": "Bearer \(CallsHarness.token)"]))
            #expect((400..<500).contains(response.status), "\(path) → \(response.status)")
        }
    }
}

import FakeCalls
import Foundation
import Relay
import Testing

/// CallsClient against FakeCalls, in-process.
@Suite("CallsClient against FakeCalls")
struct CallsClientTests {
    @Test func newSessionReturnsA32HexId() async throws {
        let harness = try CallsHarness()
        let first = try await harness.client.newSession()
        let second = try await harness.client.newSession()
        #expect(first.count == 32)
        #expect(first.allSatisfy { $0.isHexDigit })
        #expect(first != second)
        let open = await harness.fake.openSessionIds()
        #expect(open.sorted() == [first, second].sorted())
    }

    @Test func publishAnswersTheBrowserOfferWithIceLitePassive() async throws {
        let harness = try CallsHarness()
        let session = try await harness.client.newSession()
        let response = try await harness.client.publish(session: session, offer: CallsHarness.browserOffer,
                                                        tracks: [.local("video", mid: "0"), .local("audio", mid: "1")])
        let answer = try #require(response.sessionDescription)
        #expect(answer.type == .answer)
        #expect(response.requiresImmediateRenegotiation == false)
        #expect(answer.sdp.contains("a=ice-lite"))
        #expect(answer.sdp.contains("a=setup:passive"))
        #expect(answer.sdp.contains("a=recvonly"))
        #expect(!answer.sdp.contains("a=sendonly"))
        let mids = try MinimalSDPMediaSide().mediaSections(of: answer.sdp).map(\.mid)
        #expect(mids == ["0", "1"])
        #expect(response.tracks?.map(\.mid) == ["0", "1"])
        #expect(response.tracks?.map(\.trackName) == ["video", "audio"])
    }

    @Test func pullSubscribeOffersThenRenegotiateActivatesTracks() async throws {
        let harness = try CallsHarness()
        let publisher = try await harness.publishGuest()
        let subscriber = try await harness.client.newSession()
        let response = try await harness.client.subscribe(
            session: subscriber, tracks: [.remote("video", session: publisher), .remote("audio", session: publisher)],
            offer: nil)
        let offer = try #require(response.sessionDescription)
        #expect(offer.type == .offer)
        #expect(response.requiresImmediateRenegotiation == true)
        #expect(offer.sdp.contains("a=ice-lite"))
        #expect(offer.sdp.contains("a=setup:actpass"))
        let mids = try #require(response.tracks?.compactMap { $0.mid })
        #expect(mids.count == 2)
        #expect(try MinimalSDPMediaSide().mediaSections(of: offer.sdp).map(\.mid) == mids)

        let before = try await harness.client.sessionState(session: subscriber)
        #expect(before.tracks.map(\.status) == ["inactive", "inactive"])
        try await harness.client.renegotiate(session: subscriber, answer: CallsHarness.answer(mids: mids))
        let after = try await harness.client.sessionState(session: subscriber)
        #expect(after.tracks.map(\.status) == ["active", "active"])
        #expect(after.tracks.map(\.location) == [.remote, .remote])
        #expect(after.tracks.map(\.sessionId) == [publisher, publisher])
        let published = try await harness.client.sessionState(session: publisher)
        #expect(published.tracks.map(\.trackName) == ["video", "audio"])
        #expect(published.tracks.map(\.location) == [.local, .local])
    }

    @Test func clientOfferSubscribeGetsAnAnswer() async throws {
        let harness = try CallsHarness()
        let publisher = try await harness.publishGuest()
        let subscriber = try await harness.client.newSession()
        let response = try await harness.client.subscribe(
            session: subscriber, tracks: [.remote("video", session: publisher), .remote("audio", session: publisher)],
            offer: CallsHarness.relayRecvOffer)
        let answer = try #require(response.sessionDescription)
        #expect(answer.type == .answer)
        #expect(response.requiresImmediateRenegotiation == false)
        #expect(answer.sdp.contains("a=sendonly"))
        #expect(response.tracks?.map(\.mid) == ["0", "1"])
    }

    @Test func closingTheLastTrackEndsTheSessionWith410() async throws {
        let harness = try CallsHarness()
        let publisher = try await harness.publishGuest()
        let first = try await harness.client.closeTracks(session: publisher, mids: ["0"], force: true)
        #expect(first.tracks?.map(\.mid) == ["0"])
        #expect(try await harness.client.sessionState(session: publisher).tracks.map(\.mid) == ["1"])
        _ = try await harness.client.closeTracks(session: publisher, mids: ["1"], force: false)
        let error = await #expect(throws: CallsError.self) {
            try await harness.client.sessionState(session: publisher)
        }
        #expect(error?.httpStatus == 410)
        #expect(error?.code == "session_error")
        #expect(error?.retryable == false)
        #expect(error?.description.contains("connect again") == true)
    }

    @Test func plainSubscribeThrowsARetryableTrackErrorAtOnce() async throws {
        let harness = try CallsHarness(flow: .whenMarked)
        let publisher = try await harness.publishGuest()
        let subscriber = try await harness.client.newSession()
        let error = await #expect(throws: CallsError.self) {
            try await harness.client.subscribe(session: subscriber, tracks: [.remote("video", session: publisher)],
                                               offer: nil)
        }
        #expect(error?.code == "not_found_track_error")
        #expect(error?.retryable == true)
        #expect(error?.trackErrors.map(\.trackName) == ["video"])
        #expect(error?.partialResponse == nil)
        #expect(harness.sleeps.waits.isEmpty)
    }

    @Test func subscribeWhenFlowingRetriesWithBackoffUntilThePublisherFlows() async throws {
        let harness = try CallsHarness(flow: .afterRefusedAttempts(4))
        let publisher = try await harness.publishGuest()
        let subscriber = try await harness.client.newSession()
        let response = try await harness.client.subscribeWhenFlowing(
            session: subscriber, tracks: [.remote("video", session: publisher), .remote("audio", session: publisher)])
        #expect(response.sessionDescription?.type == .offer)
        #expect(response.tracks?.allSatisfy { $0.errorCode == nil && $0.mid != nil } == true)
        #expect(harness.sleeps.waits == [.milliseconds(50), .milliseconds(100), .milliseconds(200), .milliseconds(400)])
    }

    @Test func subscribeWhenFlowingWaitsForMarkFlowing() async throws {
        let harness = try CallsHarness(flow: .whenMarked)
        let fake = harness.fake
        let publisher = try await harness.publishGuest()
        let subscriber = try await harness.client.newSession()
        // The publisher's browser "starts sending" during the third backoff wait.
        let waits = CallsSleepRecorder()
        let client = CallsClient(appId: CallsHarness.appId, token: CallsHarness.token,
                                 http: InProcessHTTPClient(handler: harness.fake.handler), sleep: { delay in
            try await waits.sleep(delay)
            if waits.waits.count == 3 { await fake.markFlowing(session: publisher) }
        })
        let response = try await client.subscribeWhenFlowing(session: subscriber,
                                                             tracks: [.remote("video", session: publisher)])
        #expect(response.tracks?.first?.mid != nil)
        #expect(waits.waits.count == 3)
    }

    @Test func subscribeWhenFlowingGivesUpAfterTheBudget() async throws {
        let harness = try CallsHarness(flow: .whenMarked)
        let publisher = try await harness.publishGuest()
        let subscriber = try await harness.client.newSession()
        let error = await #expect(throws: CallsError.self) {
            try await harness.client.subscribeWhenFlowing(session: subscriber,
                                                          tracks: [.remote("video", session: publisher)])
        }
        #expect(error?.code == "not_found_track_error")
        let waits = harness.sleeps.waits
        #expect(waits.prefix(6) == [.milliseconds(50), .milliseconds(100), .milliseconds(200), .milliseconds(400),
                                    .milliseconds(800), .seconds(1)])
        let total = waits.reduce(Duration.zero, +)
        #expect(total <= .seconds(15))
        #expect(total + .seconds(1) > .seconds(15))
    }

    @Test func subscribingToATrackNobodyPublishedFailsPerTrack() async throws {
        let harness = try CallsHarness()
        let publisher = try await harness.publishGuest()
        let subscriber = try await harness.client.newSession()
        let error = await #expect(throws: CallsError.self) {
            try await harness.client.subscribe(
                session: subscriber,
                tracks: [.remote("video", session: publisher), .remote("screen", session: publisher)], offer: nil)
        }
        // video was added, screen was not: the caller gets the offer to answer.
        #expect(error?.trackErrors.map(\.trackName) == ["screen"])
        #expect(error?.partialResponse?.sessionDescription?.type == .offer)
    }

    @Test func concurrentMutationsThroughTheClientAreSerialized() async throws {
        let gate = CallsTestGate()
        // The fake's mutation latency waits on the gate: a mutation stays "in progress" in the fake
        // until the test opens it (latency is off while setting up).
        let harness = try CallsHarness(fakeSleep: { _ in await gate.pass() })
        let publisher = try await harness.publishGuest()
        let subscriber = try await harness.client.newSession()
        await harness.fake.setMutationLatency(.milliseconds(1))
        let processedBefore = await harness.fake.stats.mutationsProcessed
        let client = harness.client

        async let first = client.subscribe(session: subscriber, tracks: [.remote("video", session: publisher)],
                                           offer: nil)
        try await callsWaitUntil("first mutation held inside the fake") { await gate.waiting == 1 }
        async let second = client.subscribe(session: subscriber, tracks: [.remote("audio", session: publisher)],
                                            offer: nil)
        try await callsWaitUntil("second mutation queued in the client") {
            await client.queuedMutations(for: subscriber) == 2
        }
        #expect(await harness.fake.stats.mutationsProcessed == processedBefore + 1)
        await gate.open()
        let (one, two) = try await (first, second)
        #expect(one.tracks?.first?.errorCode == nil)
        #expect(two.tracks?.first?.errorCode == nil)
        #expect(await harness.fake.stats.overlappingMutationsRejected == 0)
        #expect(await harness.fake.stats.mutationsProcessed == processedBefore + 2)
        #expect(await client.queuedMutations(for: subscriber) == 0)
        #expect(try await client.sessionState(session: subscriber).tracks.map(\.trackName) == ["video", "audio"])
    }

    @Test func differentSessionsDoNotWaitForEachOther() async throws {
        let harness = try CallsHarness()
        let publisher = try await harness.publishGuest()
        let sessionA = try await harness.client.newSession()
        let sessionB = try await harness.client.newSession()
        let gate = CallsTestGate()
        let fake = harness.fake
        let client = CallsClient(appId: CallsHarness.appId, token: CallsHarness.token,
                                 http: InProcessHTTPClient(handler: { request in
                                     if request.path.contains(sessionA) { await gate.pass() }
                                     return await fake.handle(request)
                                 }))
        async let blocked = client.subscribe(session: sessionA, tracks: [.remote("video", session: publisher)],
                                             offer: nil)
        try await callsWaitUntil("A held") { await gate.waiting == 1 }
        let other = try await client.subscribe(session: sessionB, tracks: [.remote("video", session: publisher)],
                                               offer: nil)
        #expect(other.sessionDescription?.type == .offer)
        await gate.open()
        _ = try await blocked
    }

    @Test func cancellationDuringBackoffStopsAtOnce() async throws {
        let harness = try CallsHarness(flow: .whenMarked)
        let publisher = try await harness.publishGuest()
        let subscriber = try await harness.client.newSession()
        let sleeping = CallsTestGate()
        await sleeping.open()  // only its arrival count is used here
        let client = CallsClient(appId: CallsHarness.appId, token: CallsHarness.token,
                                 http: InProcessHTTPClient(handler: harness.fake.handler), sleep: { delay in
            Task { await sleeping.pass() }
            try await Task.sleep(for: .seconds(3600))
        })
        let task = Task {
            try await client.subscribeWhenFlowing(session: subscriber, tracks: [.remote("video", session: publisher)])
        }
        try await callsWaitUntil("client in backoff") { await sleeping.arrivals >= 1 }
        let started = ContinuousClock.now
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(ContinuousClock.now - started < .seconds(30))
        #expect(await client.queuedMutations(for: subscriber) == 0)
    }

    @Test func wrongTokenAndWrongAppExplainWhatToCheck() async throws {
        let wrongSecret = "wrong-secret-value-123456"
        let harness = try CallsHarness(token: wrongSecret)
        let unauthorized = await #expect(throws: CallsError.self) { try await harness.client.newSession() }
        #expect(unauthorized?.httpStatus == 401)
        #expect(unauthorized?.retryable == false)
        #expect(unauthorized?.description.contains("calls_api_token") == true)
        #expect(unauthorized?.description.contains("RELAYD_CALLS_API_TOKEN") == true)
        #expect(unauthorized?.description.contains(wrongSecret) == false)

        let fake = harness.fake
        let otherApp = CallsClient(appId: "ffffffffffffffffffffffffffffffff", token: CallsHarness.token,
                                   http: InProcessHTTPClient(handler: fake.handler))
        let notFound = await #expect(throws: CallsError.self) { try await otherApp.newSession() }
        #expect(notFound?.httpStatus == 404)
        #expect(notFound?.description.contains("calls_app_id") == true)

        let noVersion = CallsClient(baseURL: "https://rtc.live.cloudflare.com", appId: CallsHarness.appId,
                                    token: CallsHarness.token, http: InProcessHTTPClient(handler: fake.handler))
        let unversioned = await #expect(throws: CallsError.self) { try await noVersion.newSession() }
        #expect(unversioned?.httpStatus == 404)
    }

    @Test func theSecretNeverReachesErrorsOrLogs() async throws {
        let harness = try CallsHarness(flow: .whenMarked, retryPolicy: RetryPolicy(maxAttempts: 3))
        var errors: [CallsError] = []
        let publisher = try await harness.publishGuest()
        let subscriber = try await harness.client.newSession()
        do { _ = try await harness.client.subscribeWhenFlowing(session: subscriber,
                                                               tracks: [.remote("video", session: publisher)]) }
        catch let error as CallsError { errors.append(error) }
        do { try await harness.client.renegotiate(session: subscriber, answer: "garbage") }
        catch let error as CallsError { errors.append(error) }
        _ = try await harness.client.closeTracks(session: publisher, mids: ["0", "1"], force: true)
        do { _ = try await harness.client.sessionState(session: publisher) }
        catch let error as CallsError { errors.append(error) }
        #expect(errors.count == 3)
        for error in errors {
            #expect(!error.description.contains(CallsHarness.token))
            #expect(!"\(error.trackErrors)".contains(CallsHarness.token))
        }
        let lines = harness.log.lines
        #expect(lines.contains { $0.contains("FakeCalls request") })
        #expect(lines.contains { $0.contains("Calls request") && $0.contains("tracks/new") })
        #expect(lines.contains { $0.contains("retrying") })
        #expect(!lines.contains { $0.contains(CallsHarness.token) })
        #expect(!lines.contains { $0.contains("Bearer") })
    }
}


@testable import FakeCalls
import Foundation
import Testing
@testable import Relay

/// Issue #8's fault suite, the Cloudflare Calls part, on the whole chain (WHIP POST → relayd →
/// FakeCalls → relay → FakeMediaMTX). Each case injects one Calls failure into FakeCalls and
/// asserts what the guest gets back from WHIP, what relayd's status says, what the log advises
/// (never with the API token), and that nothing is left behind at Calls or in relayd.
@Suite(.serialized) struct CallsFaultSuiteTests {
    typealias Chain = CallsFaultChain
    typealias Fault = FakeCallsFault

    /// Every relay and WHIP session of the guest ended, and no Calls session holds a track.
    func leaveAndCheckNothingLeaks(_ chain: Chain, _ location: String?) async throws {
        if let location { #expect(try await chain.delete(location) == 200) }
        let clean = await chain.nothingLeaks()
        let held = await chain.fake.api.sessionsHoldingTracks()
        #expect(clean, "left at Calls: \(held)")
        #expect(try await chain.sessions().isEmpty)
        chain.checkLogsHoldNoToken()
    }

    // MARK: slow, 425, 5xx: retried, then it works

    /// Calls takes 5 s to answer the publish. relayd's Calls request timeout is 10 s, so the guest
    /// waits and gets its answer; the relay then flows as usual.
    @Test func slowPublishStillAnswersTheGuestAndTheRelayFlows() async throws {
        let chain = try await Chain(faults: [Fault(.tracksNew, target: .publisher, action: .delay(.seconds(5)), times: 1)])
        let (response, took) = try await chain.post()
        #expect(response.status == 201, "\(response.text)")
        #expect(took >= .seconds(5) && took < .seconds(9), "the WHIP answer took \(took)")
        #expect(await chain.fake.api.faultHits() == [1])
        #expect(await chain.flows())
        #expect(try await chain.sessions().first?.state == "relaying")
        #expect(await chain.fake.api.stats.overlappingMutationsRejected == 0)
        #expect(chain.errorLines.isEmpty, "\(chain.errorLines)")
        try await leaveAndCheckNothingLeaks(chain, response.headers["Location"])
        await chain.finish()
    }

    /// 425 (the session's peer connection not connected yet) on the publish and on the relay's
    /// subscribe: retried with backoff, then 200, and the relay flows.
    @Test func tooEarlyIsRetriedOnBothSides() async throws {
        let chain = try await Chain(faults: [
            .status(425, "session_error", on: .tracksNew, target: .publisher, times: 3),
            .status(425, "session_error", on: .tracksNew, target: .subscriber, times: 2),
        ])
        let (response, _) = try await chain.post()
        #expect(response.status == 201, "\(response.text)")
        #expect(await chain.flows())
        #expect(await chain.fake.api.faultHits() == [3, 2])
        let status = try #require(try await chain.sessions().first)
        #expect(status.state == "relaying")
        #expect(status.reconnects == 0, "the 425s were retried inside one subscribe, not by a new leg")
        #expect(chain.errorLines.isEmpty, "\(chain.errorLines)")
        try await leaveAndCheckNothingLeaks(chain, response.headers["Location"])
        await chain.finish()
    }

    @Test func serverErrorsAFewTimesAreRetriedWithBackoff() async throws {
        let chain = try await Chain(faults: [
            .status(500, "retryable_transient_error", on: .sessionsNew, times: 2),
            .status(503, "retryable_transient_error", on: .tracksNew, target: .publisher, times: 2),
            .status(500, "retryable_transient_error", on: .renegotiate, target: .subscriber, times: 2),
        ])
        let (response, _) = try await chain.post()
        #expect(response.status == 201, "\(response.text)")
        #expect(await chain.flows())
        #expect(await chain.fake.api.faultHits() == [2, 2, 2])
        #expect(try await chain.sessions().first?.reconnects == 0)
        #expect(chain.errorLines.isEmpty, "\(chain.errorLines)")
        try await leaveAndCheckNothingLeaks(chain, response.headers["Location"])
        await chain.finish()
    }

    // MARK: failures the guest hears about

    /// Calls refuses the guest's SDP: WHIP says 422 with Calls' reason; the session relayd had
    /// just created is closed, no relay starts.
    @Test func rejectedOfferIsA422AndTheNewSessionIsClosed() async throws {
        let chain = try await Chain(faults: [
            .status(406, "invalid_session_description", on: .tracksNew, target: .publisher, times: 1),
        ])
        let (response, _) = try await chain.post()
        #expect(response.status == 422)
        #expect(response.text.contains("POST tracks/new (publish)"), "\(response.text)")
        #expect(response.text.contains("invalid_session_description"))
        #expect(response.text.contains("the SDP was rejected"))
        #expect(chain.errorLines.contains { $0.contains("Publishing guest1 to Cloudflare Calls failed") })
        // sessions/new had created a session: relayd closed it again.
        #expect(await chain.fake.api.openSessionIds().isEmpty)
        #expect(await chain.relay.relayStatuses().isEmpty)
        try await leaveAndCheckNothingLeaks(chain, nil)
        await chain.finish()
    }

    /// Calls fails every publish with 500: relayd retries within its budget, then answers 503
    /// with Retry-After and says it gave up; nothing is left at Calls.
    @Test func serverErrorsForeverGiveUpWithinTheBudget() async throws {
        let chain = try await Chain(faults: [.status(500, "retryable_transient_error", on: .tracksNew, target: .publisher)])
        let (response, took) = try await chain.post()
        #expect(response.status == 503)
        #expect(response.headers["Retry-After"] != nil)
        #expect(response.text.contains("POST tracks/new (publish)"), "\(response.text)")
        #expect(response.text.contains("gave up after"))
        #expect(took < Chain.callsBudget + .seconds(2), "took \(took)")
        let attempts = try #require(await chain.fake.api.faultHits().first)
        #expect(attempts >= 4, "retried with backoff")
        #expect(chain.errorLines.contains { $0.contains("server-side problem") && $0.contains("gave up after") })
        #expect(await chain.fake.api.openSessionIds().isEmpty)
        try await leaveAndCheckNothingLeaks(chain, nil)
        await chain.finish()
    }

    /// relay.calls_base_url points at a closed port: the guest hears 503 at once (3 connection
    /// attempts, not the production 15 s retry budget) and the log names the setting to check.
    @Test func unreachableCallsIsA503QuicklyWithTheSettingToCheck() async throws {
        let port = try LifecycleChain.freeTCPPort()
        let chain = try await Chain(callsBaseURL: "http://127.0.0.1:\(port)/v1", callsRetry: .default)
        let (response, took) = try await chain.post()
        #expect(response.status == 503)
        #expect(took < .seconds(2), "took \(took)")
        #expect(response.text.contains("could not reach Calls for POST sessions/new"), "\(response.text)")
        #expect(response.text.contains("relay.calls_base_url"))
        #expect(chain.errorLines.contains { $0.contains("relay.calls_base_url") })
        // relayd is still serving.
        #expect(try await chain.sessions().isEmpty)
        #expect(await chain.relay.relayStatuses().isEmpty)
        #expect(await chain.fake.api.stats.requests == 0)
        chain.checkLogsHoldNoToken()
        await chain.finish()
    }

    /// Calls answers the publish 200 with garbage (its tracks were added): 502 naming the call;
    /// relayd closes the tracks it cannot know about for sure.
    @Test func malformedPublishAnswerIsA502AndItsTracksAreClosed() async throws {
        let chain = try await Chain(faults: [Fault(.tracksNew, target: .publisher, action: .malformedJSON, times: 1)])
        let (response, _) = try await chain.post()
        #expect(response.status == 502)
        #expect(response.text.contains("POST tracks/new (publish)"), "\(response.text)")
        #expect(response.text.contains("cannot read"))
        #expect(response.text.contains("relay.calls_base_url"))
        #expect(chain.capture.contains("Closed the tracks of the failed publish"))
        try await leaveAndCheckNothingLeaks(chain, nil)
        await chain.finish()
    }

    @Test func truncatedSessionAnswerIsA502NamingTheCall() async throws {
        let chain = try await Chain(faults: [Fault(.sessionsNew, action: .truncatedBody, times: 1)])
        let (response, _) = try await chain.post()
        #expect(response.status == 502)
        #expect(response.text.contains("POST sessions/new"), "\(response.text)")
        #expect(response.text.contains("cannot read"))
        try await leaveAndCheckNothingLeaks(chain, nil)
        await chain.finish()
    }

    // MARK: failures of the relay's leg

    /// The subscriber's answer to tracks/new is cut short (its tracks were added at Calls): the
    /// leg fails, relayd asks Calls what the session holds and closes it, then resubscribes.
    @Test func truncatedSubscribeAnswerClosesThatLegAndResubscribes() async throws {
        let chain = try await Chain(faults: [Fault(.tracksNew, target: .subscriber, action: .truncatedBody, times: 1)])
        let (response, _) = try await chain.post()
        #expect(response.status == 201)
        #expect(await chain.flows())
        let status = try #require(try await chain.sessions().first)
        #expect(status.reconnects == 1)
        let subscriber = try #require(status.subscriberSessionId)
        // Only the guest and the second leg hold tracks: the first leg's were closed.
        #expect(await chain.fake.api.sessionsHoldingTracks() == [status.sessionId, subscriber].sorted())
        #expect(chain.errorLines.contains {
            $0.contains("lost its SFU leg") && $0.contains("POST tracks/new (subscribe)") && $0.contains("cannot read")
        }, "\(chain.errorLines)")
        try await leaveAndCheckNothingLeaks(chain, response.headers["Location"])
        await chain.finish()
    }

    /// 410 on the subscriber's renegotiate (its tracks were added) or tracks/new: the leg ends,
    /// Calls says the guest still publishes, so relayd resubscribes with a new session; the
    /// failed leg holds nothing.
    @Test(arguments: [Fault.Endpoint.renegotiate, .tracksNew])
    func goneSubscriberSessionResubscribes(endpoint: Fault.Endpoint) async throws {
        let chain = try await Chain(faults: [.status(410, "session_error", on: endpoint, target: .subscriber, times: 1)])
        let (response, _) = try await chain.post()
        #expect(response.status == 201)
        #expect(await chain.flows())
        let status = try #require(try await chain.sessions().first)
        #expect(status.state == "relaying")
        #expect(status.reconnects == 1)
        let subscriber = try #require(status.subscriberSessionId)
        #expect(await chain.fake.api.sessionsHoldingTracks() == [status.sessionId, subscriber].sorted())
        #expect(chain.errorLines.contains { $0.contains("lost its SFU leg") && $0.contains("the session has ended") },
                "\(chain.errorLines)")
        try await leaveAndCheckNothingLeaks(chain, response.headers["Location"])
        await chain.finish()
    }

    /// 410 on every subscribe: the guest still publishes, so relayd keeps the guest and keeps
    /// resubscribing at its backoff (at most every `backoffMax`), saying why in the status; no
    /// failed leg holds tracks, and DELETE still frees everything.
    @Test func subscribeGoneEveryTimeKeepsRetryingAtItsBackoffWithoutLeaking() async throws {
        let chain = try await Chain(faults: [.status(410, "session_error", on: .tracksNew, target: .subscriber)])
        let (response, _) = try await chain.post()
        #expect(response.status == 201)
        #expect(await LifecycleChain.eventually(.seconds(5)) {
            ((try? await chain.sessions())?.first?.reconnects ?? 0) >= 3
        })
        let status = try #require(try await chain.sessions().first)
        #expect(["subscribing", "reconnecting"].contains(status.state))
        #expect(status.lastError?.contains("the session has ended") == true, "\(status.lastError ?? "-")")
        #expect(await chain.fake.api.sessionsHoldingTracks() == [status.sessionId])
        // Logged once, not once per leg.
        #expect(chain.errorLines.filter { $0.contains("lost its SFU leg") }.count == 1, "\(chain.errorLines)")
        try await leaveAndCheckNothingLeaks(chain, response.headers["Location"])
        await chain.finish()
    }

    /// The relay is stopped while its subscribe is still being processed at Calls (the guest's
    /// publish stays): the subscribe runs to its answer, so the relay knows the mids it got and
    /// closes them; the subscriber session holds nothing once Calls has finished the request.
    @Test func aRelayStoppedDuringAnInFlightSubscribeLeavesNoTracks() async throws {
        let chain = try await Chain(faults: [Fault(.tracksNew, target: .subscriber, action: .delay(.milliseconds(800)), times: 1)])
        let (response, _) = try await chain.post()
        #expect(response.status == 201)
        #expect(await LifecycleChain.eventually { await chain.fake.api.faultHits() == [1] })
        #expect(try await chain.sessions().first?.state == "subscribing")
        let guest = try #require(await chain.relay.whip.liveSessions().first)
        await chain.relay.endRelay(for: guest)
        // FakeCalls finishes the subscribe whether or not anyone still waits for its answer.
        #expect(await LifecycleChain.eventually(.seconds(3)) { await chain.fake.api.mutationsInProgress() == 0 })
        #expect(await chain.fake.api.sessionsHoldingTracks() == [guest.sessionId])
        #expect(!chain.capture.contains("Could not close the subscriber tracks"))
        try await leaveAndCheckNothingLeaks(chain, response.headers["Location"])
        await chain.finish()
    }

    // MARK: the guest's side goes away

    /// The guest published but never sends media: every subscribe meets not_found_track_error,
    /// retried with backoff for its budget; Calls says the tracks are inactive twice, so the relay
    /// ends with a clear reason and the guest's session is closed.
    @Test func aTrackThatNeverFlowsEndsTheRelayAfterItsBudget() async throws {
        let chain = try await Chain(fixtures: false, publisherFlow: .whenMarked)
        let (response, _) = try await chain.post()
        #expect(response.status == 201)
        let started = ContinuousClock.now
        #expect(await LifecycleChain.eventually(.seconds(3)) {
            (try? await chain.sessions())?.first?.lastError?.contains("no flowing tracks") == true
        })
        #expect(await chain.nothingLeaks(timeout: .seconds(10)))
        let took = ContinuousClock.now - started
        // Two legs of one subscribe budget each (the second after "inactive" once), then close.
        #expect(took >= Chain.subscribeBudget && took < Chain.subscribeBudget * 2 + .seconds(3), "took \(took)")
        #expect(chain.errorLines.contains { $0.contains("Calls has no flowing tracks ['video', 'audio']") })
        #expect(chain.capture.contains("Ending relay for guest1: the guest's tracks at Calls are inactive"))
        #expect(chain.capture.contains("Ending session of guest1: the guest's publish ended at Calls"))
        #expect(await chain.fake.api.stats.requests < 60, "the subscribe retries back off")
        try await leaveAndCheckNothingLeaks(chain, nil)
        await chain.finish()
    }

    /// The guest's browser goes silent without DELETE (its PeerConnection stops sending; Calls
    /// reports its tracks inactive): relayd's poll notices, ends the relay, closes the guest's
    /// tracks and forgets its WHIP session. (A session closed at Calls is
    /// LifecycleWHIPTests.aGuestGoneAtCallsIsForgottenByWHIPToo.)
    @Test func aGuestGoneSilentIsNoticedAndForgotten() async throws {
        let chain = try await Chain()
        let (response, _) = try await chain.post()
        #expect(response.status == 201)
        #expect(await chain.flows())
        let publisher = try #require(try await chain.sessions().first?.sessionId)
        await chain.fake.api.markSilent(session: publisher)
        #expect(await chain.nothingLeaks(timeout: .seconds(6)))
        #expect(chain.capture.contains("Ending relay for guest1: the guest's tracks at Calls are inactive"))
        #expect(await chain.mediamtx.waitUntilGone(path: "guest1", timeout: .seconds(3)))
        #expect(try await chain.delete(try #require(response.headers["Location"])) == 404)
        try await leaveAndCheckNothingLeaks(chain, nil)
        await chain.finish()
    }
}

@Suite struct CallsFaultSpecTests {
    @Test func specsParse() {
        #expect(FakeCallsFault(spec: "tracks/new@publisher=delay:5s")
            == FakeCallsFault(.tracksNew, target: .publisher, action: .delay(.seconds(5))))
        #expect(FakeCallsFault(spec: "tracks/new=425x3")
            == .status(425, "session_error", on: .tracksNew, times: 3))
        #expect(FakeCallsFault(spec: "renegotiate@subscriber=410")?.target == .subscriber)
        #expect(FakeCallsFault(spec: "sessions/new@2=500")?.action
            == .respond(status: 500, errorCode: "retryable_transient_error", description: "injected by FakeCalls (HTTP 500)"))
        #expect(FakeCallsFault(spec: "tracks/new=406:invalid_session_description")?.action
            == .respond(status: 406, errorCode: "invalid_session_description", description: "injected by FakeCalls (HTTP 406)"))
        #expect(FakeCallsFault(spec: "any=malformed")?.action == .malformedJSON)
        #expect(FakeCallsFault(spec: "session=truncatedx2")?.times == 2)
        for bad in ["", "tracks/new", "nope=500", "tracks/new=200", "tracks/new@0=500", "tracks/new=delay:soon"] {
            #expect(FakeCallsFault(spec: bad) == nil, "\(bad)")
        }
    }

    /// The rules in isolation on the in-process API: first N matches only, the Nth session, and a
    /// delayed mutation during which another one of the session gets 406.
    @Test func rulesMatchTheirRequestsAndADelayedMutationStillExcludesOthers() async throws {
        let api = FakeCallsAPI(options: FakeCallsOptions(appId: "a", token: "t"))
        let headers: HTTPHeaders = ["Authorization": "Bearer t", "Content-Type": "application/json"]
        func call(_ method: String, _ path: String, _ body: String = "{}") async -> HTTPResponse {
            await api.handle(HTTPRequest(method: method, path: "/v1/apps/a/\(path)", headers: headers, body: Data(body.utf8)))
        }
        await api.setFaults([.status(500, "retryable_transient_error", on: .sessionsNew, target: .nthSession(2), times: 1)])
        #expect(await call("POST", "sessions/new").status == 201)
        #expect(await call("POST", "sessions/new").status == 500)
        let third = await call("POST", "sessions/new")
        #expect(third.status == 201)
        #expect(await api.faultHits() == [1])
        let session = try JSONDecoder().decode(NewSessionResponse.self, from: third.body).sessionId

        await api.setFaults([FakeCallsFault(.tracksClose, action: .delay(.milliseconds(300)))])
        let close = #"{"tracks":[{"mid":"9"}],"force":true}"#
        async let slow = call("PUT", "sessions/\(session)/tracks/close", close)
        #expect(await LifecycleChain.eventually(.seconds(2)) { await api.faultHits() == [1] })
        #expect(await call("PUT", "sessions/\(session)/renegotiate", #"{"sessionDescription":{"type":"answer","sdp":"v=0"}}"#).status == 406)
        #expect(await slow.status == 200)
        #expect(await api.stats.overlappingMutationsRejected == 1)
    }
}

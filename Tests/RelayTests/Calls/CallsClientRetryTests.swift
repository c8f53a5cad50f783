import Foundation
import Relay
import Testing

/// A far side that answers from a script, one response per request, and records the requests.
actor ScriptedCalls {
    enum Step: Sendable {
        case respond(Int, String)
        case fail(HTTPClientError.Kind)
    }

    private var steps: [Step]
    private(set) var requests: [HTTPClientRequest] = []

    init(_ steps: [Step]) { self.steps = steps }

    func next(_ request: HTTPClientRequest) throws -> HTTPResponse {
        requests.append(request)
        let step = steps.count > 1 ? steps.removeFirst() : (steps.first ?? .respond(500, ""))
        switch step {
        case .respond(let status, let body):
            return HTTPResponse(status: status, headers: ["Content-Type": "application/json"], body: Data(body.utf8))
        case .fail(let kind):
            throw HTTPClientError(kind: kind, detail: "scripted")
        }
    }
}

struct ScriptedCallsHTTPClient: HTTPClient {
    let script: ScriptedCalls
    func send(_ request: HTTPClientRequest) async throws -> HTTPResponse { try await script.next(request) }
}

@Suite("CallsClient retries and error mapping")
struct CallsClientRetryTests {
    static let session = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    static let created = #"{"sessionId":"0123456789abcdef0123456789abcdef"}"#

    func client(_ steps: [ScriptedCalls.Step], policy: RetryPolicy = .default) -> (CallsClient, ScriptedCalls, CallsSleepRecorder) {
        let script = ScriptedCalls(steps)
        let sleeps = CallsSleepRecorder()
        let client = CallsClient(appId: "app1", token: CallsHarness.token, http: ScriptedCallsHTTPClient(script: script),
                                 retryPolicy: policy, sleep: sleeps.sleep)
        return (client, script, sleeps)
    }

    @Test func sendsBearerJSONToTheVersionedPath() async throws {
        let (client, script, _) = client([.respond(201, Self.created)])
        _ = try await client.newSession()
        let request = try #require(await script.requests.first)
        #expect(request.method == "POST")
        #expect(request.url == "https://rtc.live.cloudflare.com/v1/apps/app1/sessions/new")
        #expect(request.headers["Authorization"] == "Bearer \(CallsHarness.token)")
        #expect(request.headers["Content-Type"] == "application/json")
        #expect(request.body == Data("{}".utf8))
    }

    @Test func retries425ThenSucceeds() async throws {
        let tooEarly = #"{"errorCode":"session_error","errorDescription":"not connected yet"}"#
        let (client, script, sleeps) = client([.respond(425, tooEarly), .respond(425, tooEarly), .respond(201, Self.created)])
        #expect(try await client.newSession() == "0123456789abcdef0123456789abcdef")
        #expect(await script.requests.count == 3)
        #expect(sleeps.waits == [.milliseconds(50), .milliseconds(100)])
    }

    @Test func retries5xxAndRetryableTransientError() async throws {
        let transient = #"{"errorCode":"retryable_transient_error","errorDescription":"try again"}"#
        let (client, script, sleeps) = client([.respond(500, transient), .respond(503, ""), .respond(400, transient),
                                               .respond(200, "{}")])
        try await client.renegotiate(session: Self.session, answer: "v=0")
        #expect(await script.requests.count == 4)
        #expect(sleeps.waits == [.milliseconds(50), .milliseconds(100), .milliseconds(200)])
    }

    @Test func givesUpAfterMaxAttempts() async throws {
        let (client, script, sleeps) = client([.respond(500, "")], policy: RetryPolicy(maxAttempts: 3))
        let error = await #expect(throws: CallsError.self) { try await client.newSession() }
        #expect(error?.httpStatus == 500)
        #expect(error?.code == "http_500")
        #expect(error?.retryable == true)
        #expect(await script.requests.count == 3)
        #expect(sleeps.waits.count == 2)
    }

    @Test(arguments: [
        (410, #"{"errorCode":"session_error","errorDescription":"gone"}"#, "session_error"),
        (400, #"{"errorCode":"decoding_error","errorDescription":"bad"}"#, "decoding_error"),
        (406, #"{"errorCode":"invalid_params","errorDescription":"mixed"}"#, "invalid_params"),
        (400, #"{"errorCode":"invalid_session_description","errorDescription":"sdp"}"#, "invalid_session_description"),
        (405, "", "http_405"),
        (401, "Unauthorized", "unauthorized"),
    ])
    func nonRetryableStatusesFailAtOnce(status: Int, body: String, code: String) async throws {
        let (client, script, sleeps) = client([.respond(status, body), .respond(200, "{}")])
        let error = await #expect(throws: CallsError.self) {
            try await client.renegotiate(session: Self.session, answer: "v=0")
        }
        #expect(error?.httpStatus == status)
        #expect(error?.code == code)
        #expect(error?.retryable == false)
        #expect(await script.requests.count == 1)
        #expect(sleeps.waits.isEmpty)
    }

    @Test func anOverlapFromElsewhereIsNotRetriedAndSaysWhy() async throws {
        let overlap = #"{"errorCode":"session_error","errorDescription":"another mutation is in progress"}"#
        let (client, script, _) = client([.respond(406, overlap), .respond(200, "{}")])
        let error = await #expect(throws: CallsError.self) {
            try await client.renegotiate(session: Self.session, answer: "v=0")
        }
        #expect(error?.retryable == false)
        #expect(error?.description.contains("second relayd") == true)
        #expect(await script.requests.count == 1)
    }

    @Test func newSessionWants201() async throws {
        let (client, _, _) = client([.respond(200, Self.created)])
        let error = await #expect(throws: CallsError.self) { try await client.newSession() }
        #expect(error?.code == "bad_response")
    }

    @Test func garbageBodyIsABadResponse() async throws {
        let (client, _, _) = client([.respond(201, "<html>proxy</html>")])
        let error = await #expect(throws: CallsError.self) { try await client.newSession() }
        #expect(error?.code == "bad_response")
        #expect(error?.description.contains("calls_base_url") == true)
    }

    @Test func connectFailuresRetryButTimedOutMutationsDoNot() async throws {
        let (newSessionClient, _, sleeps) = client([.fail(.connectionFailed), .respond(201, Self.created)])
        _ = try await newSessionClient.newSession()
        #expect(sleeps.waits.count == 1)

        let (mutating, script, _) = client([.fail(.timedOut), .respond(200, "{}")])
        let error = await #expect(throws: CallsError.self) {
            try await mutating.renegotiate(session: Self.session, answer: "v=0")
        }
        #expect(error?.code == "timeout")
        #expect(error?.retryable == false)
        #expect(await script.requests.count == 1)
    }

    @Test func publishTrackErrorsAreNotRetryable() async throws {
        let body = #"{"tracks":[{"trackName":"video","mid":"0","errorCode":"invalid_track","errorDescription":"no"}]}"#
        let (client, script, _) = client([.respond(200, body)])
        let error = await #expect(throws: CallsError.self) {
            try await client.publish(session: Self.session, offer: "v=0", tracks: [.local("video", mid: "0")])
        }
        #expect(error?.retryable == false)
        #expect(error?.trackErrors.first?.errorCode == "invalid_track")
        #expect(await script.requests.count == 1)
    }

    @Test func emptyTrackErrorIsRetriedBySubscribeWhenFlowing() async throws {
        let empty = #"{"tracks":[{"sessionId":"p","trackName":"video","errorCode":"empty_track_error","errorDescription":"no media"}]}"#
        let ok = #"{"requiresImmediateRenegotiation":true,"sessionDescription":{"type":"offer","sdp":"v=0"},"tracks":[{"sessionId":"p","trackName":"video","mid":"0"}]}"#
        let (client, _, sleeps) = client([.respond(200, empty), .respond(200, ok)])
        let response = try await client.subscribeWhenFlowing(session: Self.session,
                                                             tracks: [.remote("video", session: "p")])
        #expect(response.tracks?.first?.mid == "0")
        #expect(sleeps.waits == [.milliseconds(50)])
    }

    @Test func serverTextEchoingTheTokenIsScrubbed() async throws {
        let echo = #"{"errorCode":"invalid_params","errorDescription":"bad header Bearer \#(CallsHarness.token)"}"#
        let (client, _, _) = client([.respond(406, echo)])
        let error = await #expect(throws: CallsError.self) {
            try await client.closeTracks(session: Self.session, mids: ["0"], force: true)
        }
        #expect(error?.description.contains(CallsHarness.token) == false)
        #expect(error?.description.contains("[redacted]") == true)
    }

    @Test func sessionIdsThatAreNotIdsNeverReachAURL() async throws {
        let (client, script, _) = client([.respond(200, "{}")])
        let error = await #expect(throws: CallsError.self) {
            try await client.renegotiate(session: "../../other", answer: "v=0")
        }
        #expect(error?.code == "invalid_session_id")
        #expect(await script.requests.isEmpty)
    }
}

@Suite("RetryPolicy")
struct RetryPolicyTests {
    @Test func defaultScheduleDoublesToOneSecondWithinFifteenSeconds() {
        var schedule = RetryPolicy.default.makeSchedule()
        var waits: [Duration] = []
        while let delay = schedule.nextDelay() { waits.append(delay) }
        #expect(waits.prefix(6) == [.milliseconds(50), .milliseconds(100), .milliseconds(200), .milliseconds(400),
                                    .milliseconds(800), .seconds(1)])
        #expect(waits.dropFirst(5).allSatisfy { $0 == .seconds(1) })
        #expect(waits.reduce(.zero, +) <= .seconds(15))
        #expect(waits.count == 18)
    }

    @Test func jitterIsBoundedAndDeterministicForASeed() {
        let policy = RetryPolicy(jitter: 0.5, jitterSeed: 42)
        func run() -> [Duration] {
            var schedule = policy.makeSchedule()
            return (0..<8).compactMap { _ in schedule.nextDelay() }
        }
        let first = run()
        #expect(first == run())
        let plain = [50, 100, 200, 400, 800, 1000, 1000, 1000].map { Duration.milliseconds($0) }
        for (jittered, base) in zip(first, plain) {
            #expect(jittered <= base)
            #expect(jittered >= base / 2)
        }
        #expect(first != plain)
    }

    @Test func noneNeverRetries() {
        var schedule = RetryPolicy.none.makeSchedule()
        #expect(schedule.nextDelay() == nil)
    }
}

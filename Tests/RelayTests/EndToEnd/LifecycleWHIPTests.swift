import FakeCalls
import Foundation
import Testing
@testable import Relay

/// The WHIP side of a guest's life with the relay behind it: a second POST from the same guest
/// replaces the first session end to end, and DELETE frees everything.
@Suite struct LifecycleWHIPTests {
    typealias Chain = LifecycleChain

    func post(_ chain: Chain, _ http: CurlHTTPClient) async throws -> HTTPResponse {
        try await http.send(HTTPClientRequest(
            method: "POST", url: "http://127.0.0.1:\(chain.relay.port)/api/calls/whip/guest1",
            headers: ["Content-Type": "application/sdp"],
            body: Data(try FixturePaths.text("sdp/chromium-default.sdp").utf8)))
    }

    @Test func aRepeatedPostReplacesTheSessionAndDeleteFreesEverything() async throws {
        let chain = try Chain()
        let http = try CurlHTTPClient()
        let first = try await post(chain, http)
        #expect(first.status == 201, "\(first.text)")
        #expect(await Chain.eventually { await chain.status()?.media?.connection == "connected" })
        let old = try #require(await chain.status())
        let oldSubscriber = try #require(old.subscriberSessionId)

        let second = try await post(chain, http)
        #expect(second.status == 201, "\(second.text)")
        #expect(await Chain.eventually {
            let now = await chain.status()
            return now?.sessionId != old.sessionId && now?.media?.connection == "connected"
        })
        let current = try #require(await chain.status())
        let newSubscriber = try #require(current.subscriberSessionId)
        #expect(newSubscriber != oldSubscriber)
        // The old publisher and the old subscriber hold nothing any more.
        #expect(await chain.fake.api.sessionsHoldingTracks() == [current.sessionId, newSubscriber].sorted())
        #expect(await chain.relay.relayStatuses().count == 1)
        #expect(chain.capture.contains("joined again: ending its previous session \(old.sessionId)"))

        let location = try #require(second.headers["Location"])
        let deleted = try await http.send(HTTPClientRequest(method: "DELETE", url: "http://127.0.0.1:\(chain.relay.port)\(location)"))
        #expect(deleted.status == 200)
        #expect(await chain.relay.relayStatuses().isEmpty)
        #expect(await chain.fake.api.sessionsHoldingTracks().isEmpty)
        #expect(await chain.relay.whip.liveSessions().isEmpty)
        await chain.finish()
    }

    /// The guest's browser vanished and Calls closed its session: the relay ends itself and the
    /// WHIP side forgets the guest, so the sessions list is empty without any DELETE.
    @Test func aGuestGoneAtCallsIsForgottenByWHIPToo() async throws {
        let chain = try Chain()
        let http = try CurlHTTPClient()
        #expect(try await post(chain, http).status == 201)
        #expect(await Chain.eventually { await chain.status()?.media?.connection == "connected" })
        let guest = try #require(await chain.relay.whip.liveSessions().first)
        #expect(await chain.closeAtCalls(session: guest.sessionId, mids: guest.tracks.map(\.mid)) == 200)
        #expect(await Chain.eventually(.seconds(5)) { await chain.relay.whip.liveSessions().isEmpty })
        #expect(await chain.relay.relayStatuses().isEmpty)
        #expect(await chain.fake.api.sessionsHoldingTracks().isEmpty)
        let list = try await http.send(HTTPClientRequest(method: "GET", url: "http://127.0.0.1:\(chain.relay.port)/api/calls/sessions"))
        #expect(list.text == "{\"sessions\":[]}")
        #expect(chain.capture.contains("Ending session of guest1: the guest's publish ended at Calls"))
        #expect(!chain.capture.contains("Could not close the Calls tracks"))
        await chain.finish()
    }
}

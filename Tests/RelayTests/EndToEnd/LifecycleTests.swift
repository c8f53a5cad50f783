import FakeCalls
import FakeMediaMTX
import Foundation
import Logging
import Testing
@testable import Relay

/// Guests coming and going on the whole chain (FakeCalls fixture media over real ICE/DTLS/SRTP →
/// relayd → RTMP → FakeMediaMTX): every way a relay ends frees what it opened, and a relay whose
/// SFU leg or RTMP side fails comes back by itself.
@Suite struct LifecycleTests {
    typealias Chain = LifecycleChain

    @Test func twoGuestsAtOnceAndOneLeavingLeavesTheOtherFlowing() async throws {
        let chain = try Chain()
        let session1 = try await chain.addPublisher()
        let session2 = try await chain.addPublisher()
        let guest1 = chain.guest("guest1", session: session1)
        await chain.relay.startRelay(for: guest1)
        await chain.relay.startRelay(for: chain.guest("guest2", session: session2))
        #expect(await chain.mediamtx.waitUntilReady(path: "guest1", timeout: .seconds(10)))
        #expect(await chain.mediamtx.waitUntilReady(path: "guest2", timeout: .seconds(10)))
        #expect(await Chain.eventually { chain.frames("guest1") >= 20 && chain.frames("guest2") >= 20 })
        let subscriber1 = try #require(await chain.status("guest1")?.subscriberSessionId)
        #expect(await chain.fake.api.sessionsHoldingTracks().contains(subscriber1))

        await chain.relay.endRelay(for: guest1)
        #expect(await chain.mediamtx.waitUntilGone(path: "guest1", timeout: .seconds(5)))
        let before = chain.frames("guest2")
        #expect(await Chain.eventually { chain.frames("guest2") >= before + 30 }, "guest2 stopped receiving frames")
        #expect(chain.mediamtx.path(named: "guest2")?.ready == true)
        let statuses = await chain.relay.relayStatuses()
        #expect(statuses.map(\.guestId) == ["guest2"])
        #expect(statuses.first?.state == "relaying")
        let holding = await chain.fake.api.sessionsHoldingTracks()
        #expect(!holding.contains(subscriber1))
        #expect(holding.count == 3, "\(holding)")  // both publishers + guest2's subscriber
        await chain.finish()
    }

    @Test func statusReportsMeasuredFiguresWithStableKeys() async throws {
        let chain = try Chain()
        let session = try await chain.addPublisher()
        await chain.relay.startRelay(for: chain.guest(session: session))
        #expect(await chain.mediamtx.waitUntilReady(path: "guest1", timeout: .seconds(10)))
        #expect(await Chain.eventually { await chain.status()?.video?.fps ?? 0 > 15 })  // the first window holds the start-up
        let status = try #require(await chain.status())
        #expect(status.state == "relaying")
        #expect(status.reconnects == 0)
        #expect(status.lastError == nil)
        #expect(status.video?.codecIn == "h264" && status.video?.codecOut == "h264 (passthrough)")
        #expect(status.video?.width == 320 && status.video?.height == 240)
        #expect((status.video?.fps ?? 0) > 15 && (status.video?.fps ?? 0) < 50, "fixture plays at 30 fps")
        #expect(status.audio?.codecIn == "opus" && status.audio?.codecOut == "aac")
        // The fixture is a steady tone: well above silence, below full scale.
        #expect((status.audio?.levelDb ?? -100) > -40 && (status.audio?.levelDb ?? 0) < -3, "\(String(describing: status.audio))")
        #expect((status.media?.bitrateKbps ?? 0) > 10)
        #expect(status.media?.packetsLost == 0 && status.media?.lossPercent == 0)
        #expect(status.rtmp?.state == "publishing")
        #expect((status.secondsInState ?? -1) >= 0)

        // The JSON an operator reads: the documented keys.
        let response = await RelayRoutes(whip: chain.relay.whip, guests: chain.relay.guests)
            .handle(HTTPRequest(method: "GET", path: "/api/calls/sessions"))
        let json = try JSONSerialization.jsonObject(with: response.body) as? [String: Any]
        let entry = try #require((json?["sessions"] as? [[String: Any]])?.first)
        for key in ["guestId", "sessionId", "subscriberSessionId", "tracks", "since", "state", "stateSince",
                    "secondsInState", "reconnects", "media", "video", "audio", "rtmp"] {
            #expect(entry[key] != nil, "missing \(key)")
        }
        let media = try #require(entry["media"] as? [String: Any])
        for key in ["connection", "rtpReceived", "bitrateKbps", "packetsLost", "lossPercent", "nacksSent", "plisSent"] {
            #expect(media[key] != nil, "missing media.\(key)")
        }
        let rtmp = try #require(entry["rtmp"] as? [String: Any])
        for key in ["url", "state", "publishes", "reconnects", "videoFramesSent", "audioFramesSent", "queuedBytes"] {
            #expect(rtmp[key] != nil, "missing rtmp.\(key)")
        }
        await chain.finish()
    }

    /// The guest's publish ends at Calls (its session closed): the relay notices through its
    /// poll/silence check and frees everything, with no DELETE.
    @Test func aPublisherClosedAtCallsEndsItsRelay() async throws {
        let chain = try Chain()
        let session = try await chain.addPublisher()
        await chain.relay.startRelay(for: chain.guest(session: session))
        #expect(await chain.mediamtx.waitUntilReady(path: "guest1", timeout: .seconds(10)))
        #expect(await chain.closeAtCalls(session: session, mids: ["0", "1"]) == 200)
        #expect(await Chain.eventually(.seconds(5)) { await chain.relay.relayStatuses().isEmpty }, "relay still listed")
        #expect(await chain.mediamtx.waitUntilGone(path: "guest1", timeout: .seconds(5)))
        #expect(await chain.fake.api.sessionsHoldingTracks().isEmpty)
        #expect(chain.capture.contains("Ending relay for guest1: the guest's Calls session ended"))
        await chain.finish()
    }

    /// The SFU ends the relay's leg (DTLS close_notify) while the guest still publishes: the
    /// relay resubscribes on a new session and the path comes back.
    @Test func anSFUCloseNotifyWhileTheGuestPublishesResubscribes() async throws {
        let chain = try Chain()
        let session = try await chain.addPublisher()
        await chain.relay.startRelay(for: chain.guest(session: session))
        #expect(await chain.mediamtx.waitUntilReady(path: "guest1", timeout: .seconds(10)))
        let first = try #require(await chain.status()?.subscriberSessionId)
        #expect(await chain.closeAtCalls(session: first, mids: ["0", "1"]) == 200)
        let resubscribed = await Chain.eventually {
            let status = await chain.status()
            return status?.state == "relaying" && status?.reconnects == 1 && status?.subscriberSessionId != first
        }
        let afterwards = await chain.status()
        #expect(resubscribed, "\(String(describing: afterwards))")
        #expect(chain.capture.contains("DTLS close_notify"))
        #expect(chain.capture.contains("connected to the SFU again"))
        let frames = chain.frames("guest1")
        #expect(await Chain.eventually { chain.frames("guest1") > frames + 20 || chain.mediamtx.recordings(path: "guest1").count > 1 })
        #expect(await chain.mediamtx.waitUntilReady(path: "guest1", timeout: .seconds(5)))
        let current = await chain.status()?.subscriberSessionId ?? ""
        #expect(await chain.fake.api.sessionsHoldingTracks().sorted() == [session, current].sorted())
        await chain.finish()
    }

    /// MediaMTX is not running: the status and the log say so in plain words (once, not once per
    /// retry); when it starts on that port, the relay publishes and the path becomes ready.
    @Test func mediaMTXNotListeningIsSaidOnceThenTheRelayPublishesWhenItStarts() async throws {
        let chain = try Chain(startMediaMTX: false)
        let session = try await chain.addPublisher()
        await chain.relay.startRelay(for: chain.guest(session: session))
        let expected = "MediaMTX is not listening on 127.0.0.1:\(chain.rtmpPort): is mediamtx running? check `systemctl status mediamtx`"
        let said = await Chain.eventually { await chain.status()?.rtmp?.lastError?.hasPrefix(expected) == true }
        let meanwhile = await chain.status()
        #expect(said, "\(String(describing: meanwhile))")
        #expect(await Chain.eventually { await chain.status()?.rtmp?.reconnects ?? 0 >= 3 })
        let status = try #require(await chain.status())
        #expect(status.rtmp?.state == "reconnecting" || status.rtmp?.state == "connecting")
        #expect(status.lastError?.hasPrefix(expected) == true)
        let logged = chain.capture.entries(at: .error).filter { $0.message.contains("MediaMTX is not listening") }
        #expect(logged.count == 1, "\(logged)")
        #expect(logged.first?.message.contains("retrying every 0.5 s at most") == true)

        try chain.mediamtx.start()
        #expect(await chain.mediamtx.waitUntilReady(path: "guest1", timeout: .seconds(10)))
        #expect(await Chain.eventually { await chain.status()?.rtmp?.state == "publishing" })
        #expect(await chain.status()?.lastError == nil)
        await chain.finish()
    }

    /// relayd stopping ends every guest: Calls tracks closed, RTMP publishes ended, nothing left.
    @Test func relaydStoppingEndsEveryGuestCleanly() async throws {
        let chain = try Chain()
        let sessions = [try await chain.addPublisher(), try await chain.addPublisher()]
        await chain.relay.startRelay(for: chain.guest("guest1", session: sessions[0]))
        await chain.relay.startRelay(for: chain.guest("guest2", session: sessions[1]))
        #expect(await chain.mediamtx.waitUntilReady(path: "guest1", timeout: .seconds(10)))
        #expect(await chain.mediamtx.waitUntilReady(path: "guest2", timeout: .seconds(10)))
        #expect(await chain.fake.api.sessionsHoldingTracks().count == 4)
        await chain.relay.shutdown()
        #expect(await chain.relay.relayStatuses().isEmpty)
        #expect(await chain.fake.api.sessionsHoldingTracks() == sessions.sorted())
        #expect(await chain.mediamtx.waitUntilGone(path: "guest1", timeout: .seconds(5)))
        #expect(await chain.mediamtx.waitUntilGone(path: "guest2", timeout: .seconds(5)))
        await chain.finish()
    }

    /// A wrong API token: the status says which setting to check, the log says it once while the
    /// relay keeps retrying (the token may be fixed without restarting the guest).
    @Test func aWrongTokenIsReportedOnceWithTheSettingToCheck() async throws {
        let chain = try Chain(calls: { $0.baseURL })
        let session = try await chain.addPublisher()
        let wrong = try RelayServer(config: RelayConfig(
            cloudflare: CloudflareConfig(callsAppId: Chain.appId, callsAPIToken: Secret("not-the-token")),
            guests: [GuestConfig(id: "guest1")], mediamtx: MediaMTXConfig(rtmpPort: chain.rtmpPort),
            relay: RelayServiceConfig(listenHost: "127.0.0.1", listenPort: 0, callsBaseURL: chain.fake.baseURL)),
            logger: chain.capture.logger(label: "wrong"), relayOptions: Chain.fastOptions())
        await wrong.startRelay(for: chain.guest(session: session))
        #expect(await Chain.eventually { await wrong.relayStatuses().first?.reconnects ?? 0 >= 3 })
        let status = try #require(await wrong.relayStatuses().first)
        #expect(status.lastError?.contains("check cloudflare.calls_api_token") == true, "\(status)")
        let logged = chain.capture.entries(at: .error).filter { $0.message.contains("calls_api_token") }
        #expect(logged.count == 1, "\(logged.map(\.message))")
        #expect(logged.first?.message.contains("retrying every 0.5 s at most") == true)
        await wrong.shutdown()
        await chain.finish()
    }
}

import FakeCalls
import Foundation
import Logging
import Testing
@testable import Relay

/// A relay-side PeerConnection (UDPPeerDriver) subscribes through the real HTTP flow to a
/// FakeCalls fixture publisher and receives its media over loopback ICE/DTLS/SRTP.
@Suite(.serialized) struct FixturePublisherTests {
    static let appId = "media-app"
    static let token = "media-token"

    struct Stack {
        let fake: FakeCallsServer
        let client: CallsClient
        let publisher: String

        init() async throws {
            fake = try FakeCallsServer(options: FakeCallsOptions(appId: FixturePublisherTests.appId,
                                                                 token: FixturePublisherTests.token,
                                                                 publisherFlow: .whenMarked),
                                       logger: Logger(label: "fakecalls.media.test"))
            client = CallsClient(baseURL: fake.baseURL, appId: FixturePublisherTests.appId,
                                 token: FixturePublisherTests.token, http: try CurlHTTPClient())
            publisher = try await fake.addFixturePublisher(
                video: FixturePaths.url("media/testsrc2-320x240-60f.h264").path,
                audio: FixturePaths.url("audio/tone-440-mono-2s.opus.ogg").path)
        }
    }

    @Test func aSubscriberReceivesDecryptableVideoAndAudioWithTheSFUsMapping() async throws {
        let stack = try await Stack()
        defer { stack.fake.stop() }
        let subscriber = try await MediaSubscriber.subscribe(client: stack.client, publisher: stack.publisher)
        defer { subscriber.driver.shutdown() }
        let received = subscriber.wait(timeout: .seconds(10)) {
            $0.connected && $0.keyframes >= 1 && $0.frames >= 30 && $0.audioPackets >= 50
        }
        let snapshot = subscriber.snapshot
        #expect(received, "\(snapshot)")
        #expect(snapshot.wrongPayloadType == 0)
        #expect(snapshot.otherPackets == 0)
        #expect(subscriber.videoPayloadType == 125)
        #expect(subscriber.audioPayloadType == 111)
        // Sender Reports come every second for both tracks, under the subscriber's SSRCs.
        #expect(subscriber.wait(timeout: .seconds(5)) {
            ($0.senderReports[subscriber.videoSSRC] ?? 0) >= 1 && ($0.senderReports[subscriber.audioSSRC] ?? 0) >= 1
        }, "\(subscriber.snapshot.senderReports)")
        let state = try await stack.client.sessionState(session: subscriber.session)
        #expect(!state.tracks.isEmpty && state.tracks.allSatisfy { $0.status == "active" }, "\(state)")
    }

    /// The compatibility shape (the relay offers, the SFU answers) forwards the same way: the
    /// answer names the SFU's SSRCs and keeps the relay's payload types.
    @Test func aClientOfferSubscriberReceivesMediaToo() async throws {
        let stack = try await Stack()
        defer { stack.fake.stop() }
        let subscriber = try await MediaSubscriber.subscribe(client: stack.client, publisher: stack.publisher,
                                                             clientOffer: true)
        defer { subscriber.driver.shutdown() }
        #expect(subscriber.wait(timeout: .seconds(10)) {
            $0.connected && $0.keyframes >= 1 && $0.frames >= 10 && $0.audioPackets >= 20
        }, "\(subscriber.snapshot) \(stack.fake.media.statistics)")
        #expect(subscriber.snapshot.wrongPayloadType == 0)
    }

    @Test func twoSubscribersBothGetMediaAndAPLIReachesThePublisher() async throws {
        let stack = try await Stack()
        defer { stack.fake.stop() }
        let first = try await MediaSubscriber.subscribe(client: stack.client, publisher: stack.publisher)
        defer { first.driver.shutdown() }
        let second = try await MediaSubscriber.subscribe(client: stack.client, publisher: stack.publisher)
        defer { second.driver.shutdown() }
        #expect(first.videoSSRC != second.videoSSRC)
        for subscriber in [first, second] {
            #expect(subscriber.wait(timeout: .seconds(10)) {
                $0.keyframes >= 1 && $0.frames >= 10 && $0.audioPackets >= 20
            }, "\(subscriber.snapshot)")
        }
        #expect(stack.fake.media.statistics.livePeerConnections == 2)

        // Mid-GOP (the fixture has one IDR per 60-frame loop), a PLI makes the fixture jump to it.
        let before = stack.fake.media.statistics
        let keyframesBefore = first.snapshot.keyframes
        first.sendPLI()
        #expect(await Self.eventually { stack.fake.media.statistics.keyframeRequestsFromSubscribers > before.keyframeRequestsFromSubscribers })
        // 59 of 60 frames are not the IDR, so the fixture restarts (at worst a retry would be needed).
        #expect(stack.fake.media.statistics.fixtureKeyframeRestarts + (first.snapshot.keyframes > keyframesBefore ? 1 : 0) > 0)
        #expect(first.wait(timeout: .seconds(5)) { $0.keyframes > keyframesBefore })
    }

    @Test func aNACKIsAnsweredFromTheRetransmissionCache() async throws {
        let stack = try await Stack()
        defer { stack.fake.stop() }
        let subscriber = try await MediaSubscriber.subscribe(client: stack.client, publisher: stack.publisher)
        defer { subscriber.driver.shutdown() }
        #expect(subscriber.wait(timeout: .seconds(10)) { $0.videoPackets >= 5 })
        let newest = try #require(subscriber.newestVideoSequence)
        let packets = subscriber.snapshot.videoPackets
        subscriber.sendNACK([newest &- 2, newest &- 1])
        #expect(await Self.eventually { stack.fake.media.statistics.retransmissionsFromCache == 2 })
        #expect(stack.fake.media.statistics.nacksFromSubscribers == 1)
        // The re-sent packets reach the subscriber (libsrtp may drop them as replays: they were not
        // really lost), so only the SFU's counter is asserted exactly.
        #expect(subscriber.snapshot.videoPackets >= packets)
    }

    @Test func closingASessionFreesItsConnectionAndTheSocketServesTheOthers() async throws {
        let stack = try await Stack()
        defer { stack.fake.stop() }
        let leaving = try await MediaSubscriber.subscribe(client: stack.client, publisher: stack.publisher)
        defer { leaving.driver.shutdown() }
        let staying = try await MediaSubscriber.subscribe(client: stack.client, publisher: stack.publisher)
        defer { staying.driver.shutdown() }
        #expect(leaving.wait(timeout: .seconds(10)) { $0.connected && $0.videoPackets > 0 })
        #expect(staying.wait(timeout: .seconds(10)) { $0.connected && $0.videoPackets > 0 })
        #expect(stack.fake.media.statistics.livePeerConnections == 2)

        _ = try await stack.client.closeTracks(session: leaving.session, mids: ["0", "1"], force: true)
        #expect(await Self.eventually { stack.fake.media.statistics.livePeerConnections == 1 })
        let packets = staying.snapshot.videoPackets
        #expect(staying.wait(timeout: .seconds(5)) { $0.videoPackets > packets + 30 })

        _ = try await stack.client.closeTracks(session: staying.session, mids: ["0", "1"], force: true)
        #expect(await Self.eventually { stack.fake.media.statistics.livePeerConnections == 0 })
    }

    @Test func aFixtureFromAMissingFileIsRefusedWithAReason() async throws {
        let stack = try await Stack()
        defer { stack.fake.stop() }
        do {
            _ = try await stack.fake.addFixturePublisher(video: "/nonexistent/x.h264", audio: nil)
            Issue.record("a missing file must be refused")
        } catch {
            #expect("\(error)".contains("/nonexistent/x.h264"))
        }
        #expect(await stack.fake.api.openSessionIds() == [stack.publisher])
    }

    /// Polls a counter the SFU thread publishes (it has no event to wait on) for up to 5 s.
    static func eventually(_ condition: @Sendable () -> Bool) async -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(5)
        while clock.now < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return condition()
    }
}

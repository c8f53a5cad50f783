import Testing
@testable import Relay

/// GuestRelay's state machine with time as an input: every way a leg or a guest ends.
@Suite struct GuestRelayLifecycleTests {
    let t0 = ContinuousClock.now

    func relaying(_ tuning: GuestRelayLifecycle.Tuning = .init()) -> GuestRelayLifecycle {
        var life = GuestRelayLifecycle(now: t0, tuning: tuning)
        life.subscribing(now: t0)
        life.connecting(now: t0 + .milliseconds(100))
        life.mediaConnected(now: t0 + .milliseconds(200))
        return life
    }

    @Test func aFirstLegGoesThroughEveryStateWithItsTime() {
        var life = GuestRelayLifecycle(now: t0)
        #expect(life.state == .publishing)
        life.subscribing(now: t0 + .milliseconds(10))
        #expect(life.state == .subscribing && life.since == t0 + .milliseconds(10))
        life.connecting(now: t0 + .milliseconds(20))
        #expect(life.state == .connecting)
        life.mediaConnected(now: t0 + .milliseconds(30))
        #expect(life.state == .relaying && life.since == t0 + .milliseconds(30))
        #expect(life.reconnects == 0 && life.lastError == nil)
    }

    @Test(arguments: [GuestRelayLifecycle.LegEnd.consentLost, .closeNotify, .bye, .connectionFailed("DTLS failed: alert")])
    func aLegEndingAsksCallsAndResubscribesWhileTheGuestPublishes(end: GuestRelayLifecycle.LegEnd) {
        var life = relaying()
        let now = t0 + .seconds(3)
        #expect(life.legEnded(end, now: now) == [.endLeg, .checkPublisher])
        #expect(life.state == .reconnecting && life.since == now)
        #expect(life.lastError == end.text)
        // A second report of the same end (BYE per SSRC, then close_notify) changes nothing.
        #expect(life.legEnded(.closeNotify, now: now).isEmpty)
        #expect(life.publisherChecked(.active, now: now) == [.subscribe(after: .milliseconds(500))])
        life.subscribing(now: now + .milliseconds(500))
        #expect(life.reconnects == 1)
        life.connecting(now: now + .seconds(1))
        life.mediaConnected(now: now + .seconds(1))
        #expect(life.state == .relaying && life.lastError == nil)
    }

    @Test(arguments: [GuestRelayLifecycle.LegEnd.consentLost, .closeNotify, .bye])
    func aLegEndingWhenTheGuestIsGoneClosesTheRelay(end: GuestRelayLifecycle.LegEnd) {
        var life = relaying()
        _ = life.legEnded(end, now: t0 + .seconds(3))
        let actions = life.publisherChecked(.gone("Calls says the session is closed"), now: t0 + .seconds(3))
        guard case .close(let reason)? = actions.first else {
            Issue.record("expected close, got \(actions)")
            return
        }
        #expect(reason.contains("session is closed"))
        #expect(life.state == .closing)
        life.finished(now: t0 + .seconds(4))
        #expect(life.state == .closed)
        // Nothing revives a closed relay.
        #expect(life.legEnded(.bye, now: t0 + .seconds(5)).isEmpty)
        #expect(life.publisherChecked(.active, now: t0 + .seconds(5)).isEmpty)
    }

    @Test func backoffGrowsWhileLegsFailAndResetsOnceRelaying() {
        var tuning = GuestRelayLifecycle.Tuning()
        tuning.backoffInitial = .milliseconds(500)
        tuning.backoffMax = .seconds(2)
        var life = relaying(tuning)
        var waits: [Duration] = []
        var now = t0 + .seconds(1)
        for _ in 0..<5 {
            _ = life.legEnded(.setupFailed("Calls rejected the API token"), now: now)
            for case .subscribe(let wait) in life.publisherChecked(.unknown("HTTP 401"), now: now) { waits.append(wait) }
            life.subscribing(now: now)
            now += .seconds(1)
        }
        #expect(waits == [.milliseconds(500), .seconds(1), .seconds(2), .seconds(2), .seconds(2)])
        #expect(life.reconnects == 5)
        #expect(life.lastError?.contains("API token") == true)
        life.connecting(now: now)
        life.mediaConnected(now: now)
        _ = life.legEnded(.consentLost, now: now)
        #expect(life.publisherChecked(.active, now: now) == [.subscribe(after: .milliseconds(500))])
    }

    @Test func whileRelayingCallsIsPolledAndInactiveTracksCloseTheRelayAfterTwoChecks() {
        var life = relaying()
        let start = t0 + .milliseconds(200)
        // Media flows: the first check comes at the poll interval.
        #expect(life.tick(now: start + .seconds(1), lastMedia: start + .seconds(1)).isEmpty)
        #expect(life.tick(now: start + .seconds(5), lastMedia: start + .seconds(5)) == [.checkPublisher])
        // No second check while one is in flight.
        #expect(life.tick(now: start + .seconds(5.5), lastMedia: start + .seconds(5.5)).isEmpty)
        #expect(life.publisherChecked(.inactive, now: start + .seconds(6)).isEmpty)
        #expect(life.state == .relaying)
        #expect(life.tick(now: start + .seconds(11), lastMedia: start + .seconds(11)) == [.checkPublisher])
        let actions = life.publisherChecked(.inactive, now: start + .seconds(11))
        #expect(actions.count == 1)
        if case .close(let reason)? = actions.first { #expect(reason.contains("inactive")) }
        #expect(life.state == .closing)
    }

    @Test func mediaSilenceTriggersACheckAtOnceAndALongStallRebuildsTheLeg() {
        var life = relaying()
        let last = t0 + .seconds(1)
        #expect(life.tick(now: last + .seconds(4), lastMedia: last).isEmpty)
        #expect(life.tick(now: last + .seconds(5), lastMedia: last) == [.checkPublisher])
        #expect(life.publisherChecked(.active, now: last + .seconds(5)).isEmpty)
        // Still silent: no new silence check until media came back, but the stall ends the leg.
        #expect(life.tick(now: last + .seconds(6), lastMedia: last).isEmpty)
        #expect(life.tick(now: last + .seconds(15), lastMedia: last) == [.endLeg, .checkPublisher])
        #expect(life.state == .reconnecting)
        #expect(life.lastError?.contains("no media from the SFU for 15 s") == true)
    }

    @Test func aSetupFailureBeforeMediaAlsoReconnects() {
        var life = GuestRelayLifecycle(now: t0)
        life.subscribing(now: t0)
        #expect(life.legEnded(.setupFailed("Calls has no flowing tracks"), now: t0) == [.endLeg, .checkPublisher])
        #expect(life.publisherChecked(.inactive, now: t0) == [.subscribe(after: .milliseconds(500))])
        life.subscribing(now: t0 + .seconds(1))
        _ = life.legEnded(.setupFailed("Calls has no flowing tracks"), now: t0 + .seconds(1))
        if case .close? = life.publisherChecked(.inactive, now: t0 + .seconds(1)).first {} else {
            Issue.record("two inactive answers should close the relay")
        }
    }

    @Test func stopFromOutsideWinsOverEverything() {
        var life = relaying()
        life.stop(reason: "guest left (DELETE)", now: t0 + .seconds(1))
        #expect(life.state == .closing && life.closeReason == "guest left (DELETE)")
        #expect(life.legEnded(.closeNotify, now: t0 + .seconds(1)).isEmpty)
        #expect(life.tick(now: t0 + .seconds(30), lastMedia: nil).isEmpty)
        life.subscribing(now: t0 + .seconds(2))
        #expect(life.state == .closing)
    }
}

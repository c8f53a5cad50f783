import Relay
import Testing

@Suite struct ICEAgentTests {
    let relayV4 = SocketAddress(ipv4: 10, 0, 0, 1, port: 50000)
    let sfuV4 = SocketAddress(ipv4: 10, 0, 0, 2, port: 3478)
    let relayV6 = SocketAddress(ip: "2001:db8::1", port: 50001)!
    let sfuV6 = SocketAddress(ip: "2001:db8::2", port: 3479)!

    @Test func controllingConnectsToLiteAndBothSelectTheSamePair() throws {
        var net = ICETestNetwork.pair(peerMode: .lite, aAddresses: [relayV4], bAddresses: [sfuV4])
        net.run(for: .seconds(2))

        let aPairs = selectedPairs(net.events(.a))
        let bPairs = selectedPairs(net.events(.b))
        #expect(aPairs.count == 1 && bPairs.count == 1)
        let aPair = try #require(aPairs.last)
        let bPair = try #require(bPairs.last)
        #expect(aPair.local == relayV4 && aPair.remote == sfuV4)
        #expect(bPair.local == sfuV4 && bPair.remote == relayV4)
        #expect(net.events(.a).filter(isConnected).count == 1)
        #expect(net.events(.b).filter(isConnected).count == 1)
        #expect(net.a.state == .connected && net.b.state == .connected)
        // One round trip (2 × 5 ms) plus the first paced slot.
        let connectedAt = try #require(net.firstTime(.a, of: isConnected))
        #expect(connectedAt <= .milliseconds(50))
        // The lite agent never sends a request of its own.
        #expect(net.b.statistics.requestsSent == 0)
        #expect(net.a.statistics.integrityFailures == 0 && net.b.statistics.integrityFailures == 0)
    }

    @Test func wrongPasswordNeverConnectsAndFailsAfterRetransmissions() throws {
        var net = ICETestNetwork.pair(peerMode: .lite, aAddresses: [relayV4], bAddresses: [sfuV4],
                                      aKnowsPassword: "not-the-sfu-password-xyz")
        net.run(for: .seconds(20))

        #expect(!net.events(.a).contains(where: isConnected))
        #expect(!net.events(.b).contains(where: isConnected))
        #expect(selectedPairs(net.events(.b)).isEmpty)
        let failedAt = try #require(net.firstTime(.a, of: isFailed))
        // 7 transmissions: 0, .25, .75, 1.75, 3.35, 4.95, 6.55 s, then 1.6 s more.
        #expect(failedAt >= .seconds(8) && failedAt <= .milliseconds(8200), "failed at \(failedAt)")
        #expect(net.a.state == .failed)
        #expect(net.a.statistics.requestsSent == 1 && net.a.statistics.retransmissions == 6)
        #expect(net.b.statistics.integrityFailures == 7)
        // The lite side's unsigned 401 answers are not trusted by the relay either.
        #expect(net.a.statistics.integrityFailures == 7)
        #expect(net.events(.a).filter(isFailed).count == 1)
        // Failed means quiet: no timers left.
        #expect(net.a.pollTimeout() == nil)
    }

    @Test(arguments: 1...20 as ClosedRange<UInt64>)
    func connectsThroughLossDuplicationAndReordering(seed: UInt64) throws {
        var net = ICETestNetwork.pair(peerMode: .lite, aAddresses: [relayV4, relayV6],
                                      bAddresses: [sfuV4, sfuV6], seed: seed)
        net.lossRate = 0.10
        net.duplicateRate = 0.10
        net.jitter = .milliseconds(40)
        net.run(for: .seconds(5))

        #expect(net.a.state == .connected, "seed \(seed): relay is \(net.a.state)")
        #expect(net.b.state == .connected, "seed \(seed): sfu is \(net.b.state)")
        let aPair = try #require(net.a.selectedPair)
        let bPair = try #require(net.b.selectedPair)
        #expect(aPair.local == bPair.remote && aPair.remote == bPair.local,
                "seed \(seed): relay \(net.aEvents.map { "\($0.0 - net.start) \($0.1)" }) sfu \(net.bEvents.map { "\($0.0 - net.start) \($0.1)" })")
        #expect(net.events(.a).filter(isConnected).count == 1)
    }

    @Test func heavyLossStillConnectsThanksToRetransmission() {
        var connected = 0
        for seed in 100..<120 as Range<UInt64> {
            var net = ICETestNetwork.pair(peerMode: .lite, aAddresses: [relayV4], bAddresses: [sfuV4], seed: seed)
            net.lossRate = 0.30
            net.run(for: .seconds(10))
            if net.a.state == .connected { connected += 1 }
        }
        // A check fails only if all 7 exchanges are lost (1 − 0.7² ≈ 0.51 per try).
        #expect(connected == 20)
    }

    @Test func silentPeerIsDisconnectedAfterThirtySecondsOfNoConsent() throws {
        var net = ICETestNetwork.pair(peerMode: .lite, aAddresses: [relayV4], bAddresses: [sfuV4])
        net.run(for: .seconds(1))
        #expect(net.a.state == .connected)

        // 20 s of consent checks flowing: still connected, checks every 4–6 s.
        let sentBefore = net.a.statistics.requestsSent
        net.run(for: .seconds(20))
        #expect(net.a.state == .connected)
        let consentChecks = net.a.statistics.requestsSent - sentBefore
        #expect((3...5).contains(consentChecks), "consent checks in 20 s: \(consentChecks)")
        #expect(!net.events(.a).contains(where: isDisconnected))

        // The SFU goes silent.
        net.silenced = [.b]
        let silentFrom = net.now
        let lastAnswer = try #require(net.lastDeliveredTo[.a])
        net.run(for: .seconds(35)) { $0.events(.a).contains(where: isDisconnected) }
        let disconnectedAt = try #require(net.aEvents.first { isDisconnected($0.1) }?.0)
        #expect(disconnectedAt - lastAnswer == .seconds(30))
        #expect(disconnectedAt - silentFrom >= .seconds(24))
        #expect(net.a.state == .disconnected)
        // Consent lost: the relay stops sending (RFC 7675 §5.1).
        net.run(for: .seconds(10))
        #expect(net.a.pollTransmit() == nil)
        #expect(net.a.pollTimeout() == nil)
        #expect(net.events(.a).filter(isDisconnected).count == 1)
    }

    @Test func liteSideNoticesAVanishedRelay() throws {
        var net = ICETestNetwork.pair(peerMode: .lite, aAddresses: [relayV4], bAddresses: [sfuV4])
        net.run(for: .seconds(12))
        #expect(net.b.state == .connected)
        net.silenced = [.a]
        let lastCheck = try #require(net.lastDeliveredTo[.b])
        net.run(for: .seconds(40))
        let disconnectedAt = try #require(net.bEvents.first { isDisconnected($0.1) }?.0)
        #expect(disconnectedAt - lastCheck == .seconds(30))
    }

    @Test func controlledFullAgentFacingControlling() throws {
        var net = ICETestNetwork.pair(peerMode: .controlled, aAddresses: [relayV4], bAddresses: [sfuV4])
        net.run(for: .seconds(2))
        #expect(net.a.state == .connected && net.b.state == .connected)
        #expect(net.a.role == .controlling && net.b.role == .controlled)
        let aPair = try #require(net.a.selectedPair)
        let bPair = try #require(net.b.selectedPair)
        #expect(aPair.local == relayV4 && aPair.remote == sfuV4)
        #expect(bPair.local == sfuV4 && bPair.remote == relayV4)
        // The controlled full agent checks too.
        #expect(net.b.statistics.requestsSent >= 1)
        #expect(net.b.statistics.roleConflicts == 0)
    }

    @Test func controlledFullAgentLearnsPeerReflexiveCandidate() throws {
        // The browser-facing case where the peer's candidate was never signalled.
        let aCredentials = ICECredentials(ufrag: "relay", password: "relaypassword0123456789")
        let bCredentials = ICECredentials(ufrag: "brow", password: "browserpassword012345678")
        var a = ICEAgent(configuration: ICEConfiguration(mode: .controlling, localCredentials: aCredentials, randomSeed: 5))
        var b = ICEAgent(configuration: ICEConfiguration(mode: .controlled, localCredentials: bCredentials, randomSeed: 6))
        a.addLocalAddress(relayV4)
        b.addLocalAddress(sfuV4)
        a.setRemoteCredentials(bCredentials)
        b.setRemoteCredentials(aCredentials)
        a.addRemoteCandidate(.host(sfuV4))
        var net = ICETestNetwork(a: a, aAddresses: [relayV4], b: b, bAddresses: [sfuV4])
        net.run(for: .seconds(2))
        #expect(net.b.state == .connected)
        #expect(net.b.remoteCandidates.first?.kind == .peerReflexive)
        #expect(net.b.selectedPair?.remote == relayV4)
    }

    @Test func roleConflictBetweenTwoControllingAgentsIsResolvedByTieBreaker() throws {
        var net = ICETestNetwork.pair(peerMode: .controlling, aAddresses: [relayV4], bAddresses: [sfuV4],
                                      aTieBreaker: 10, bTieBreaker: 20)
        net.run(for: .seconds(3))
        #expect(net.a.state == .connected && net.b.state == .connected)
        // b's tie-breaker is larger, so b stays controlling and a gives way.
        #expect(net.a.role == .controlled)
        #expect(net.b.role == .controlling)
        #expect(net.a.statistics.roleConflicts + net.b.statistics.roleConflicts >= 1)
        let aPair = try #require(net.a.selectedPair)
        #expect(aPair.remote == sfuV4)
    }

    @Test func ipv6OnlyPeerIsReachedFromADualStackRelay() throws {
        var net = ICETestNetwork.pair(peerMode: .lite, aAddresses: [relayV4, relayV6], bAddresses: [sfuV6])
        net.run(for: .seconds(2))
        let aPair = try #require(net.a.selectedPair)
        #expect(aPair.local == relayV6 && aPair.remote == sfuV6)
        #expect(net.b.selectedPair?.remote == relayV6)
        // No pair mixes families, so nothing was sent to or from an IPv4 address.
        #expect(net.a.statistics.requestsSent == 1)
    }

    @Test func unreachableCandidateFailsWhileTheOtherConnects() throws {
        let dead = SocketAddress(ipv4: 192, 0, 2, 99, port: 9)
        var net = ICETestNetwork.pair(peerMode: .lite, aAddresses: [relayV4], bAddresses: [sfuV4])
        // A candidate no one answers, with the highest priority so it is tried first.
        net.a.addRemoteCandidate(ICECandidate(foundation: "9", priority: ICECandidate.priority(kind: .host) + 1, address: dead, kind: .host))
        net.run(for: .seconds(2))
        #expect(net.a.selectedPair?.remote == sfuV4)
        #expect(net.a.state == .connected)
    }

    @Test func nothingHappensWithoutRemoteCredentials() {
        var agent = ICEAgent(configuration: ICEConfiguration(
            mode: .controlling, localCredentials: ICECredentials(ufrag: "u", password: "p"), randomSeed: 1))
        agent.addLocalAddress(relayV4)
        agent.addRemoteCandidate(.host(sfuV4))
        let now = ContinuousClock.now
        agent.handleTimeout(now: now)
        #expect(agent.pollTransmit() == nil)
        #expect(agent.pollTimeout() == nil)
        agent.setRemoteCredentials(ICECredentials(ufrag: "r", password: "q"))
        #expect(agent.pollTimeout() == now)
        agent.handleTimeout(now: now)
        let transmit = agent.pollTransmit()
        #expect(transmit?.destination == sfuV4 && transmit?.source == relayV4)
    }

    @Test func garbageDatagramsAreCountedAndIgnored() {
        var agent = ICEAgent(configuration: ICEConfiguration(
            mode: .lite, localCredentials: ICECredentials(ufrag: "u", password: "p"), randomSeed: 1))
        let now = ContinuousClock.now
        agent.handle(datagram: [0, 1, 2], from: sfuV4, to: relayV4, now: now)
        agent.handle(datagram: [UInt8](repeating: 0, count: 40), from: sfuV4, to: relayV4, now: now)
        #expect(agent.statistics.malformed == 2)
        #expect(agent.pollTransmit() == nil && agent.pollEvent() == nil)
    }

    @Test func wildcardBoundSocketStillMatchesTheCheck() throws {
        let relayCredentials = ICECredentials(ufrag: "relay", password: "relaypassword0123456789")
        let sfuCredentials = ICECredentials(ufrag: "sfu1", password: "sfupassword0123456789ab")
        var relay = ICEAgent(configuration: ICEConfiguration(mode: .controlling, localCredentials: relayCredentials, randomSeed: 2))
        var sfu = ICEAgent(configuration: ICEConfiguration(mode: .lite, localCredentials: sfuCredentials, randomSeed: 3))
        relay.addLocalAddress(relayV4)
        relay.setRemoteCredentials(sfuCredentials)
        relay.addRemoteCandidate(.host(sfuV4))
        let now = ContinuousClock.now
        relay.handleTimeout(now: now)
        let firstTransmit = relay.pollTransmit()
        let check = try #require(firstTransmit)
        #expect(ICEAgent.targetUfrag(ofRequest: check.bytes) == "sfu1")
        // The SFU's socket is bound to 0.0.0.0:3478 and cannot tell which address was hit.
        sfu.handle(datagram: check.bytes, from: check.source, to: SocketAddress(ipv4: 0, 0, 0, 0, port: 3478), now: now)
        let sfuTransmit = sfu.pollTransmit()
        let answer = try #require(sfuTransmit)
        #expect(ICEAgent.targetUfrag(ofRequest: answer.bytes) == nil)  // a response, not a request
        #expect(drain(&sfu) == [.selectedPair(local: SocketAddress(ipv4: 0, 0, 0, 0, port: 3478), remote: relayV4), .connected])
        // The relay's socket is wildcard-bound too.
        relay.handle(datagram: answer.bytes, from: sfuV4, to: SocketAddress(ip: "0.0.0.0", port: 50000)!,
                     now: now + .milliseconds(10))
        #expect(drain(&relay) == [.selectedPair(local: relayV4, remote: sfuV4), .connected])
    }

    @Test func checksAreAuthenticatedAndCarryTheRoleAttributes() throws {
        var net = ICETestNetwork.pair(peerMode: .lite, aAddresses: [relayV4], bAddresses: [sfuV4], aTieBreaker: 77)
        net.a.handleTimeout(now: net.now)
        let firstTransmit = net.a.pollTransmit()
        let check = try #require(firstTransmit)
        let decoded = try STUNMessage.decode(check.bytes)
        #expect(decoded.message.username == "sfu1:relay")
        #expect(decoded.message.iceControlling == 77)
        #expect(decoded.message.hasUseCandidate)
        #expect(decoded.message.priority == ICECandidate.priority(kind: .peerReflexive))
        #expect(decoded.isIntegrityValid(key: STUNMessage.shortTermKey(password: "sfupassword0123456789ab")))
        #expect(decoded.isFingerprintValid)
        // A check with the wrong ufrag is refused with 401 and changes nothing.
        var forged = decoded.message
        forged.attributes = [.username("other:relay"), .useCandidate]
        net.b.handle(datagram: forged.encode(integrityKey: STUNMessage.shortTermKey(password: "sfupassword0123456789ab")),
                     from: relayV4, to: sfuV4, now: net.now)
        let refusalTransmit = net.b.pollTransmit()
        let refusal = try STUNMessage.decode(try #require(refusalTransmit).bytes)
        #expect(refusal.message.errorCode?.code == 401)
        #expect(drain(&net.b).isEmpty && net.b.state == .new)
    }
}

func drain(_ agent: inout ICEAgent) -> [ICEEvent] {
    var events: [ICEEvent] = []
    while let event = agent.pollEvent() { events.append(event) }
    return events
}

import Testing
import Relay

@Suite("PeerConnection back to back")
struct PeerConnectionBackToBackTests {
    @Test(arguments: [PeerSession.Shape.sfuOffers, .relayOffers, .relayOffersSFUActive])
    func connectsWithMatchingKeysAndMovesMediaBothWays(shape: PeerSession.Shape) throws {
        let session = try PeerSession(shape: shape)
        #expect(session.relayConfiguration.ice.mode == .controlling)
        #expect(session.sfuConfiguration.ice.mode == .lite)
        let relayIsClient = shape != .relayOffersSFUActive
        #expect(session.relayConfiguration.dtls.role == (relayIsClient ? .client : .server))
        #expect(session.sfuConfiguration.dtls.role == (relayIsClient ? .server : .client))

        let net = try session.network()
        let connected = net.run(for: .seconds(5)) { net.bothConnected }
        #expect(connected, "relay \(net.relay.state), sfu \(net.sfu.state) after \(net.elapsed)")

        // Event order on the relay: ICE, DTLS (with the profile), then media-ready.
        let relayKinds = net.relayEvents.map(Self.name)
        #expect(relayKinds == ["iceConnected", "dtlsConnected", "connected"])
        #expect(net.sfuEvents.map(Self.name) == ["iceConnected", "dtlsConnected", "connected"])
        #expect(net.relay.selectedPair?.remote == PeerTestNetwork.sfuAddress)
        #expect(net.sfu.selectedPair?.remote == PeerTestNetwork.relayAddress)

        // Keys match: what one side protects with is what the other unprotects with.
        let relayKeys = try #require(net.relay.srtpKeys)
        let sfuKeys = try #require(net.sfu.srtpKeys)
        #expect(relayKeys.profile == .aeadAES128GCM)
        #expect(net.relayEvents.contains(.dtlsConnected(.aeadAes128Gcm)))
        #expect(relayKeys.localKey == sfuKeys.remoteKey && relayKeys.localSalt == sfuKeys.remoteSalt)
        #expect(relayKeys.remoteKey == sfuKeys.localKey && relayKeys.remoteSalt == sfuKeys.localSalt)
        #expect(relayKeys.localKey != relayKeys.remoteKey)

        // RTP from the SFU side arrives decrypted at the relay, byte for byte.
        net.clearEvents()
        let sent = (0..<50).map { PeerSession.videoPacket(sequence: UInt16(truncatingIfNeeded: 65_510 + $0), payload: [0x65, UInt8($0)]) }
        for packet in sent { try net.sfu.sendRTP(packet) }
        net.pump()
        #expect(net.sentBySFU.suffix(50).allSatisfy { $0.bytes.count == $0.bytes.count })
        let received = net.relayEvents.rtpPackets
        #expect(received.map(\.bytes) == sent)
        #expect(received.first?.header.ssrc == PeerSession.videoSSRC)
        #expect(received.first?.header.payloadType == 125)
        #expect(received.first.map { Array($0.payload) } == [0x65, 0])
        #expect(net.relay.statistics.rtpReceived == 50)
        #expect(net.sfu.statistics.rtpSent == 50)
        // What went over the wire was encrypted (not the plain packet plus a tag).
        let wire = try #require(net.sentBySFU.last)
        #expect(Array(wire.bytes.prefix(12)) == Array(sent[49].prefix(12)))
        #expect(Array(wire.bytes[12..<14]) != Array(sent[49][12..<14]))

        // RTCP feedback (PLI + NACK) from the relay arrives at the SFU side.
        let feedback: [RTCPPacket] = [
            .receiverReport(RTCPReceiverReport(ssrc: 1)),
            .pictureLossIndication(RTCPPictureLossIndication(senderSSRC: 1, mediaSSRC: PeerSession.videoSSRC)),
            .genericNACK(RTCPGenericNACK(senderSSRC: 1, mediaSSRC: PeerSession.videoSSRC, lost: [7, 9, 10])),
        ]
        try net.relay.sendRTCP(feedback)
        net.pump()
        #expect(net.sfuEvents.rtcpPackets == feedback)
        #expect(net.sfu.statistics.rtcpReceived == 1)
        #expect(net.relay.statistics.srtpAuthFailures == 0 && net.sfu.statistics.srtpAuthFailures == 0)
    }

    /// Calls adds tracks to a running subscriber by renegotiation: a new SFU offer with more
    /// m-lines, a new relay answer, the same transport. The connection carries on.
    @Test func renegotiationAddsATrackOnTheSameConnection() throws {
        let session = try PeerSession(shape: .sfuOffers)
        let net = try session.network()
        #expect(net.run(for: .seconds(5)) { net.bothConnected })

        let screenSSRC: UInt32 = 0x4444_4444
        let tracks = PeerSession.sfuTracks + [SDPSendTrack(kind: .video, mid: "2", ssrc: screenSSRC, cname: "sfu",
                                                           streamId: "guest1", trackId: "screen")]
        let offer = SDP.makeSendOnlyOffer(
            tracks: tracks, local: session.sfuLocal.mediaParameters(setup: .actpass, iceLite: true, codecs: PeerSession.sfuCodecs))
        let received = try SDP.parse(offer.serialized)
        let answer = SessionSetup.relayAnswer(toSFUOffer: received, local: session.relayLocal)
        let renegotiated = try SessionSetup.describe(remote: received, answer: answer)
        #expect(renegotiated.keepsTransport(of: session.relaySeesRemote))
        #expect(renegotiated.media.map(\.mid) == ["0", "1", "2"])
        #expect(renegotiated.media(mid: "2")?.remoteSSRCs == [screenSSRC])
        #expect(answer.mediaSections.count == 3 && answer.mediaSections.allSatisfy { !$0.isRejected })

        net.clearEvents()
        try net.sfu.sendRTP(RTPPacketBuilder(payloadType: 125, sequenceNumber: 1, timestamp: 0, ssrc: screenSSRC,
                                             payload: [0x65]).serialize())
        net.pump()
        #expect(net.relayEvents.rtpPackets.map(\.header.ssrc) == [screenSSRC])

        // A new ICE ufrag or certificate is not the same transport.
        var restarted = renegotiated
        restarted.credentials.ufrag = "other"
        #expect(!restarted.keepsTransport(of: session.relaySeesRemote))
    }

    @Test func remoteDescriptionCarriesWhatTheReceiveSideNeeds() throws {
        let session = try PeerSession(shape: .sfuOffers)
        let remote = session.relaySeesRemote
        #expect(remote.isIceLite)
        #expect(remote.setup == .actpass)
        #expect(remote.credentials == session.sfuLocal.credentials)
        #expect(remote.fingerprint == session.sfuLocal.certificate.fingerprint)
        #expect(remote.candidates.map(\.address) == [PeerTestNetwork.sfuAddress])
        #expect(remote.media.map(\.mid) == ["0", "1"])
        let video = try #require(remote.media.first)
        #expect(video.kind == .video)
        #expect(video.remoteDirection == .sendonly)
        #expect(video.codecs.codecs.map(\.name) == ["H264"])
        #expect(video.codecs.rtxPayloadType(forMedia: 125) == 37)
        #expect(video.remoteSSRCs == [PeerSession.videoSSRC, PeerSession.videoRTXSSRC])
        #expect(video.remoteRTXSSRCByMediaSSRC == [PeerSession.videoSSRC: PeerSession.videoRTXSSRC])
        #expect(remote.media[1].codecs.codecs.map(\.name) == ["opus"])

        // The relay's answer says active (it is the DTLS client) and carries its identity.
        let answer = session.answer
        let first = try #require(answer.mediaSections.first)
        #expect(answer.setup(for: first) == .active)
        #expect(answer.iceUfrag(for: first) == "relayufr")
        #expect(answer.direction(for: first) == .recvonly)
        #expect(answer.fingerprint(for: first)?.value == session.relayLocal.certificate.fingerprint.value)
        #expect(first.candidates.first?.port == Int(PeerTestNetwork.relayAddress.port))
    }

    @Test func setupRolesFollowRFC5763() throws {
        #expect(try SessionSetup.dtlsRole(local: .active, remote: .actpass) == .client)
        #expect(try SessionSetup.dtlsRole(local: .passive, remote: .actpass) == .server)
        #expect(try SessionSetup.dtlsRole(local: .actpass, remote: .passive) == .client)
        #expect(try SessionSetup.dtlsRole(local: .actpass, remote: .active) == .server)
        #expect(try SessionSetup.dtlsRole(local: .active, remote: .passive) == .client)
        #expect(throws: SessionSetupError.self) { try SessionSetup.dtlsRole(local: .active, remote: .active) }
        #expect(throws: SessionSetupError.self) { try SessionSetup.dtlsRole(local: .actpass, remote: .actpass) }
    }

    @Test func sdpWithoutTransportAttributesIsRefusedWithAReason() throws {
        let bare = try SDP.parse("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\n")
        #expect(throws: SessionSetupError.self) { try SessionSetup.describe(remote: bare) }
        do {
            _ = try SessionSetup.describe(remote: bare)
        } catch {
            #expect(error.description.contains("ice-ufrag"))
        }
    }

    @Test func mediaBeforeConnectedIsRefused() throws {
        let net = try PeerSession().network()
        #expect(throws: PeerSendError.notConnected(.connecting)) { try net.sfu.sendRTP(PeerSession.videoPacket(sequence: 1)) }
    }

    /// 10% loss, 10% duplication and shuffled batches, seeded: still connects in bounded time.
    @Test(arguments: 1...20 as ClosedRange<UInt64>)
    func connectsUnderLossDuplicationAndReordering(seed: UInt64) throws {
        let session = try PeerSession(seed: seed)
        let net = try session.network()
        var random = SeededRandom(seed: seed)
        var lost = 0
        var duplicated = 0
        net.copies = { _ in
            let roll = Double.random(in: 0..<1, using: &random)
            if roll < 0.10 { lost += 1; return 0 }
            if roll < 0.20 { duplicated += 1; return 2 }
            return 1
        }
        var shuffler = SeededRandom(seed: seed &* 31)
        net.reorder = { $0.shuffle(using: &shuffler) }
        let connected = net.run(for: .seconds(30)) { net.bothConnected }
        #expect(connected, "seed \(seed): lost \(lost), duplicated \(duplicated), relay \(net.relay.state) after \(net.elapsed)")

        // Media still flows through the same impairment; duplicates are dropped as replays.
        net.clearEvents()
        for sequence in 0..<100 { try net.sfu.sendRTP(PeerSession.videoPacket(sequence: UInt16(sequence))) }
        net.pump()
        let received = net.relayEvents.rtpPackets
        #expect(received.count > 70 && received.count <= 100)
        #expect(Set(received.map(\.header.sequenceNumber)).count == received.count)
        #expect(net.relay.statistics.srtpAuthFailures == 0)
        #expect(lost > 0 && duplicated > 0)  // the impairment really happened
        #expect(net.relay.statistics.srtpReplays > 0)
    }

    @Test func unreachablePeerFailsICE() throws {
        let net = try PeerSession().network()
        net.sfuReachable = false
        #expect(net.run(for: .seconds(60)) { net.relay.state == .closed })
        guard case .iceFailed? = net.relayEvents.disconnectReasons.first else {
            Issue.record("expected ICE failure, got \(net.relayEvents)")
            return
        }
        #expect(!net.relayEvents.contains { Self.name($0) == "iceConnected" })
        #expect(net.elapsed < .seconds(20), "gave up after \(net.elapsed)")
    }

    @Test func theOnlyCommonProfileIsUsed() throws {
        let session = try PeerSession()
        var relay = session.relayConfiguration
        relay.dtls.srtpProfiles = [.aes128CMHMACSHA1_80]
        let net = PeerTestNetwork(relay: try PeerConnection(configuration: relay),
                                  sfu: try PeerConnection(configuration: session.sfuConfiguration))
        #expect(net.run(for: .seconds(5)) { net.bothConnected })
        #expect(net.sfuEvents.contains(.dtlsConnected(.aes128CmSha1_80)))
        try net.sfu.sendRTP(PeerSession.videoPacket(sequence: 9))
        net.pump()
        #expect(net.relayEvents.rtpPackets.map(\.header.sequenceNumber) == [9])
    }

    @Test func fingerprintMismatchIsRefusedAndNoMediaFlows() throws {
        let impostor = try DTLSCertificate(commonName: "impostor")
        let session = try PeerSession(relayExpects: impostor.fingerprint)
        let net = try session.network()
        net.run(for: .seconds(20)) { net.relay.state == .closed }
        let reasons = net.relayEvents.disconnectReasons
        guard case .dtlsFailed(.fingerprintMismatch(let expected, _))? = reasons.first else {
            Issue.record("expected a fingerprint mismatch, got \(reasons)")
            return
        }
        #expect(expected == impostor.fingerprint)
        #expect(reasons.count == 1)
        #expect(net.relay.srtpKeys == nil)
        #expect(!net.relayEvents.contains(.connected))
        // The SFU side never gets keys it could send media with.
        #expect(throws: PeerSendError.self) { try net.sfu.sendRTP(PeerSession.videoPacket(sequence: 1)) }
        #expect(net.relay.pollTimeout() == nil)
    }

    @Test func replayedSRTPIsDroppedAndCounted() throws {
        let net = try PeerSession().network()
        #expect(net.run(for: .seconds(5)) { net.bothConnected })
        net.clearEvents()
        try net.sfu.sendRTP(PeerSession.videoPacket(sequence: 100))
        try net.sfu.sendRTCP([.receiverReport(RTCPReceiverReport(ssrc: 5))])
        net.pump()
        #expect(net.relayEvents.rtpPackets.count == 1)
        #expect(net.relayEvents.rtcpPackets.count == 1)

        // An attacker (or the network) repeats both: dropped silently, counted.
        let rtp = net.sentBySFU[net.sentBySFU.count - 2]
        let rtcp = net.sentBySFU[net.sentBySFU.count - 1]
        net.clearEvents()
        net.deliver(rtp, toRelay: true)
        net.deliver(rtcp, toRelay: true)
        net.deliver(rtp, toRelay: true)
        net.collectEvents()
        #expect(net.relayEvents.isEmpty)
        #expect(net.relay.statistics.srtpReplays == 3)
        #expect(net.relay.statistics.rtpReceived == 1)

        // A tampered packet fails authentication: dropped, counted separately.
        var tampered = rtp
        tampered.bytes[tampered.bytes.count - 1] ^= 0xFF
        tampered.bytes[3] &+= 1  // new sequence number, so it is not a replay
        net.deliver(tampered, toRelay: true)
        net.collectEvents()
        #expect(net.relayEvents.isEmpty)
        #expect(net.relay.statistics.srtpAuthFailures == 1)
        #expect(net.relay.state == .connected)
    }

    @Test func silentPeerDisconnectsWithConsentLostAfterThirtySeconds() throws {
        let net = try PeerSession().network()
        #expect(net.run(for: .seconds(5)) { net.bothConnected })
        let silentFrom = net.elapsed
        net.sfuReachable = false
        net.clearEvents()
        let gone = net.run(for: .seconds(60)) { net.relay.state == .closed }
        #expect(gone)
        #expect(net.relayEvents.disconnectReasons == [.consentLost])
        let after = net.elapsed - silentFrom
        #expect(after >= .seconds(25) && after <= .seconds(31), "disconnected after \(after)")
        #expect(throws: PeerSendError.notConnected(.closed)) { try net.relay.sendRTCP([UInt8](repeating: 0x80, count: 8)) }
    }

    @Test func closeNotifyDisconnectsThePeer() throws {
        let net = try PeerSession().network()
        #expect(net.run(for: .seconds(5)) { net.bothConnected })
        net.clearEvents()
        net.sfu.close()
        net.pump()
        #expect(net.sfuEvents.disconnectReasons == [.localClose])
        #expect(net.relayEvents.disconnectReasons == [.closeNotify])
        #expect(net.relay.state == .closed && net.sfu.state == .closed)
        #expect(net.relay.pollTimeout() == nil && net.sfu.pollTimeout() == nil)
    }

    @Test func garbageAndEarlyMediaAreCountedNotFatal() throws {
        let net = try PeerSession().network()
        let from = PeerTestNetwork.sfuAddress
        let to = PeerTestNetwork.relayAddress
        net.relay.handle(datagram: [0x80, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 9, 9, 9, 9], from: from, to: to, now: net.now)
        net.relay.handle(datagram: [200, 1, 2], from: from, to: to, now: net.now)
        net.relay.handle(datagram: [], from: from, to: to, now: net.now)
        #expect(net.relay.statistics.mediaBeforeKeys == 1)
        #expect(net.relay.statistics.unknownDatagrams == 2)
        var random = SeededRandom(seed: 7)
        #expect(net.run(for: .seconds(5)) { net.bothConnected })
        for _ in 0..<500 {
            let count = Int.random(in: 0..<300, using: &random)
            let junk = (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) }
            net.relay.handle(datagram: junk, from: from, to: to, now: net.now)
        }
        net.collectEvents()
        #expect(net.relay.state == .connected)
        #expect(net.relayEvents.rtpPackets.isEmpty)
    }

    static func name(_ event: PeerConnectionEvent) -> String {
        switch event {
        case .iceConnected: "iceConnected"
        case .dtlsConnected: "dtlsConnected"
        case .connected: "connected"
        case .rtp: "rtp"
        case .rtcp: "rtcp"
        case .disconnected: "disconnected"
        }
    }
}

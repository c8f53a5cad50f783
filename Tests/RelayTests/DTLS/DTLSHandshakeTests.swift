import Relay
import Testing

extension DTLSTests {
    @Suite struct Handshake {
        static func expectMirrored(_ pair: DTLSTestPair, profile: DTLSSRTPProfile) throws {
            let client = try #require(pair.clientKeys)
            let server = try #require(pair.serverKeys)
            #expect(client.profile == profile)
            #expect(server.profile == profile)
            #expect(client.localKey == server.remoteKey)
            #expect(client.localSalt == server.remoteSalt)
            #expect(client.remoteKey == server.localKey)
            #expect(client.remoteSalt == server.localSalt)
            #expect(client.localKey.count == profile.keyLength)
            #expect(client.localSalt.count == profile.saltLength)
            #expect(client.localKey != client.remoteKey)
            #expect(client.localKey != [UInt8](repeating: 0, count: profile.keyLength))
        }

        @Test func completesWithMirroredKeys() throws {
            let pair = try DTLSTestPair()
            #expect(pair.client.nextTimeout == nil)
            pair.client.start(now: pair.now)
            pair.server.start(now: pair.now)
            #expect(pair.client.nextTimeout == pair.now + .seconds(1))  // ClientHello is out
            pair.pump()
            #expect(pair.client.state == .connected)
            #expect(pair.server.state == .connected)
            #expect(pair.client.nextTimeout == nil)
            #expect(pair.server.nextTimeout == nil)
            try Self.expectMirrored(pair, profile: .aeadAES128GCM)
            #expect(pair.elapsed == .zero)  // no timer was needed
        }

        @Test(arguments: [
            ([DTLSSRTPProfile.aes128CMHMACSHA1_80], [DTLSSRTPProfile.aeadAES128GCM, .aes128CMHMACSHA1_80]),
            ([DTLSSRTPProfile.aeadAES128GCM, .aes128CMHMACSHA1_80], [DTLSSRTPProfile.aes128CMHMACSHA1_80]),
        ])
        func negotiatesTheCommonProfile(client: [DTLSSRTPProfile], server: [DTLSSRTPProfile]) throws {
            let pair = try DTLSTestPair(clientProfiles: client, serverProfiles: server)
            pair.client.start(now: pair.now)
            pair.pump()
            try Self.expectMirrored(pair, profile: .aes128CMHMACSHA1_80)
            #expect(pair.clientKeys?.localSalt.count == 14)
        }

        @Test func noCommonProfileFails() throws {
            let pair = try DTLSTestPair(clientProfiles: [.aeadAES128GCM], serverProfiles: [.aes128CMHMACSHA1_80])
            pair.client.start(now: pair.now)
            pair.pump()
            #expect(pair.clientKeys == nil)
            #expect(pair.serverKeys == nil)
            #expect(DTLSTestPair.failure(in: pair.clientEvents) == .noSRTPProfileNegotiated(offered: [.aeadAES128GCM]))
            #expect(DTLSTestPair.failure(in: pair.serverEvents) == .noSRTPProfileNegotiated(offered: [.aes128CMHMACSHA1_80]))
        }

        @Test(arguments: [DTLSRole.client, .server])
        func fingerprintMismatchAbortsTheHandshake(checkingSide: DTLSRole) throws {
            let stranger = try DTLSCertificate(commonName: "stranger").fingerprint
            let pair = try DTLSTestPair(
                clientExpects: checkingSide == .client ? stranger : nil,
                serverExpects: checkingSide == .server ? stranger : nil)
            pair.client.start(now: pair.now)
            pair.pump()
            let actual = checkingSide == .client ? pair.serverCertificate.fingerprint : pair.clientCertificate.fingerprint
            let checkerEvents = checkingSide == .client ? pair.clientEvents : pair.serverEvents
            let otherEvents = checkingSide == .client ? pair.serverEvents : pair.clientEvents
            #expect(checkerEvents == [.failed(.fingerprintMismatch(expected: stranger, got: actual))])
            #expect(DTLSTestPair.keys(in: otherEvents) == nil)
            // The alert reached the other side, which gives up at once instead of retrying.
            let otherFailure = try #require(DTLSTestPair.failure(in: otherEvents))
            #expect("\(otherFailure)".contains("bad certificate"), "\(otherFailure)")
            #expect(pair.elapsed == .zero)
            #expect(pair.client.state == .failed)
            #expect(pair.server.state == .failed)
        }

        @Test func lostServerFlightIsRetransmittedOnManualTime() throws {
            // OpenSSL's wall-clock timer off: only the manual clock may cause a retransmission.
            let pair = try DTLSTestPair(usesOpenSSLTimer: false)
            pair.client.start(now: pair.now)
            var dropServer = true
            pair.pump(deliver: { fromClient, _, _ in fromClient || !dropServer })
            #expect(pair.serverSent >= 1)
            #expect(pair.clientKeys == nil)
            let serverDeadline = try #require(pair.server.nextTimeout)
            #expect(serverDeadline == pair.start + .seconds(1))

            // Nothing moves before the deadline, whatever the wall clock says.
            pair.client.handleTimeout(now: serverDeadline - .milliseconds(1))
            pair.server.handleTimeout(now: serverDeadline - .milliseconds(1))
            #expect(pair.client.pollTransmit() == nil)
            #expect(pair.server.pollTransmit() == nil)

            dropServer = false
            #expect(pair.fireNextTimeout())
            #expect(pair.elapsed == .seconds(1))
            pair.pump()
            #expect(pair.client.state == .connected)
            #expect(pair.server.state == .connected)
            try Self.expectMirrored(pair, profile: .aeadAES128GCM)
        }

        @Test func truncatedFlightIsDroppedAndRecovered() throws {
            let pair = try DTLSTestPair(usesOpenSSLTimer: false)
            pair.client.start(now: pair.now)
            // The server's first flight arrives cut in half: DTLS drops the torn records.
            while let hello = pair.client.pollTransmit() { pair.server.handle(datagram: hello, now: pair.now) }
            while let datagram = pair.server.pollTransmit() {
                pair.client.handle(datagram: Array(datagram.prefix(datagram.count / 2)), now: pair.now)
            }
            pair.collectEvents()
            #expect(pair.clientEvents.isEmpty)
            #expect(pair.client.state == .handshaking)
            #expect(pair.fireNextTimeout())  // the server sends its flight again, whole
            pair.pump()
            #expect(pair.client.state == .connected)
            try Self.expectMirrored(pair, profile: .aeadAES128GCM)
        }

        @Test func lostFinalFlightIsResentWhenThePeerRepeats() throws {
            let pair = try DTLSTestPair()
            pair.client.start(now: pair.now)
            // Drop everything the server sends once it is connected: its final flight.
            pair.pump(deliver: { fromClient, _, _ in fromClient || pair.server.state != .connected })
            #expect(pair.server.state == .connected)
            #expect(pair.client.state == .handshaking)
            #expect(pair.fireNextTimeout())  // client repeats its flight, server answers again
            pair.pump()
            #expect(pair.client.state == .connected)
            try Self.expectMirrored(pair, profile: .aeadAES128GCM)
        }

        /// 10% loss, duplicates and reordering, with and without OpenSSL's own timer (without it,
        /// the manual-time retransmission alone must carry the handshake through).
        @Test(arguments: 1...10, [true, false])
        func completesUnderLossDuplicationAndReordering(seed: Int, usesOpenSSLTimer: Bool) throws {
            var random = SeededRandom(seed: UInt64(seed))
            let pair = try DTLSTestPair(usesOpenSSLTimer: usesOpenSSLTimer)
            var dropped = 0
            pair.client.start(now: pair.now)
            while pair.elapsed < .seconds(60), pair.client.state == .handshaking || pair.server.state == .handshaking {
                pair.pump(
                    deliver: { _, _, _ in
                        let arrives = Double.random(in: 0..<1, using: &random) >= 0.10
                        if !arrives { dropped += 1 }
                        return arrives
                    },
                    reorder: { batch in
                        if let copy = batch.randomElement(using: &random), Bool.random(using: &random) { batch.append(copy) }
                        batch.shuffle(using: &random)
                    })
                if pair.client.state == .connected && pair.server.state == .connected { break }
                guard pair.fireNextTimeout() else { break }
            }
            #expect(pair.client.state == .connected, "seed \(seed): dropped \(dropped), after \(pair.elapsed)")
            #expect(pair.server.state == .connected, "seed \(seed): dropped \(dropped), after \(pair.elapsed)")
            try Self.expectMirrored(pair, profile: .aeadAES128GCM)
        }

        @Test func heavyLossStillCompletesOnManualTimeOnly() throws {
            var random = SeededRandom(seed: 2024)
            var dropped = 0
            var completed = 0
            for _ in 0..<10 {
                let pair = try DTLSTestPair(usesOpenSSLTimer: false)
                pair.client.start(now: pair.now)
                while pair.elapsed < .seconds(120), pair.client.state == .handshaking || pair.server.state == .handshaking {
                    pair.pump(deliver: { _, _, _ in
                        let arrives = Double.random(in: 0..<1, using: &random) >= 0.3
                        if !arrives { dropped += 1 }
                        return arrives
                    })
                    if pair.client.state == .connected && pair.server.state == .connected { break }
                    guard pair.fireNextTimeout() else { break }
                }
                if pair.clientKeys != nil && pair.clientKeys?.localKey == pair.serverKeys?.remoteKey { completed += 1 }
            }
            #expect(dropped >= 10)  // the loss really happened
            #expect(completed >= 9)  // 30% loss: allow one give-up after 7 retransmissions
        }

        @Test func silentPeerTimesOut() throws {
            let pair = try DTLSTestPair(usesOpenSSLTimer: false)
            pair.client.start(now: pair.now)
            var timeouts = 0
            var sent = 0
            while pair.client.pollTransmit() != nil { sent += 1 }
            while pair.client.state == .handshaking, pair.fireNextTimeout() {
                timeouts += 1
                while pair.client.pollTransmit() != nil { sent += 1 }  // into the void
            }
            #expect(sent == 8)  // the ClientHello and its 7 retransmissions
            #expect(pair.clientEvents == [.failed(.handshakeTimedOut(retransmissions: 7))])
            #expect(timeouts == 8)
            // 1 + 2 + 4 + 8 + 8 + 8 + 8 + 8 seconds of manual time, none of wall time.
            #expect(pair.elapsed == .seconds(47))
            #expect(pair.client.nextTimeout == nil)
        }
    }

    @Suite struct Established {
        static func connectedPair() throws -> DTLSTestPair {
            let pair = try DTLSTestPair()
            pair.client.start(now: pair.now)
            pair.pump()
            try #require(pair.client.state == .connected && pair.server.state == .connected)
            return pair
        }

        static func applicationData(in events: [DTLSEvent]) -> [[UInt8]] {
            events.compactMap { if case .applicationData(let bytes) = $0 { bytes } else { nil } }
        }

        @Test func applicationDataRoundTrip() throws {
            let pair = try Self.connectedPair()
            try pair.client.send(Array("ping".utf8))
            pair.pump()
            #expect(Self.applicationData(in: pair.serverEvents) == [Array("ping".utf8)])
            let big = (0..<1000).map { UInt8($0 & 0xFF) }
            try pair.server.send(big)
            pair.pump()
            #expect(Self.applicationData(in: pair.clientEvents) == [big])
        }

        @Test func sendBeforeConnectedIsRefused() throws {
            let pair = try DTLSTestPair()
            #expect(throws: DTLSError.notConnected(state: "idle")) { try pair.client.send([1, 2, 3]) }
        }

        @Test func closeNotifyReachesThePeer() throws {
            let pair = try Self.connectedPair()
            pair.client.close()
            #expect(pair.client.state == .closed)
            pair.pump()
            #expect(pair.serverEvents.last == .closed)
            #expect(pair.server.state == .closed)
            #expect(!pair.clientEvents.contains(.closed))  // we left; no news for us
            #expect(throws: DTLSError.self) { try pair.server.send([1]) }
        }

        @Test func garbageDoesNotBreakAnEstablishedConnection() throws {
            let pair = try Self.connectedPair()
            var random = SeededRandom(seed: 42)
            for round in 0..<500 {
                let length = [0, 1, 12, 13, 14, 100, 1200, 4000][round % 8]
                var garbage = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
                if !garbage.isEmpty && round % 2 == 0 { garbage[0] = UInt8.random(in: 20...63, using: &random) }
                if garbage.count > 3 && round % 4 == 0 { garbage[1] = 0xFE; garbage[2] = 0xFD }  // DTLS 1.2
                pair.client.handle(datagram: garbage, now: pair.now)
                pair.server.handle(datagram: garbage, now: pair.now)
            }
            pair.collectEvents()
            #expect(DTLSTestPair.failure(in: pair.clientEvents) == nil)
            #expect(DTLSTestPair.failure(in: pair.serverEvents) == nil)
            try pair.client.send(Array("still here".utf8))
            pair.pump()
            #expect(Self.applicationData(in: pair.serverEvents).last == Array("still here".utf8))
        }

        @Test func garbageDuringTheHandshakeIsIgnored() throws {
            let pair = try DTLSTestPair()
            var random = SeededRandom(seed: 9)
            pair.client.start(now: pair.now)
            for _ in 0..<200 {
                let garbage = (0..<Int.random(in: 0...300, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
                pair.server.handle(datagram: garbage, now: pair.now)
            }
            pair.pump()
            #expect(pair.client.state == .connected)
            #expect(pair.server.state == .connected)
        }

        @Test func connectionsAndCertificatesAreFreed() throws {
            let connectionsBefore = DTLSConnection.liveInstances
            let certificatesBefore = DTLSCertificate.liveInstances
            do {
                let clientCertificate = try DTLSCertificate()
                let serverCertificate = try DTLSCertificate()
                for index in 0..<100 {
                    let client = try DTLSConnection(
                        certificate: clientCertificate,
                        configuration: DTLSConfiguration(role: .client, remoteFingerprint: serverCertificate.fingerprint))
                    let server = try DTLSConnection(
                        certificate: serverCertificate,
                        configuration: DTLSConfiguration(role: .server, remoteFingerprint: clientCertificate.fingerprint))
                    #expect(DTLSConnection.liveInstances == connectionsBefore + 2)
                    if index % 2 == 0 {  // half of them get as far as a finished handshake
                        let now = ContinuousClock.now
                        client.start(now: now)
                        for _ in 0..<10 {
                            while let datagram = client.pollTransmit() { server.handle(datagram: datagram, now: now) }
                            while let datagram = server.pollTransmit() { client.handle(datagram: datagram, now: now) }
                        }
                        #expect(client.state == .connected)
                    }
                }
                #expect(DTLSCertificate.liveInstances == certificatesBefore + 2)
            }
            #expect(DTLSConnection.liveInstances == connectionsBefore)
            #expect(DTLSCertificate.liveInstances == certificatesBefore)
        }
    }
}

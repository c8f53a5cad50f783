import Relay
import Testing

/// RFC 5769 test vectors (public test data), typed in as hex.
enum RFC5769 {
    static let password = "VOkJxbRl1RmTxUk/WvJxBt"

    /// §2.1 Sample Request (USERNAME padded with spaces, as in the RFC).
    static let request = hex("""
        00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
        80 22 00 10 53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74
        00 24 00 04 6e 00 01 ff
        80 29 00 08 93 2f f9 b1 51 26 3b 36
        00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20
        00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2
        80 28 00 04 e5 7a 3b cf
        """)

    /// §2.2 Sample IPv4 Response: 192.0.2.1:32853.
    static let ipv4Response = hex("""
        01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
        80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
        00 20 00 08 00 01 a1 47 e1 12 a6 43
        00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9 2a f9 ba 53 f0 6b e7 d7
        80 28 00 04 c0 7d 4c 96
        """)

    /// §2.3 Sample IPv6 Response: [2001:db8:1234:5678:11:2233:4455:6677]:32853.
    static let ipv6Response = hex("""
        01 01 00 48 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
        80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
        00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9
        00 08 00 14 a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75 bf e3 ed 41
        80 28 00 04 c8 fb 0b 4c
        """)

    static func hex(_ text: String) -> [UInt8] {
        text.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { UInt8($0, radix: 16) }
    }
}

@Suite struct STUNMessageTests {
    let transactionID = STUNTransactionID(bytes: RFC5769.hex("b7 e7 a7 01 bc 34 d6 86 fa 87 df ae"))!
    var key: [UInt8] { STUNMessage.shortTermKey(password: RFC5769.password) }

    @Test func rfc5769SampleRequestVerifies() throws {
        #expect(RFC5769.request.count == 108)
        let decoded = try STUNMessage.decode(RFC5769.request)
        let message = decoded.message
        #expect(message.messageClass == .request && message.method == .binding)
        #expect(message.transactionID == transactionID)
        #expect(message.username == "evtj:h6vY")
        #expect(message.priority == 0x6E00_01FF)
        #expect(message.iceControlled == 0x932F_F9B1_5126_3B36)
        #expect(message.attributes.first == .software("STUN test client"))
        #expect(decoded.isIntegrityValid(key: key))
        #expect(decoded.isFingerprintValid)
        #expect(!decoded.isIntegrityValid(key: STUNMessage.shortTermKey(password: "wrong")))
    }

    @Test func rfc5769SampleIPv4ResponseVerifies() throws {
        let decoded = try STUNMessage.decode(RFC5769.ipv4Response)
        #expect(decoded.message.messageClass == .successResponse)
        #expect(decoded.message.xorMappedAddress == SocketAddress(ipv4: 192, 0, 2, 1, port: 32853))
        #expect(decoded.message.attributes.first == .software("test vector"))
        #expect(decoded.isIntegrityValid(key: key))
        #expect(decoded.isFingerprintValid)
    }

    @Test func rfc5769SampleIPv6ResponseVerifies() throws {
        let decoded = try STUNMessage.decode(RFC5769.ipv6Response)
        #expect(decoded.message.xorMappedAddress == SocketAddress(ip: "2001:db8:1234:5678:11:2233:4455:6677", port: 32853))
        #expect(decoded.isIntegrityValid(key: key))
        #expect(decoded.isFingerprintValid)
    }

    @Test func integrityAndFingerprintAreSeparateChecks() throws {
        // Flip one byte of SOFTWARE: both fail. Then fix only the fingerprint: integrity still fails.
        var tampered = RFC5769.ipv4Response
        tampered[25] ^= 0x01
        let decoded = try STUNMessage.decode(tampered)
        #expect(!decoded.isIntegrityValid(key: key))
        #expect(!decoded.isFingerprintValid)

        // Corrupt only the fingerprint: integrity still verifies.
        var badFingerprint = RFC5769.ipv4Response
        badFingerprint[badFingerprint.count - 1] ^= 0xFF
        let second = try STUNMessage.decode(badFingerprint)
        #expect(second.isIntegrityValid(key: key))
        #expect(!second.isFingerprintValid)
    }

    @Test func encodesWhatItDecodesWithIntegrityAndFingerprint() throws {
        let message = STUNMessage(messageClass: .request, transactionID: transactionID, attributes: [
            .software("relayd"),
            .username("remote:local"),
            .priority(1_853_824_767),
            .iceControlling(tieBreaker: 0x0123_4567_89AB_CDEF),
            .useCandidate,
            .other(type: 0xC057, value: [1, 2, 3]),
        ])
        let bytes = message.encode(integrityKey: Array("secret".utf8))
        #expect(bytes.count % 4 == 0)
        let decoded = try STUNMessage.decode(bytes)
        #expect(decoded.isIntegrityValid(key: Array("secret".utf8)))
        #expect(!decoded.isIntegrityValid(key: Array("Secret".utf8)))
        #expect(decoded.isFingerprintValid)
        // Decoded = the original attributes, then MESSAGE-INTEGRITY and FINGERPRINT.
        #expect(Array(decoded.message.attributes.prefix(6)) == message.attributes)
        #expect(decoded.message.attributes.count == 8)
        #expect(decoded.message.hasUseCandidate)
    }

    @Test func responsesCarryXorMappedAddressesAndErrorCodes() throws {
        let v6 = try #require(SocketAddress("[2001:db8::42]:65535"))
        for address in [SocketAddress(ipv4: 203, 0, 113, 7, port: 1), v6] {
            let response = STUNMessage(messageClass: .successResponse, transactionID: transactionID,
                                       attributes: [.xorMappedAddress(address), .mappedAddress(address)])
            let decoded = try STUNMessage.decode(response.encode())
            #expect(decoded.message.xorMappedAddress == address)
            #expect(decoded.message.attributes.contains(.mappedAddress(address)))
            #expect(!decoded.hasIntegrity)
        }
        let error = STUNMessage(messageClass: .errorResponse, transactionID: transactionID,
                                attributes: [.errorCode(.roleConflict), .unknownAttributes([0x0042, 0x0043])])
        let decoded = try STUNMessage.decode(error.encode(integrityKey: key))
        #expect(decoded.message.messageClass == .errorResponse)
        #expect(decoded.message.errorCode == STUNErrorCode(code: 487, reason: "Role Conflict"))
        #expect(decoded.message.attributes.contains(.unknownAttributes([0x0042, 0x0043])))
    }

    @Test func messageTypeBitsRoundTripForEveryClass() throws {
        for messageClass in [STUNClass.request, .indication, .successResponse, .errorResponse] {
            for method in [STUNMethod.binding, STUNMethod(rawValue: 0x0FFF), STUNMethod(rawValue: 0x0A5)] {
                let bytes = STUNMessage(method: method, messageClass: messageClass, transactionID: transactionID).encode()
                let decoded = try STUNMessage.decode(bytes)
                #expect(decoded.message.messageClass == messageClass && decoded.message.method == method)
            }
        }
        // Binding success response is 0x0101, as on the wire.
        let bytes = STUNMessage(messageClass: .successResponse, transactionID: transactionID).encode(fingerprint: false)
        #expect(Array(bytes.prefix(4)) == [0x01, 0x01, 0x00, 0x00])
    }

    @Test func attributesAfterIntegrityOtherThanFingerprintAreIgnored() throws {
        // Append a SOFTWARE attribute after MESSAGE-INTEGRITY by hand.
        var bytes = STUNMessage(messageClass: .request, transactionID: transactionID, attributes: [.username("a:b")])
            .encode(integrityKey: key, fingerprint: false)
        bytes += [0x80, 0x22, 0x00, 0x04, 0x61, 0x62, 0x63, 0x64]
        let length = bytes.count - 20
        bytes[2] = UInt8(length >> 8)
        bytes[3] = UInt8(length & 0xFF)
        let decoded = try STUNMessage.decode(bytes)
        #expect(decoded.message.attributes.count == 2)  // USERNAME, MESSAGE-INTEGRITY
        #expect(decoded.isIntegrityValid(key: key))
    }

    @Test func rejectsMalformedHeadersWithReasons() {
        #expect(throws: STUNParseError.tooShort(3)) { try STUNMessage.decode([0, 1, 0]) }
        var notSTUN = RFC5769.ipv4Response
        notSTUN[0] = 0x80
        #expect(throws: STUNParseError.notSTUN) { try STUNMessage.decode(notSTUN) }
        var badCookie = RFC5769.ipv4Response
        badCookie[4] = 0
        #expect(throws: STUNParseError.badMagicCookie) { try STUNMessage.decode(badCookie) }
        #expect(throws: STUNParseError.lengthMismatch(header: 60, datagram: 59)) {
            try STUNMessage.decode(Array(RFC5769.ipv4Response.dropLast()))
        }
        #expect(STUNMessage.looksLikeSTUN(RFC5769.request))
        #expect(!STUNMessage.looksLikeSTUN(notSTUN))
        #expect(!STUNMessage.looksLikeSTUN([0x16, 0xFE, 0xFD]))
    }

    @Test func parserSurvivesRandomTruncatedAndMutatedInput() {
        var random = SplitMix64(seed: 0x5EED)
        let seeds = [RFC5769.request, RFC5769.ipv4Response, RFC5769.ipv6Response]
        var accepted = 0
        for round in 0..<5000 {
            var bytes: [UInt8]
            switch round % 4 {
            case 0:  // pure noise, sometimes with a STUN-looking header
                bytes = (0..<Int.random(in: 0...200, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
                if bytes.count >= 20, Bool.random(using: &random) {
                    bytes[0] &= 0x3F
                    bytes.replaceSubrange(4..<8, with: [0x21, 0x12, 0xA4, 0x42])
                    let length = bytes.count - 20
                    bytes[2] = UInt8(length >> 8)
                    bytes[3] = UInt8(length & 0xFF)
                }
            case 1:  // truncated vector
                let source = seeds[round % 3]
                bytes = Array(source.prefix(Int.random(in: 0...source.count, using: &random)))
            case 2:  // mutated vector, header length kept consistent so attribute parsing is reached
                bytes = seeds[round % 3]
                for _ in 0..<Int.random(in: 1...6, using: &random) {
                    let index = Int.random(in: 20..<bytes.count, using: &random)
                    bytes[index] = UInt8.random(in: 0...255, using: &random)
                }
            default:  // valid header, random attribute TLVs with lying lengths
                bytes = Array(seeds[0].prefix(20))
                for _ in 0..<Int.random(in: 1...8, using: &random) {
                    let type = [0x0001, 0x0006, 0x0008, 0x0009, 0x000A, 0x0020, 0x0024, 0x0025, 0x8028, 0x8029, 0x802A,
                                Int.random(in: 0...0xFFFF, using: &random)].randomElement(using: &random)!
                    let length = Int.random(in: 0...40, using: &random)
                    bytes += [UInt8(type >> 8), UInt8(type & 0xFF), 0, UInt8(length)]
                    bytes += (0..<Int.random(in: 0...44, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
                }
                let length = bytes.count - 20
                bytes[2] = UInt8(truncatingIfNeeded: length >> 8)
                bytes[3] = UInt8(truncatingIfNeeded: length)
            }
            if let decoded = try? STUNMessage.decode(bytes) {
                accepted += 1
                _ = decoded.isIntegrityValid(key: key)
                _ = decoded.isFingerprintValid
                // Whatever decodes re-encodes to something that decodes again.
                #expect((try? STUNMessage.decode(decoded.message.encode(integrityKey: key))) != nil)
            }
        }
        #expect(accepted > 100)  // the mutation rounds reach deep into attribute parsing
    }

    @Test func agentSurvivesRandomDatagrams() {
        var random = SplitMix64(seed: 42)
        for mode in [ICEMode.controlling, .controlled, .lite] {
            var agent = ICEAgent(configuration: ICEConfiguration(
                mode: mode, localCredentials: ICECredentials(ufrag: "evtj", password: RFC5769.password), randomSeed: 3))
            agent.setRemoteCredentials(ICECredentials(ufrag: "h6vY", password: RFC5769.password))
            let local = SocketAddress(ipv4: 10, 0, 0, 1, port: 1)
            let remote = SocketAddress(ipv4: 10, 0, 0, 2, port: 2)
            agent.addLocalAddress(local)
            agent.addRemoteCandidate(.host(remote))
            var now = ContinuousClock.now
            for round in 0..<1000 {
                var bytes = [RFC5769.request, RFC5769.ipv4Response, RFC5769.ipv6Response][round % 3]
                let index = Int.random(in: 0..<bytes.count, using: &random)
                bytes[index] ^= UInt8.random(in: 1...255, using: &random)
                agent.handle(datagram: bytes, from: remote, to: local, now: now)
                now += .milliseconds(7)
                agent.handleTimeout(now: now)
                while agent.pollTransmit() != nil {}
                while agent.pollEvent() != nil {}
            }
            // The untouched RFC request is authentic for a lite agent with ufrag evtj: it answers it.
            if mode == .lite {
                agent.handle(datagram: RFC5769.request, from: remote, to: local, now: now)
                let answer = agent.pollTransmit()
                #expect(answer != nil)
                if let answer, let decoded = try? STUNMessage.decode(answer.bytes) {
                    #expect(decoded.message.messageClass == .successResponse)
                    #expect(decoded.message.xorMappedAddress == remote)
                    #expect(decoded.isIntegrityValid(key: STUNMessage.shortTermKey(password: RFC5769.password)))
                    #expect(decoded.isFingerprintValid)
                }
            }
        }
    }
}

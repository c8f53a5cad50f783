import CSRTP
import Relay
import Testing

@Suite struct SRTPKeyingMaterialTests {
    @Test(arguments: SRTPProfile.allCases)
    func splitsClientAndServerKeys(profile: SRTPProfile) throws {
        let material = (0..<SRTPKeyingMaterial.length(for: profile)).map { UInt8($0) }
        let k = profile.keyLength
        let s = profile.saltLength
        let client = try SRTPKeyingMaterial.split(material, profile: profile, role: .client)
        let server = try SRTPKeyingMaterial.split(material, profile: profile, role: .server)
        #expect(client.local.key == Array(material[0..<k]))
        #expect(client.local.salt == Array(material[(2 * k)..<(2 * k + s)]))
        #expect(client.remote.key == Array(material[k..<(2 * k)]))
        #expect(client.remote.salt == Array(material[(2 * k + s)...]))
        #expect(client.local == server.remote)
        #expect(client.remote == server.local)
        #expect(client.local.keyAndSalt.count == k + s)
    }

    @Test func lengthsPerProfile() {
        #expect(SRTPKeyingMaterial.length(for: .aes128CmSha1_80) == 60)
        #expect(SRTPKeyingMaterial.length(for: .aeadAes128Gcm) == 56)
        #expect(SRTPProfile(opensslName: "SRTP_AEAD_AES_128_GCM") == .aeadAes128Gcm)
        #expect(SRTPProfile(protectionProfileID: 1) == .aes128CmSha1_80)
        #expect(SRTPProfile(opensslName: "SRTP_NULL") == nil)
    }

    @Test func wrongLengthsAreRefused() {
        #expect(throws: SRTPError.self) { try SRTPKeyingMaterial.split([1, 2, 3], profile: .aeadAes128Gcm, role: .client) }
        #expect(throws: SRTPError.self) { try SRTPMasterKey(profile: .aes128CmSha1_80, key: [UInt8](repeating: 0, count: 16), salt: [1]) }
    }
}

@Suite struct SRTPContextTests {
    /// A client→server pair: the client protects with its local key; the server's inbound
    /// context unprotects with its remote key (the same bytes).
    struct Pair {
        let sender: SRTPContext
        let receiver: SRTPContext

        init(_ profile: SRTPProfile, from role: SRTPKeyingMaterial.Role = .client, seed: UInt8 = 7) throws {
            let material = (0..<SRTPKeyingMaterial.length(for: profile)).map { UInt8(truncatingIfNeeded: Int($0) * 31 + Int(seed)) }
            let senderKeys = try SRTPKeyingMaterial.split(material, profile: profile, role: role)
            let receiverKeys = try SRTPKeyingMaterial.split(material, profile: profile, role: role == .client ? .server : .client)
            sender = try SRTPContext(key: senderKeys.local, direction: .outbound)
            receiver = try SRTPContext(key: receiverKeys.remote, direction: .inbound)
        }
    }

    static func rtp(_ sequence: UInt16, payload: [UInt8] = Array(0..<160)) -> [UInt8] {
        RTPPacketBuilder(
            marker: true, payloadType: 96, sequenceNumber: sequence, timestamp: 3000 * UInt32(sequence), ssrc: 0x5EED_0001,
            extensions: [.init(id: 1, data: [0, 1, 2])], payload: payload
        ).serialize()
    }

    static let rtcp = RTCPCompound.serialize([
        .receiverReport(RTCPReceiverReport(ssrc: 0x5EED_0002)),
        .sourceDescription(RTCPSourceDescription(ssrc: 0x5EED_0002, cname: "relayd")),
        .pictureLossIndication(RTCPPictureLossIndication(senderSSRC: 0x5EED_0002, mediaSSRC: 0x5EED_0001)),
    ])

    @Test(arguments: SRTPProfile.allCases, [SRTPKeyingMaterial.Role.client, .server])
    func rtpRoundTripsInPlace(profile: SRTPProfile, role: SRTPKeyingMaterial.Role) throws {
        let pair = try Pair(profile, from: role)
        for sequence in UInt16(65530)...65535 {
            let plain = Self.rtp(sequence)
            var packet = plain
            packet.reserveCapacity(packet.count + SRTPContext.protectOverhead)
            let capacity = packet.capacity
            #expect(pair.sender.protectRTP(&packet) == .ok)
            #expect(packet.count == plain.count + profile.rtpAuthTagLength)
            #expect(packet.capacity == capacity)  // no reallocation
            #expect(Array(packet.prefix(12)) == Array(plain.prefix(12)))  // header stays clear
            #expect(packet[plain.count - 160..<plain.count] != plain[plain.count - 160..<plain.count])  // payload encrypted
            #expect(pair.receiver.unprotectRTP(&packet) == .ok)
            #expect(packet == plain)
        }
        #expect(pair.sender.counters.rtpPackets == 6)
        #expect(pair.receiver.counters == { var c = SRTPCounters(); c.rtpPackets = 6; return c }())
    }

    @Test(arguments: SRTPProfile.allCases)
    func rtcpRoundTrips(profile: SRTPProfile) throws {
        let pair = try Pair(profile)
        var packet = Self.rtcp
        #expect(pair.sender.protectRTCP(&packet) == .ok)
        #expect(packet.count == Self.rtcp.count + profile.rtcpTrailerLength)
        #expect(PacketDemux.classify(packet) == .rtcp)
        let protected = packet
        #expect(pair.receiver.unprotectRTCP(&packet) == .ok)
        #expect(packet == Self.rtcp)
        #expect(try RTCPCompound.parse(packet).count == 3)

        var again = protected
        #expect(pair.receiver.unprotectRTCP(&again) == .replay)
        // A fresh packet (an already-seen index fails the replay check before authentication).
        var tampered = Self.rtcp
        #expect(pair.sender.protectRTCP(&tampered) == .ok)
        tampered[10] ^= 0x01
        #expect(pair.receiver.unprotectRTCP(&tampered) == .authFailure)
        #expect(pair.receiver.counters.rtcpPackets == 1)
        #expect(pair.receiver.counters.replays == 1)
        #expect(pair.receiver.counters.authFailures == 1)
    }

    @Test(arguments: SRTPProfile.allCases)
    func replayIsCountedAsReplayNotAuthFailure(profile: SRTPProfile) throws {
        let pair = try Pair(profile)
        var packet = Self.rtp(100)
        #expect(pair.sender.protectRTP(&packet) == .ok)
        var first = packet
        var second = packet
        #expect(pair.receiver.unprotectRTP(&first) == .ok)
        #expect(pair.receiver.unprotectRTP(&second) == .replay)
        #expect(pair.receiver.counters.replays == 1)
        #expect(pair.receiver.counters.authFailures == 0)
    }

    @Test(arguments: SRTPProfile.allCases)
    func packetsOlderThanTheWindowAreReplays(profile: SRTPProfile) throws {
        let pair = try Pair(profile)
        var protected: [[UInt8]] = []
        for sequence in UInt16(1)...1200 {
            var packet = Self.rtp(sequence, payload: [1, 2, 3])
            #expect(pair.sender.protectRTP(&packet) == .ok)
            protected.append(packet)
        }
        // Deliver everything but the first; then the first is beyond the 1024 window.
        for var packet in protected.dropFirst() { #expect(pair.receiver.unprotectRTP(&packet) == .ok) }
        var old = protected[0]
        #expect(pair.receiver.unprotectRTP(&old) == .replay)
        #expect(pair.receiver.counters.replays == 1)
        #expect(pair.receiver.counters.rtpPackets == 1199)
    }

    @Test(arguments: SRTPProfile.allCases)
    func reorderedPacketsInsideTheWindowAreAccepted(profile: SRTPProfile) throws {
        let pair = try Pair(profile)
        var protected: [[UInt8]] = []
        for sequence in UInt16(65500)...65535 {
            var packet = Self.rtp(sequence)
            _ = pair.sender.protectRTP(&packet)
            protected.append(packet)
        }
        for sequence in UInt16(0)..<20 {
            var packet = Self.rtp(sequence)
            _ = pair.sender.protectRTP(&packet)
            protected.append(packet)
        }
        // libsrtp takes the first packet of a stream as its rollover reference, so that one
        // comes first; everything after it may arrive in any order, across the wrap.
        var rng = SeededRandom(seed: 42)
        for var packet in [protected[0]] + protected.dropFirst().shuffled(using: &rng) {
            #expect(pair.receiver.unprotectRTP(&packet) == .ok)
        }
        #expect(pair.receiver.counters.rtpPackets == protected.count)
    }

    @Test(arguments: SRTPProfile.allCases)
    func tamperedPacketIsAnAuthFailure(profile: SRTPProfile) throws {
        let pair = try Pair(profile)
        for index in [2, 12, 40, 150] {  // sequence number, extension, payload, payload
            var packet = Self.rtp(UInt16(index))
            #expect(pair.sender.protectRTP(&packet) == .ok)
            packet[index] ^= 0x80
            #expect(pair.receiver.unprotectRTP(&packet) == .authFailure)
        }
        var cutTag = Self.rtp(999)
        #expect(pair.sender.protectRTP(&cutTag) == .ok)
        cutTag.removeLast()
        #expect(pair.receiver.unprotectRTP(&cutTag) == .authFailure)
        #expect(pair.receiver.counters.authFailures == 5)
        #expect(pair.receiver.counters.rtpPackets == 0)
    }

    @Test(arguments: SRTPProfile.allCases)
    func wrongKeyIsAnAuthFailure(profile: SRTPProfile) throws {
        let a = try Pair(profile, seed: 1)
        let b = try Pair(profile, seed: 2)
        var packet = Self.rtp(1)
        #expect(a.sender.protectRTP(&packet) == .ok)
        #expect(b.receiver.unprotectRTP(&packet) == .authFailure)
    }

    @Test func protectOverheadCoversLibsrtpsMaximumTrailer() {
        #expect(SRTPContext.protectOverhead >= Int(SRTP_MAX_TRAILER_LEN))
        for profile in SRTPProfile.allCases { #expect(profile.rtcpTrailerLength <= SRTPContext.protectOverhead) }
    }

    @Test func outboundAllowsRepeatedSequenceNumbersForRTX() throws {
        let pair = try Pair(.aes128CmSha1_80)
        var first = Self.rtp(5)
        var resend = Self.rtp(5)
        #expect(pair.sender.protectRTP(&first) == .ok)
        #expect(pair.sender.protectRTP(&resend) == .ok)
        #expect(first == resend)
    }

    @Test func contextsRefuseTheWrongDirectionAndShortBuffers() throws {
        let pair = try Pair(.aeadAes128Gcm)
        var packet = Self.rtp(1)
        guard case .failed(let error) = pair.receiver.protectRTP(&packet) else {
            Issue.record("inbound context protected a packet")
            return
        }
        #expect(error.reason == .wrongDirection)
        #expect(packet == Self.rtp(1))
        guard case .failed = pair.sender.unprotectRTP(&packet) else {
            Issue.record("outbound context unprotected a packet")
            return
        }
        var tiny: [UInt8] = [0x80, 0x60, 0, 1]
        guard case .failed(let short) = pair.receiver.unprotectRTP(&tiny) else {
            Issue.record("4-byte packet accepted")
            return
        }
        #expect(short.reason == .packetTooShort(length: 4))

        let plain = Self.rtp(2)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: plain.count + 10, alignment: 8)
        defer { buffer.deallocate() }
        buffer.copyBytes(from: plain)
        var length = plain.count
        guard case .failed(let small) = pair.sender.protectRTP(buffer, length: &length) else {
            Issue.record("protect ran without room for the trailer")
            return
        }
        #expect(small.reason == .bufferTooSmall(needed: plain.count + SRTPContext.protectOverhead, capacity: plain.count + 10))
        #expect(pair.sender.counters.otherFailures == 2)
    }

    @Test(arguments: SRTPProfile.allCases)
    func bufferAPIRoundTrips(profile: SRTPProfile) throws {
        let pair = try Pair(profile)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1500, alignment: 8)
        defer { buffer.deallocate() }
        let plain = Self.rtp(77)
        buffer.copyBytes(from: plain)
        var length = plain.count
        #expect(pair.sender.protectRTP(buffer, length: &length) == .ok)
        #expect(length == plain.count + profile.rtpAuthTagLength)
        #expect(pair.receiver.unprotectRTP(buffer, length: &length) == .ok)
        #expect(length == plain.count)
        #expect(Array(buffer[0..<length]) == plain)

        buffer.copyBytes(from: Self.rtcp)
        length = Self.rtcp.count
        #expect(pair.sender.protectRTCP(buffer, length: &length) == .ok)
        #expect(pair.receiver.unprotectRTCP(buffer, length: &length) == .ok)
        #expect(Array(buffer[0..<length]) == Self.rtcp)
    }

    @Test(arguments: SRTPProfile.allCases)
    func randomInputNeverUnprotects(profile: SRTPProfile) throws {
        let pair = try Pair(profile)
        var rng = SeededRandom(seed: 0x5EED)
        var genuine = Self.rtp(1)
        _ = pair.sender.protectRTP(&genuine)
        var genuineRTCP = Self.rtcp
        _ = pair.sender.protectRTCP(&genuineRTCP)
        for round in 0..<5000 {
            var packet: [UInt8]
            switch round % 3 {
            case 0: packet = rng.bytes(Int.random(in: 0...300, using: &rng))
            case 1: packet = Array(genuine.prefix(Int.random(in: 0...genuine.count, using: &rng)))
            default: packet = Array(genuineRTCP.prefix(Int.random(in: 0...genuineRTCP.count, using: &rng)))
            }
            if !packet.isEmpty, round % 2 == 0 { packet[0] = 0x80 | (packet[0] & 0x3F) }
            var asRTCP = packet
            let isGenuine = packet == genuine
            let outcome = pair.receiver.unprotectRTP(&packet)
            if !isGenuine { #expect(outcome != .ok) }
            _ = pair.receiver.unprotectRTCP(&asRTCP)
        }
        // Only the full genuine packets (if ever drawn) can succeed.
        #expect(pair.receiver.counters.rtpPackets <= 1)
        #expect(pair.receiver.counters.rtcpPackets <= 1)
    }
}

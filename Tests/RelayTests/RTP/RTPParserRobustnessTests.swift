import Relay
import Testing

/// Seeded random, truncated and bit-flipped input into every parser here: they must answer
/// (a value or an error), never trap, and whatever they return must stay inside the input.
@Suite struct RTPParserRobustnessTests {
    static let rounds = 5000

    static let validRTP: [[UInt8]] = [
        RTPPacketViewTests.oneByteExtensionPacket,
        RTPPacketViewTests.twoByteExtensionPacket,
        RTPPacketBuilder(
            marker: true, payloadType: 100, sequenceNumber: 1, timestamp: 2, ssrc: 3, csrcs: [4, 5],
            extensions: [.init(id: 200, data: [1, 2]), .init(id: 3, data: [])], payload: Array(0..<50), paddingLength: 4
        ).serialize(),
    ]

    static let validRTCP: [UInt8] = RTCPCompound.serialize(RTCPRoundTripTests.everyType)
        + RTCPFeedbackWireTests.twcc + RTCPFeedbackWireTests.remb

    /// Random bytes, a truncated valid packet, or a valid packet with random bytes flipped.
    static func input(_ round: Int, valid: [UInt8], rng: inout SeededRandom) -> [UInt8] {
        switch round % 4 {
        case 0:
            var bytes = rng.bytes(Int.random(in: 0...200, using: &rng))
            if !bytes.isEmpty { bytes[0] = 0x80 | (bytes[0] & 0x3F) }  // get past the version check
            return bytes
        case 1:
            return Array(valid.prefix(Int.random(in: 0...valid.count, using: &rng)))
        case 2:
            var bytes = valid
            for _ in 0..<Int.random(in: 1...6, using: &rng) {
                bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            return bytes
        default:
            return valid + rng.bytes(Int.random(in: 1...2000, using: &rng))  // oversized / trailing junk
        }
    }

    @Test func rtpParserNeverTraps() {
        var rng = SeededRandom(seed: 1)
        var parsed = 0
        for round in 0..<Self.rounds {
            let bytes = Self.input(round, valid: Self.validRTP[round % Self.validRTP.count], rng: &rng)
            _ = PacketDemux.classify(bytes)
            guard let view = try? RTPPacketView.parse(bytes) else { continue }
            parsed += 1
            #expect(view.payloadRange.upperBound <= bytes.count)
            #expect(view.extensionRange.upperBound <= view.payloadRange.lowerBound)
            #expect(view.payloadRange.upperBound + view.paddingLength == bytes.count)
            for element in view.extensionElements(in: bytes) {
                #expect(element.data.count <= view.extensionRange.count)
            }
            _ = view.csrcs(in: bytes)
            _ = view.rtxOriginalSequenceNumber(in: bytes)
            bytes.withUnsafeBytes { raw in
                view.forEachExtensionElement(in: raw) { _, range in
                    #expect(view.extensionRange.contains(range.lowerBound) || range.isEmpty)
                    #expect(range.upperBound <= view.extensionRange.upperBound)
                }
            }
        }
        #expect(parsed > Self.rounds / 4)  // the mix really exercises the success path too
    }

    @Test func rtcpParserNeverTraps() {
        var rng = SeededRandom(seed: 2)
        var parsed = 0
        for round in 0..<Self.rounds {
            let bytes = Self.input(round, valid: Self.validRTCP, rng: &rng)
            guard let packets = try? RTCPCompound.parse(bytes) else { continue }
            parsed += 1
            // Whatever parsed must serialize and parse again.
            let again = RTCPCompound.serialize(packets)
            #expect((try? RTCPCompound.parse(again)) != nil)
        }
        #expect(parsed > 0)
    }

    @Test func rtcpSingleTypesSurviveTruncationAtEveryLength() {
        for packet in RTCPRoundTripTests.everyType {
            let bytes = packet.serialize()
            for length in 0..<bytes.count {
                var cut = Array(bytes.prefix(length))
                _ = try? RTCPCompound.parse(cut)
                // Keep the declared length consistent with the cut so bodies themselves are short.
                if length >= 4, length % 4 == 0 {
                    cut[2] = UInt8((length / 4 - 1) >> 8)
                    cut[3] = UInt8((length / 4 - 1) & 0xFF)
                    _ = try? RTCPCompound.parse(cut)
                }
            }
        }
    }

    @Test func extendedSequenceIsAlwaysNearTheHighest() {
        var rng = SeededRandom(seed: 3)
        var extender = RTPSequenceExtender()
        for _ in 0..<Self.rounds {
            let sequence = UInt16.random(in: 0...UInt16.max, using: &rng)
            let before = extender.highest
            let extended = extender.extend(sequence)
            #expect(UInt16(truncatingIfNeeded: extended) == sequence)
            if let before { #expect(abs(extended - before) <= 32768) }
        }
    }
}

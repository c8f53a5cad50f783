import Relay
import Testing

@Suite struct RTCPRoundTripTests {
    static let block = RTCPReportBlock(
        ssrc: 0x1111_2222, fractionLost: 25, cumulativeLost: -3, extendedHighestSequence: 0x0001_0005,
        jitter: 120, lastSenderReport: 0xAABB_CCDD, delaySinceLastSenderReport: 65536)

    static let everyType: [RTCPPacket] = [
        .senderReport(RTCPSenderReport(
            ssrc: 1, ntpTimestamp: 0xE8F0_1234_5678_9ABC, rtpTimestamp: 90000, packetCount: 10, octetCount: 12000,
            reports: [block, block])),
        .senderReport(RTCPSenderReport(ssrc: 2, ntpTimestamp: 0, rtpTimestamp: 0, packetCount: 0, octetCount: 0)),
        .receiverReport(RTCPReceiverReport(ssrc: 3, reports: [block])),
        .receiverReport(RTCPReceiverReport(ssrc: 4)),
        .sourceDescription(RTCPSourceDescription(ssrc: 5, cname: "relayd/guest1")),
        .sourceDescription(RTCPSourceDescription(chunks: [
            .init(ssrc: 6, items: [.cname("abc"), .init(type: 6, value: Array("tool".utf8))]),
            .init(ssrc: 7, items: [.cname("")]),
            .init(ssrc: 8, items: []),
        ])),
        .bye(RTCPBye(ssrcs: [9, 10], reason: "guest left")),
        .bye(RTCPBye(ssrcs: [11])),
        .genericNACK(RTCPGenericNACK(senderSSRC: 12, mediaSSRC: 13, lost: [100, 101, 117, 65535, 2])),
        .transportWideFeedback(RTCPTransportWideFeedback(
            senderSSRC: 14, mediaSSRC: 15, baseSequenceNumber: 65530, referenceTime: -2, feedbackPacketCount: 255,
            packets: (0..<40).map { i in
                let sequence = UInt16((65530 + i) & 0xFFFF)
                if i % 9 == 4 { return .notReceived(sequence) }
                return .received(sequence, delta: i % 5 == 0 ? Int16(-50 * i) : Int16(i * 3))
            })),
        .pictureLossIndication(RTCPPictureLossIndication(senderSSRC: 16, mediaSSRC: 17)),
        .fullIntraRequest(RTCPFullIntraRequest(senderSSRC: 18, entries: [.init(ssrc: 19, sequenceNumber: 200), .init(ssrc: 20, sequenceNumber: 1)])),
        .receiverEstimatedMaxBitrate(RTCPReceiverEstimatedMaxBitrate(senderSSRC: 21, bitrate: 2_500_000, ssrcs: [22, 23])),
        .unknown(RTCPUnknownPacket(packetType: 204, count: 3, body: [0, 0, 0, 1, 0x61, 0x62, 0x63, 0x64])),  // APP
    ]

    @Test(arguments: everyType)
    func eachTypeRoundTrips(packet: RTCPPacket) throws {
        let bytes = packet.serialize()
        #expect(bytes.count % 4 == 0)
        #expect(bytes[0] >> 6 == 2)
        #expect(Int(bytes[2]) << 8 | Int(bytes[3]) == bytes.count / 4 - 1)
        #expect(PacketDemux.classify(bytes) == .rtcp)
        #expect(try RTCPCompound.parse(bytes) == [packet])
    }

    @Test func compoundIsOrderedReportsThenSDESThenFeedbackThenBye() throws {
        let nack = RTCPPacket.genericNACK(RTCPGenericNACK(senderSSRC: 1, mediaSSRC: 2, lost: [5]))
        let sdes = RTCPPacket.sourceDescription(RTCPSourceDescription(ssrc: 1, cname: "x"))
        let rr = RTCPPacket.receiverReport(RTCPReceiverReport(ssrc: 1, reports: [Self.block]))
        let remb = RTCPPacket.receiverEstimatedMaxBitrate(RTCPReceiverEstimatedMaxBitrate(senderSSRC: 1, bitrate: 1_000_000, ssrcs: [2]))
        let bye = RTCPPacket.bye(RTCPBye(ssrcs: [1]))
        let pli = RTCPPacket.pictureLossIndication(RTCPPictureLossIndication(senderSSRC: 1, mediaSSRC: 2))
        let bytes = RTCPCompound.serialize([nack, bye, sdes, rr, remb, pli])
        #expect(bytes.first == 0x81 && bytes[1] == 201)
        #expect(try RTCPCompound.parse(bytes) == [rr, sdes, nack, remb, pli, bye])
        #expect(try RTCPCompound.parse(RTCPCompound.serialize(Self.everyType)).count == Self.everyType.count)
    }

    @Test func receiverReportWireBytes() {
        let bytes = RTCPPacket.receiverReport(RTCPReceiverReport(ssrc: 0x0102_0304, reports: [Self.block])).serialize()
        #expect(bytes == [
            0x81, 201, 0x00, 0x07, 0x01, 0x02, 0x03, 0x04,
            0x11, 0x11, 0x22, 0x22, 25, 0xFF, 0xFF, 0xFD,
            0x00, 0x01, 0x00, 0x05, 0x00, 0x00, 0x00, 120,
            0xAA, 0xBB, 0xCC, 0xDD, 0x00, 0x01, 0x00, 0x00,
        ])
    }

    @Test func senderReportCompactNTP() {
        let sr = RTCPSenderReport(ssrc: 1, ntpTimestamp: 0xE8F0_1234_5678_9ABC, rtpTimestamp: 0, packetCount: 0, octetCount: 0)
        #expect(sr.compactNTP == 0x1234_5678)
    }

    @Test func sdesChunksArePaddedTo32Bits() throws {
        // "ab": 4 ssrc + 2 header + 2 text + 1 end = 9 → 12 bytes; total 16.
        let bytes = RTCPPacket.sourceDescription(RTCPSourceDescription(ssrc: 1, cname: "ab")).serialize()
        #expect(bytes == [0x81, 202, 0, 3, 0, 0, 0, 1, 1, 2, 0x61, 0x62, 0, 0, 0, 0])
        // 4 + 2 + 6 = 12 bytes: a full word, so the null item takes a whole padding word.
        let three = RTCPPacket.sourceDescription(RTCPSourceDescription(ssrc: 1, cname: "abcdef")).serialize()
        #expect(three.count == 4 + 4 + 2 + 6 + 4)
        guard case .sourceDescription(let parsed)? = try RTCPCompound.parse(three).first else {
            Issue.record("not SDES")
            return
        }
        #expect(parsed.chunks.first?.cname == "abcdef")
    }

    @Test func unknownTypesAreSkippedByLength() throws {
        let app: [UInt8] = [0x80, 204, 0, 2, 0, 0, 0, 1, 0x61, 0x62, 0x63, 0x64]
        let xr: [UInt8] = [0x80, 207, 0, 1, 0, 0, 0, 9]
        let pli = RTCPPacket.pictureLossIndication(RTCPPictureLossIndication(senderSSRC: 1, mediaSSRC: 2))
        let parsed = try RTCPCompound.parse(app + xr + pli.serialize())
        #expect(parsed.count == 3)
        #expect(parsed[1] == .unknown(RTCPUnknownPacket(packetType: 207, count: 0, body: [0, 0, 0, 9])))
        #expect(parsed[2] == pli)
    }

    @Test func applicationFeedbackOtherThanREMBIsUnknown() throws {
        let bytes: [UInt8] = [0x8F, 206, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0, 0x41, 0x42, 0x43, 0x44]
        #expect(try RTCPCompound.parse(bytes) == [
            .unknown(RTCPUnknownPacket(packetType: 206, count: 15, body: Array(bytes[4...]))),
        ])
    }

    @Test func paddedPacketIsParsedWithoutItsPadding() throws {
        // A PLI with the P bit and 4 bytes of padding.
        let bytes: [UInt8] = [0xA1, 206, 0, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 4]
        #expect(try RTCPCompound.parse(bytes) == [.pictureLossIndication(.init(senderSSRC: 1, mediaSSRC: 2))])
    }

    @Test func framingErrorsSayWhere() {
        let pli = RTCPPacket.pictureLossIndication(RTCPPictureLossIndication(senderSSRC: 1, mediaSSRC: 2)).serialize()
        #expect(throws: RTCPParseError.tooShort(offset: 12, available: 2)) { try RTCPCompound.parse(pli + [0x80, 200]) }
        #expect(throws: RTCPParseError.lengthBeyondBuffer(offset: 0, declared: 12, available: 11)) {
            try RTCPCompound.parse(Array(pli.prefix(11)))
        }
        #expect(throws: RTCPParseError.badVersion(offset: 0, version: 0)) { try RTCPCompound.parse([0, 0, 0, 0]) }
        #expect(throws: RTCPParseError.truncatedBody(packetType: 200, needed: 24, available: 4)) {
            try RTCPCompound.parse([0x80, 200, 0, 1, 0, 0, 0, 1])
        }
        #expect(throws: RTCPParseError.truncatedBody(packetType: 201, needed: 28, available: 4)) {
            try RTCPCompound.parse([0x81, 201, 0, 1, 0, 0, 0, 1])
        }
        #expect(throws: RTCPParseError.badPadding(offset: 0, paddingLength: 9)) {
            try RTCPCompound.parse([0xA1, 206, 0, 2, 0, 0, 0, 1, 0, 0, 0, 9])
        }
    }
}

@Suite struct RTCPGenericNACKTests {
    @Test func expandsPIDAndBLP() {
        let nack = RTCPGenericNACK(senderSSRC: 1, mediaSSRC: 2, entries: [
            .init(packetID: 100, bitmask: 0b101),
            .init(packetID: 65535, bitmask: 0x8001),
            .init(packetID: 7, bitmask: 0),
        ])
        #expect(nack.lostSequenceNumbers == [100, 101, 103, 65535, 0, 15, 7])
    }

    @Test(arguments: [
        ([UInt16](), [RTCPGenericNACK.Entry]()),
        ([5], [.init(packetID: 5, bitmask: 0)]),
        ([100, 101, 103, 116, 117, 200], [
            .init(packetID: 100, bitmask: 0x8005), .init(packetID: 117, bitmask: 0), .init(packetID: 200, bitmask: 0),
        ]),
        ([65534, 65535, 0, 5], [.init(packetID: 65534, bitmask: 0b100_0011)]),
        ([10, 10, 11, 11], [.init(packetID: 10, bitmask: 1)]),
        (Array(1...17), [.init(packetID: 1, bitmask: 0xFFFF)]),
        (Array(1...18), [.init(packetID: 1, bitmask: 0xFFFF), .init(packetID: 18, bitmask: 0)]),
    ] as [([UInt16], [RTCPGenericNACK.Entry])])
    func packsSortedLossesIntoEntries(lost: [UInt16], expected: [RTCPGenericNACK.Entry]) throws {
        let nack = RTCPGenericNACK(senderSSRC: 1, mediaSSRC: 2, lost: lost)
        #expect(nack.entries == expected)
        var unique: [UInt16] = []
        for s in lost where unique.last != s { unique.append(s) }
        #expect(nack.lostSequenceNumbers == unique)
        #expect(try RTCPCompound.parse(RTCPPacket.genericNACK(nack).serialize()) == [.genericNACK(nack)])
    }

    @Test func wireBytes() {
        let bytes = RTCPPacket.genericNACK(RTCPGenericNACK(senderSSRC: 0x0A0B_0C0D, mediaSSRC: 0x0102_0304, lost: [0x1234, 0x1236])).serialize()
        #expect(bytes == [0x81, 205, 0, 3, 0x0A, 0x0B, 0x0C, 0x0D, 1, 2, 3, 4, 0x12, 0x34, 0x00, 0x02])
    }
}

@Suite struct RTCPFeedbackWireTests {
    /// REMB as Chrome sends it: FMT 15, PT 206, media SSRC 0, "REMB", 1 SSRC, exp 3 mantissa 250000.
    static let remb: [UInt8] = [
        0x8F, 0xCE, 0x00, 0x05,
        0x12, 0x34, 0x56, 0x78,
        0x00, 0x00, 0x00, 0x00,
        0x52, 0x45, 0x4D, 0x42,
        0x01, 0x0F, 0xD0, 0x90,
        0xCA, 0xFE, 0xBA, 0xBE,
    ]

    @Test func parsesAndWritesChromeREMB() throws {
        let expected = RTCPReceiverEstimatedMaxBitrate(senderSSRC: 0x1234_5678, bitrate: 2_000_000, ssrcs: [0xCAFE_BABE])
        #expect(try RTCPCompound.parse(Self.remb) == [.receiverEstimatedMaxBitrate(expected)])
        #expect(expected.wireExponentAndMantissa == (3, 250_000))
        #expect(RTCPPacket.receiverEstimatedMaxBitrate(expected).serialize() == Self.remb)
    }

    @Test func rembRoundsLargeBitratesDownTo18SignificantBits() throws {
        let remb = RTCPReceiverEstimatedMaxBitrate(senderSSRC: 1, bitrate: 123_456_789, ssrcs: [])
        guard case .receiverEstimatedMaxBitrate(let parsed)? = try RTCPCompound.parse(RTCPPacket.receiverEstimatedMaxBitrate(remb).serialize()).first else {
            Issue.record("not REMB")
            return
        }
        #expect(parsed.bitrate <= 123_456_789)
        #expect(parsed.bitrate > 123_456_789 - (1 << 9))
        #expect(parsed.ssrcs.isEmpty)
    }

    /// TWCC as libwebrtc lays it out (P bit and padding count at the end): base 1000, 10 statuses,
    /// a run-length chunk (5 × small delta) and a two-bit status vector [large, none, small, small, none].
    static let twcc: [UInt8] = [
        0xAF, 0xCD, 0x00, 0x08,
        0x00, 0x00, 0x00, 0x01,
        0x00, 0x00, 0x00, 0x02,
        0x03, 0xE8, 0x00, 0x0A,
        0x01, 0x23, 0x45, 0x07,
        0x20, 0x05, 0xE1, 0x40,
        0x04, 0x08, 0x00, 0xFF, 0x01, 0xFF, 0x9C, 0x10,
        0x20, 0x00, 0x00, 0x03,
    ]

    @Test func parsesTWCCHeaderChunksAndDeltas() throws {
        guard case .transportWideFeedback(let fb)? = try RTCPCompound.parse(Self.twcc).first else {
            Issue.record("not TWCC")
            return
        }
        #expect(fb.senderSSRC == 1 && fb.mediaSSRC == 2)
        #expect(fb.baseSequenceNumber == 1000)
        #expect(fb.packetStatusCount == 10)
        #expect(fb.referenceTime == 0x012345)
        #expect(fb.feedbackPacketCount == 7)
        #expect(fb.packets == [
            .received(1000, delta: 4), .received(1001, delta: 8), .received(1002, delta: 0),
            .received(1003, delta: 255), .received(1004, delta: 1),
            .received(1005, delta: -100), .notReceived(1006),
            .received(1007, delta: 16), .received(1008, delta: 32), .notReceived(1009),
        ])
        let again = try RTCPCompound.parse(RTCPPacket.transportWideFeedback(fb).serialize())
        #expect(again == [.transportWideFeedback(fb)])
    }

    @Test func twccNegativeReferenceTimeAndLongRuns() throws {
        let fb = RTCPTransportWideFeedback(
            senderSSRC: 1, mediaSSRC: 2, baseSequenceNumber: 0, referenceTime: -1, feedbackPacketCount: 0,
            packets: (0..<9000).map { UInt16($0) }.map { $0 < 8500 ? .notReceived($0) : .received($0, delta: 1) })
        let bytes = RTCPPacket.transportWideFeedback(fb).serialize()
        #expect(bytes.count < 600)  // runs are run-length coded
        #expect(try RTCPCompound.parse(bytes) == [.transportWideFeedback(fb)])
    }

    @Test func twccTruncatedDeltasAreAnError() {
        // No padding and the last delta byte cut off: 8 of 9 delta bytes.
        var bytes = Array(Self.twcc.prefix(32))
        bytes[0] = 0x8F
        bytes[3] = 0x07
        #expect(throws: RTCPParseError.self) { try RTCPCompound.parse(bytes) }
    }

    @Test func firWireBytes() {
        let fir = RTCPFullIntraRequest(senderSSRC: 1, entries: [.init(ssrc: 0xAABB_CCDD, sequenceNumber: 9)])
        #expect(RTCPPacket.fullIntraRequest(fir).serialize() == [
            0x84, 206, 0, 4, 0, 0, 0, 1, 0, 0, 0, 0, 0xAA, 0xBB, 0xCC, 0xDD, 9, 0, 0, 0,
        ])
    }

    @Test func byeReasonWireBytes() throws {
        let bytes = RTCPPacket.bye(RTCPBye(ssrcs: [1], reason: "bye")).serialize()
        #expect(bytes == [0x81, 203, 0, 2, 0, 0, 0, 1, 3, 0x62, 0x79, 0x65])
    }
}

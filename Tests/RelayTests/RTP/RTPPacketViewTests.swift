import Relay
import Testing

@Suite struct RTPPacketViewTests {
    /// V=2 P=1 X=1 CC=2, M=1 PT=96, seq 0x1234, ts 4096, two CSRCs, a one-byte extension block
    /// with padding between elements, 3 payload bytes, 3 padding bytes.
    static let oneByteExtensionPacket: [UInt8] = [
        0xB2, 0xE0, 0x12, 0x34,
        0x00, 0x00, 0x10, 0x00,
        0xDE, 0xAD, 0xBE, 0xEF,
        0x00, 0x00, 0x00, 0x01,
        0x00, 0x00, 0x00, 0x02,
        0xBE, 0xDE, 0x00, 0x02,
        0x10, 0xAA, 0x00, 0x22, 0xBB, 0xCC, 0xDD, 0x00,
        0x01, 0x02, 0x03,
        0x00, 0x00, 0x03,
    ]

    /// X=1 with profile 0x1000 (two-byte): id 5 with no data, id 16 with 3 bytes, one padding byte.
    static let twoByteExtensionPacket: [UInt8] = [
        0x90, 0x60, 0x00, 0x01,
        0x00, 0x00, 0x00, 0x01,
        0x01, 0x02, 0x03, 0x04,
        0x10, 0x00, 0x00, 0x02,
        0x05, 0x00, 0x10, 0x03, 0x01, 0x02, 0x03, 0x00,
        0xFF,
    ]

    @Test func parsesFixedHeaderCSRCsOneByteExtensionAndPadding() throws {
        let packet = Self.oneByteExtensionPacket
        let view = try RTPPacketView.parse(packet)
        #expect(view.version == 2)
        #expect(view.hasPadding && view.hasExtension && view.marker)
        #expect(view.payloadType == 96)
        #expect(view.sequenceNumber == 0x1234)
        #expect(view.timestamp == 4096)
        #expect(view.ssrc == 0xDEAD_BEEF)
        #expect(view.csrcCount == 2)
        #expect(view.csrcs(in: packet) == [1, 2])
        #expect(view.extensionProfile == 0xBEDE)
        #expect(view.extensionForm == .oneByte)
        #expect(view.extensionRange == 24..<32)
        #expect(view.extensionElement(id: 1, in: packet) == [0xAA])
        #expect(view.extensionElement(id: 2, in: packet) == [0xBB, 0xCC, 0xDD])
        #expect(view.extensionElement(id: 3, in: packet) == nil)
        #expect(view.extensionElements(in: packet).map(\.id) == [1, 2])
        #expect(view.paddingLength == 3)
        #expect(view.headerLength == 32)
        #expect(Array(packet[view.payloadRange]) == [1, 2, 3])
    }

    @Test func parsesTwoByteExtension() throws {
        let packet = Self.twoByteExtensionPacket
        let view = try RTPPacketView.parse(packet)
        #expect(view.extensionForm == .twoByte)
        #expect(view.marker == false)
        #expect(view.extensionElement(id: 5, in: packet) == [])
        #expect(view.extensionElement(id: 16, in: packet) == [1, 2, 3])
        #expect(view.extensionElements(in: packet) == [
            RTPHeaderExtensionElement(id: 5, data: []),
            RTPHeaderExtensionElement(id: 16, data: [1, 2, 3]),
        ])
        #expect(Array(packet[view.payloadRange]) == [0xFF])
        #expect(view.paddingLength == 0)
    }

    @Test func oneByteID15StopsElementParsing() throws {
        var builder = RTPPacketBuilder(payloadType: 111, sequenceNumber: 1, timestamp: 2, ssrc: 3)
        builder.extensions = [.init(id: 1, data: [9]), .init(id: 15, data: [1]), .init(id: 2, data: [7])]
        builder.extensionForm = .oneByte
        let packet = builder.serialize()
        let view = try RTPPacketView.parse(packet)
        #expect(view.extensionElements(in: packet) == [.init(id: 1, data: [9])])
    }

    @Test func opaqueExtensionProfileHasNoElements() throws {
        var packet: [UInt8] = [0x90, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1]
        packet += [0x12, 0x34, 0x00, 0x01, 0x10, 0xAA, 0xBB, 0xCC, 0x42]
        let view = try RTPPacketView.parse(packet)
        #expect(view.extensionForm == .other(profile: 0x1234))
        #expect(view.extensionElements(in: packet).isEmpty)
        #expect(Array(packet[view.payloadRange]) == [0x42])
    }

    @Test func rejectsMalformedHeadersWithAReason() {
        let good = Self.oneByteExtensionPacket
        #expect(throws: RTPParseError.tooShort(length: 11)) { try RTPPacketView.parse(Array(good.prefix(11))) }
        #expect(throws: RTPParseError.badVersion(1)) { try RTPPacketView.parse([0x40] + Array(good.dropFirst())) }
        #expect(throws: RTPParseError.truncatedCSRCs(count: 15, length: 16)) {
            try RTPPacketView.parse([0x8F] + Array(good[1..<16]))
        }
        #expect(throws: RTPParseError.truncatedExtension(declaredBytes: 12, available: 8)) {
            try RTPPacketView.parse(Array(good.prefix(28)))
        }
        var zeroPadding = good
        zeroPadding[zeroPadding.count - 1] = 0
        #expect(throws: RTPParseError.badPadding(paddingLength: 0, available: 6)) { try RTPPacketView.parse(zeroPadding) }
        var hugePadding = good
        hugePadding[hugePadding.count - 1] = 7
        #expect(throws: RTPParseError.badPadding(paddingLength: 7, available: 6)) { try RTPPacketView.parse(hugePadding) }
    }

    @Test func paddingMayConsumeTheWholePayload() throws {
        let builder = RTPPacketBuilder(payloadType: 96, sequenceNumber: 9, timestamp: 0, ssrc: 1, paddingLength: 224)
        let view = try RTPPacketView.parse(builder.serialize())
        #expect(view.payloadRange.isEmpty)
        #expect(view.paddingLength == 224)
    }

    @Test func builderRoundTripsEveryField() throws {
        let oneByte = RTPPacketBuilder(
            marker: true, payloadType: 102, sequenceNumber: 65535, timestamp: 0xFFFF_FFF0, ssrc: 0x0102_0304,
            csrcs: [7, 8, 9],
            extensions: [.init(id: 3, data: [1, 2, 3]), .init(id: 14, data: Array(repeating: 5, count: 16))],
            payload: Array(0..<200), paddingLength: 5)
        #expect(oneByte.effectiveExtensionForm == .oneByte)
        let twoByte = RTPPacketBuilder(
            payloadType: 0, sequenceNumber: 0, timestamp: 0, ssrc: 0,
            extensions: [.init(id: 1, data: []), .init(id: 200, data: Array(repeating: 1, count: 40))],
            payload: [1])
        #expect(twoByte.effectiveExtensionForm == .twoByte)

        for builder in [oneByte, twoByte] {
            let packet = builder.serialize()
            let view = try RTPPacketView.parse(packet)
            #expect(view.marker == builder.marker)
            #expect(view.payloadType == builder.payloadType)
            #expect(view.sequenceNumber == builder.sequenceNumber)
            #expect(view.timestamp == builder.timestamp)
            #expect(view.ssrc == builder.ssrc)
            #expect(view.csrcs(in: packet) == builder.csrcs)
            #expect(view.extensionElements(in: packet) == builder.extensions)
            #expect(Array(packet[view.payloadRange]) == builder.payload)
            #expect(view.paddingLength == Int(builder.paddingLength))
            #expect(view.extensionRange.count % 4 == 0)
        }
    }

    @Test func builderWritesTheHandBuiltBytes() {
        let builder = RTPPacketBuilder(
            marker: true, payloadType: 96, sequenceNumber: 0x1234, timestamp: 4096, ssrc: 0xDEAD_BEEF,
            csrcs: [1, 2], extensions: [.init(id: 1, data: [0xAA]), .init(id: 2, data: [0xBB, 0xCC, 0xDD])],
            payload: [1, 2, 3], paddingLength: 3)
        let packet = builder.serialize()
        // Same as the hand-built packet except the writer packs elements without a padding byte between.
        var expected = Self.oneByteExtensionPacket
        expected.replaceSubrange(24..<32, with: [0x10, 0xAA, 0x22, 0xBB, 0xCC, 0xDD, 0x00, 0x00])
        #expect(packet == expected)
    }

    @Test func rewritesHeaderFieldsInPlace() throws {
        var packet = Self.oneByteExtensionPacket
        #expect(RTPPacketView.rewriteHeader(of: &packet, payloadType: 100, sequenceNumber: 7, timestamp: 8, ssrc: 9))
        let view = try RTPPacketView.parse(packet)
        #expect(view.payloadType == 100 && view.marker)
        #expect(view.sequenceNumber == 7 && view.timestamp == 8 && view.ssrc == 9)
        #expect(view.extensionElement(id: 2, in: packet) == [0xBB, 0xCC, 0xDD])
        var short: [UInt8] = [0x80, 0x60]
        #expect(!RTPPacketView.rewriteHeader(of: &short, ssrc: 1))
        #expect(short == [0x80, 0x60])
    }

    @Test func readsRTXOriginalSequenceNumber() throws {
        let rtx = RTPPacketBuilder(payloadType: 97, sequenceNumber: 5, timestamp: 0, ssrc: 2, payload: [0xAB, 0xCD, 0x01])
        let packet = rtx.serialize()
        #expect(try RTPPacketView.parse(packet).rtxOriginalSequenceNumber(in: packet) == 0xABCD)
        let probe = RTPPacketBuilder(payloadType: 97, sequenceNumber: 6, timestamp: 0, ssrc: 2, paddingLength: 200).serialize()
        #expect(try RTPPacketView.parse(probe).rtxOriginalSequenceNumber(in: probe) == nil)
    }
}

@Suite struct RTPSequenceExtenderTests {
    @Test func extendsAcrossTheWrapWithReordering() {
        var extender = RTPSequenceExtender()
        let input: [UInt16] = [65533, 65534, 65535, 1, 0, 2, 65535, 3, 65532]
        let output = input.map { extender.extend($0) }
        #expect(output == [65533, 65534, 65535, 65537, 65536, 65538, 65535, 65539, 65532])
        #expect(extender.highest == 65539)
        #expect(extender.rolloverCount == 1)
        #expect(extender.reportExtendedHighest == 0x0001_0003)
    }

    @Test func lateAndEarlyPacketsAroundTheFirstOne() {
        var extender = RTPSequenceExtender()
        #expect(extender.extend(0) == 0)
        #expect(extender.extend(65535) == -1)  // sent before the first packet we saw
        #expect(extender.highest == 0)
        #expect(extender.peek(10) == 10)
        #expect(extender.extend(32767) == 32767)
        #expect(extender.extend(0) == 0)  // 32767 back: still older, not a new cycle
    }

    @Test func manyCyclesStayMonotonic() {
        var extender = RTPSequenceExtender()
        var sequence: UInt16 = 100
        var last = extender.extend(sequence)
        for _ in 0..<1000 {
            sequence &+= 30000
            let next = extender.extend(sequence)
            #expect(next == last + 30000)
            last = next
        }
        #expect(extender.rolloverCount == UInt32((100 + 30000 * 1000) >> 16))
    }
}

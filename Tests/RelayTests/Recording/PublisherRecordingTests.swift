import Testing
@testable import FakeCalls
@testable import Relay

/// Record mode's sans-IO bookkeeping: which file each packet goes to, held packets before the
/// track names are known, RTCP filtered per track.
@Suite struct PublisherRecordingTests {
    static let published: [SFUNegotiation.PublishedMid] = [
        .init(mid: "0", payloadType: 109, rtxPayloadType: 114, ssrcs: [1111, 1112], rtxSSRCByMediaSSRC: [1111: 1112]),
        .init(mid: "1", payloadType: 111, rtxPayloadType: nil, ssrcs: [2222], rtxSSRCByMediaSSRC: [:]),
    ]

    static func packet(ssrc: UInt32, sequenceNumber: UInt16) -> [UInt8] {
        RTPPacketBuilder(payloadType: 109, sequenceNumber: sequenceNumber, timestamp: 90_000, ssrc: ssrc,
                         payload: [1, 2, 3]).serialize()
    }

    @Test func packetsAreHeldUntilTheTrackNamesArriveThenWrittenInOrder() {
        var recording = PublisherRecording()
        recording.negotiated(session: "s1", published: Self.published)
        #expect(recording.rtp(Self.packet(ssrc: 1111, sequenceNumber: 1), ssrc: 1111, session: "s1", mid: "0", micros: 10) == .held)
        #expect(recording.rtp(Self.packet(ssrc: 1111, sequenceNumber: 2), ssrc: 1111, session: "s1", mid: "0", micros: 20) == .held)
        let released = recording.trackNames(session: "s1", ["0": "video", "1": "audio"])
        let key = PublisherRecording.FileKey(session: "s1", name: "video")
        #expect(released.map { if case .write(let k, let d) = $0 { return "\(k.name) \(d.timestampMicros) \(d.sourcePort)" } else { return "?" } }
                == ["video 10 5004", "video 20 5004"])
        #expect(released.allSatisfy { if case .write(let k, _) = $0 { k == key } else { false } })
        let next = recording.rtp(Self.packet(ssrc: 1111, sequenceNumber: 3), ssrc: 1111, session: "s1", mid: "0", micros: 30)
        guard case .write(let nextKey, let datagram) = next else {
            Issue.record("expected a write, got \(next)")
            return
        }
        #expect(nextKey == key && datagram.destinationPort == 5004 && datagram.payload == Self.packet(ssrc: 1111, sequenceNumber: 3))
    }

    @Test func sessionsThatPublishNothingAndUnknownMidsAreIgnored() {
        var recording = PublisherRecording()
        recording.negotiated(session: "subscriber", published: [])
        #expect(recording.rtp([0x80, 0, 0, 1], ssrc: 1, session: "subscriber", mid: "0", micros: 1) == .ignored)
        #expect(recording.descriptions(session: "subscriber", offer: "o", answer: "a").isEmpty)
        recording.negotiated(session: "s1", published: Self.published)
        #expect(recording.rtp([0x80, 0, 0, 1], ssrc: 1, session: "s1", mid: "7", micros: 1) == .ignored)
    }

    @Test func descriptionsAreWrittenOnceForAPublisher() {
        var recording = PublisherRecording()
        recording.negotiated(session: "s1", published: Self.published)
        #expect(recording.descriptions(session: "s1", offer: "O", answer: "A")
                == [.writeText(session: "s1", name: "offer.sdp", text: "O"), .writeText(session: "s1", name: "answer.sdp", text: "A")])
        #expect(recording.descriptions(session: "s1", offer: "O2", answer: "A2").isEmpty)
    }

    @Test func rtcpGoesToTheTrackWhoseSSRCItDescribes() throws {
        var recording = PublisherRecording()
        recording.negotiated(session: "s1", published: Self.published)
        _ = recording.trackNames(session: "s1", ["0": "video", "1": "audio"])
        let compound: [RTCPPacket] = [
            .senderReport(RTCPSenderReport(ssrc: 2222, ntpTimestamp: 1 << 32, rtpTimestamp: 48_000, packetCount: 5, octetCount: 500)),
            .sourceDescription(RTCPSourceDescription(chunks: [.init(ssrc: 2222, items: [.cname("x")]),
                                                              .init(ssrc: 1111, items: [.cname("x")])])),
            .receiverReport(RTCPReceiverReport(ssrc: 1, reports: [])),
        ]
        let outputs = recording.rtcp(compound, session: "s1", micros: 99)
        #expect(outputs.count == 2)
        for output in outputs {
            guard case .write(let key, let datagram) = output else {
                Issue.record("expected writes, got \(output)")
                continue
            }
            #expect(datagram.sourcePort == 5005 && datagram.destinationPort == 5005 && datagram.timestampMicros == 99)
            let parsed = try RTCPCompound.parse(datagram.payload)
            if key.name == "audio" {
                #expect(parsed.count == 2)
                guard case .senderReport(let report) = parsed.first else { Issue.record("no SR first: \(parsed)"); continue }
                #expect(report.ssrc == 2222)
            } else {
                #expect(key.name == "video")
                #expect(parsed == [.sourceDescription(RTCPSourceDescription(chunks: [.init(ssrc: 1111, items: [.cname("x")])]))])
            }
        }
    }

    @Test func closingWritesHeldPacketsUnderTheMidAndClosesTheFiles() {
        var recording = PublisherRecording()
        recording.negotiated(session: "s1", published: Self.published)
        _ = recording.rtp(Self.packet(ssrc: 2222, sequenceNumber: 1), ssrc: 2222, session: "s1", mid: "1", micros: 5)
        let outputs = recording.closed(session: "s1")
        #expect(outputs.count == 2)
        if case .write(let key, _) = outputs.first { #expect(key.name == "mid1") } else { Issue.record("\(outputs)") }
        #expect(outputs.last == .close(session: "s1"))
        #expect(recording.closed(session: "s1").isEmpty)
        #expect(recording.rtp(Self.packet(ssrc: 2222, sequenceNumber: 2), ssrc: 2222, session: "s1", mid: "1", micros: 6) == .ignored)
    }

    @Test func trackNamesThatAreNotFileNamesAreRefused() {
        #expect(!PublisherRecording.isSafeFileName("../x"))
        #expect(!PublisherRecording.isSafeFileName(".hidden"))
        #expect(!PublisherRecording.isSafeFileName(""))
        #expect(PublisherRecording.isSafeFileName("video"))
    }
}

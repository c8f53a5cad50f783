import Foundation
@testable import Relay
import Testing

@Suite struct SDPPreferH264Tests {
    @Test func putsH264Mode1FirstOnVP8FirstOffer() throws {
        let offer = try SDPFixtures.parsed("chromium-default")
        let before = try #require(offer.mediaSections.first { $0.kind == .video })
        #expect(before.negotiatedCodecs.codecs.first?.name == "VP8")

        let result = SDP.preferH264(offer)
        #expect(result.foundH264)
        let after = try #require(result.sdp.mediaSections.first { $0.kind == .video })
        let codecs = after.negotiatedCodecs
        // 108 = H264 pm1 42e01f (rtx 109), 102 = H264 pm1 42001f (rtx 103) in this recording.
        #expect(Array(after.payloadTypes.prefix(4)) == [108, 109, 102, 103])
        let first = try #require(codecs.codec(payloadType: after.payloadTypes[0]))
        #expect(first.name == "H264" && first.h264PacketizationMode == 1 && first.h264ProfileLevelId == "42e01f")
        #expect(codecs.mediaPayloadType(forRTX: after.payloadTypes[1]) == after.payloadTypes[0])
        // Nothing dropped, nothing else changed.
        #expect(after.payloadTypes.sorted() == before.payloadTypes.sorted())
        #expect(after.lines == before.lines)
        #expect(result.sdp.mediaSections[0] == offer.mediaSections[0])
        #expect(result.sdp.sessionLines == offer.sessionLines)
        // The rest keeps its relative order.
        let rest = before.payloadTypes.filter { ![108, 109, 102, 103].contains($0) }
        #expect(Array(after.payloadTypes.dropFirst(4)) == rest)
    }

    @Test func reportsNoH264ForVP8OnlyAndAudio() throws {
        for name in ["chromium-vp8only", "chromium-audio"] {
            let offer = try SDPFixtures.parsed(name)
            let result = SDP.preferH264(offer)
            #expect(!result.foundH264)
            #expect(result.sdp == offer)
        }
    }

    @Test func textConvenienceRoundTrips() throws {
        let (text, found) = try SDP.preferH264(sdpText: try SDPFixtures.text("chromium-simulcast"))
        #expect(found)
        #expect(text.contains("m=video 9 UDP/TLS/RTP/SAVPF 108 109 102 103 96 97"))
    }
}

@Suite struct SDPGuestOfferValidationTests {
    @Test(arguments: SDPFixtures.names)
    func everyRecordedOfferIsAccepted(name: String) throws {
        let sdp = try SDP.validateGuestOffer(try SDPFixtures.text(name))
        #expect(!sdp.mediaSections.isEmpty)
    }

    /// The Chrome offer with some lines removed or replaced.
    private func edited(_ transform: (String) -> String?) throws -> String {
        try SDPFixtures.text("chromium-default").components(separatedBy: "\r\n").compactMap(transform).joined(separator: "\r\n")
    }

    @Test func refusesEachBadCaseWithItsReason() throws {
        #expect(throws: SDPError.empty) { try SDP.validateGuestOffer("") }
        #expect(throws: SDPError.notUTF8) { try SDP.validateGuestOffer(bytes: [0x00, 0xC3, 0x28, 0xFF, 0x80, 0x76]) }
        var rng = SeededRandom(seed: 9)
        let garbage = (0..<4096).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        #expect(throws: SDPError.self) { try SDP.validateGuestOffer(bytes: garbage) }
        #expect(throws: SDPError.malformedLine(line: 1, reason: "expected <letter>=<value>")) {
            try SDP.validateGuestOffer("{\"sdp\": \"v=0\"}")
        }

        let noMedia = try edited { $0.hasPrefix("m=") ? nil : $0 }.components(separatedBy: "\r\n").prefix(7).joined(separator: "\r\n")
        #expect(throws: SDPError.noMediaSections) { try SDP.validateGuestOffer(noMedia) }

        let dataChannel = """
        v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n\
        m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:abcd\r\n\
        a=ice-pwd:abcdabcdabcdabcdabcdabcd\r\na=fingerprint:sha-256 AA:BB\r\na=setup:actpass\r\na=mid:0\r\n\
        a=sctp-port:5000\r\n
        """
        #expect(throws: SDPError.onlyDataChannel) { try SDP.validateGuestOffer(dataChannel) }

        let noIce = try edited { $0.hasPrefix("a=ice-ufrag") || $0.hasPrefix("a=ice-pwd") ? nil : $0 }
        #expect(throws: SDPError.missingICECredentials(mid: "0")) { try SDP.validateGuestOffer(noIce) }
        let noPwd = try edited { $0.hasPrefix("a=ice-pwd") ? nil : $0 }
        #expect(throws: SDPError.missingICECredentials(mid: "0")) { try SDP.validateGuestOffer(noPwd) }

        let noFingerprint = try edited { $0.hasPrefix("a=fingerprint") ? nil : $0 }
        #expect(throws: SDPError.missingFingerprint(mid: "0")) { try SDP.validateGuestOffer(noFingerprint) }

        let recvOnly = try edited { $0 == "a=sendonly" ? "a=recvonly" : $0 }
        #expect(throws: SDPError.nothingToSend) { try SDP.validateGuestOffer(recvOnly) }

        let plainRTP = try edited { $0.replacingOccurrences(of: "UDP/TLS/RTP/SAVPF", with: "RTP/AVP") }
        #expect(throws: SDPError.unsupportedTransport(mid: "0", proto: "RTP/AVP")) { try SDP.validateGuestOffer(plainRTP) }

        // Only codecs the relay cannot take: G722 audio, AV1 video.
        let unusable = """
        v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdabcdabcdabcdabcdabcd\r\n\
        a=fingerprint:sha-256 AA:BB\r\nm=audio 9 UDP/TLS/RTP/SAVPF 9\r\na=mid:0\r\na=sendonly\r\n\
        m=video 9 UDP/TLS/RTP/SAVPF 45\r\na=mid:1\r\na=sendonly\r\na=rtpmap:45 AV1/90000\r\n
        """
        #expect(throws: SDPError.noUsableCodec(offered: ["G722", "AV1"])) { try SDP.validateGuestOffer(unusable) }
    }

    @Test func errorsCarryHTTPStatusAndActionableText() {
        #expect(SDPError.malformedLine(line: 3, reason: "x").httpStatus == 400)
        #expect(SDPError.tooLarge(bytes: 1, limit: 0).httpStatus == 413)
        #expect(SDPError.onlyDataChannel.httpStatus == 422)
        #expect(SDPError.missingFingerprint(mid: "1").description.contains("a=fingerprint"))
        #expect(SDPError.noUsableCodec(offered: ["AV1"]).description.contains("AV1"))
    }
}

@Suite struct SDPAnswerTests {
    @Test(arguments: SDPFixtures.names)
    func sfuAnswerToEveryRecordedOffer(name: String) throws {
        let offer = try SDPFixtures.parsed(name)
        let local = SDPFixtures.sfuParameters()
        let answer = SDP.makeAnswer(toOffer: offer, local: local)
        let text = answer.serialized
        #expect(!text.contains("\n") || text.components(separatedBy: "\r\n").allSatisfy { !$0.contains("\n") })
        #expect(try SDP.parse(text) == answer)

        #expect(answer.isIceLite)
        #expect(answer.mediaSections.map(\.mid) == offer.mediaSections.map(\.mid))
        #expect(answer.mediaSections.map(\.kind) == offer.mediaSections.map(\.kind))
        #expect(answer.bundleMids == offer.bundleMids)
        for (offered, answered) in zip(offer.mediaSections, answer.mediaSections) {
            #expect(!answered.isRejected)
            #expect(answered.direction == offer.direction(for: offered).reversed)
            #expect(answered.setup == .passive)
            #expect(answered.rtcpMux)
            #expect(answered.iceUfrag == "sfuU" && answered.fingerprint == local.fingerprint)
            #expect(answered.endOfCandidates && answered.candidates == local.candidates)
            #expect(answered.port == 40000 && answered.connection == "IN IP4 127.0.0.1")
            // Codecs ⊆ offer, same numbers, same names, offered order.
            let offeredCodecs = offered.negotiatedCodecs
            let answeredCodecs = answered.negotiatedCodecs
            #expect(!answeredCodecs.codecs.isEmpty)
            #expect(Set(answered.payloadTypes).isSubset(of: Set(offered.payloadTypes)))
            #expect(answered.payloadTypes == offered.payloadTypes.filter { answered.payloadTypes.contains($0) })
            for codec in answeredCodecs.all {
                let original = try #require(offeredCodecs.codec(payloadType: codec.payloadType))
                #expect(codec.name == original.name && codec.clockRate == original.clockRate)
                #expect(Set(codec.rtcpFeedback).isSubset(of: Set(original.rtcpFeedback)))
                if codec.isRTX {
                    #expect(answeredCodecs.mediaPayloadType(forRTX: codec.payloadType) == original.associatedPayloadType)
                }
            }
            #expect(answeredCodecs.codecs.allSatisfy { ["H264", "VP8", "opus"].contains($0.name) })
            #expect(answered.extmapId(uri: SDPExtmap.midURI) == offered.extmapId(uri: SDPExtmap.midURI))
            #expect(answered.extmaps.allSatisfy { [SDPExtmap.midURI, SDPExtmap.absSendTimeURI].contains($0.uri) })
            #expect(answered.rids.isEmpty && answered.simulcast == nil)
        }
    }

    @Test func h264OnlySFUAcceptsMode1Baseline() throws {
        let offer = try SDPFixtures.parsed("chromium-default")
        let answer = SDP.makeAnswer(toOffer: offer, local: SDPFixtures.sfuParameters(codecs: [.h264(), .opus()]),
                                    options: SDPAnswerOptions(singleCodec: true))
        let video = try #require(answer.mediaSections.first { $0.kind == .video })
        // First pm=1 profile-42 H.264 in the offer's order is 102 (42001f), with RTX 103.
        #expect(video.payloadTypes == [102, 103])
        #expect(video.fmtp(payloadType: 102)?.parameter("packetization-mode") == "1")
        #expect(video.fmtp(payloadType: 103)?.parameter("apt") == "102")
        #expect(video.rtcpFeedback(payloadType: 102).contains("nack pli"))
        #expect(!video.rtcpFeedback(payloadType: 102).contains("transport-cc"))
        // After preferH264, an SFU picking the first match gets 42e01f.
        let munged = SDP.preferH264(offer).sdp
        let mungedAnswer = SDP.makeAnswer(toOffer: munged, local: SDPFixtures.sfuParameters(codecs: [.h264(), .opus()]),
                                          options: SDPAnswerOptions(singleCodec: true))
        #expect(mungedAnswer.mediaSections[1].payloadTypes == [108, 109])
    }

    @Test func rejectsWhatItCannotTake() throws {
        let offer = try SDPFixtures.parsed("chromium-default")
        let answer = SDP.makeAnswer(toOffer: offer, local: SDPFixtures.sfuParameters(codecs: [.opus()]))
        #expect(answer.mediaSections[0].port == 40000)
        let video = answer.mediaSections[1]
        #expect(video.isRejected && video.mid == "1" && video.payloadTypes.count == 1)
        #expect(answer.bundleMids == ["0"])

        let withData = try SDP.parse(try SDPFixtures.text("chromium-audio") +
            "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:9\r\na=sctp-port:5000\r\n")
        let dataAnswer = SDP.makeAnswer(toOffer: withData, local: SDPFixtures.sfuParameters())
        #expect(dataAnswer.mediaSections.map(\.port) == [40000, 0])
        #expect(dataAnswer.mediaSections[1].mid == "9" && dataAnswer.mediaSections[1].mediaLine.formats == ["webrtc-datachannel"])
    }

    @Test func simulcastAcceptedWhenAsked() throws {
        let offer = try SDPFixtures.parsed("chromium-simulcast")
        let answer = SDP.makeAnswer(toOffer: offer, local: SDPFixtures.sfuParameters(),
                                    options: SDPAnswerOptions(acceptSimulcast: true))
        let video = try #require(answer.mediaSections.first { $0.kind == .video })
        #expect(video.rids == ["q", "h", "f"].map { SDPRid(id: $0, direction: "recv") })
        #expect(video.simulcast == SDPSimulcast(recv: [["q"], ["h"], ["f"]]))
        #expect(video.extmapId(uri: SDPExtmap.rtpStreamIdURI) == 10)
        #expect(video.extmapId(uri: SDPExtmap.repairedRtpStreamIdURI) == 11)
    }

    @Test func setupRoles() {
        #expect(SDP.answerSetup(offered: .actpass, local: .passive) == .passive)
        #expect(SDP.answerSetup(offered: .actpass, local: .active) == .active)
        #expect(SDP.answerSetup(offered: .active, local: .active) == .passive)
        #expect(SDP.answerSetup(offered: .passive, local: .passive) == .active)
        #expect(SDP.answerSetup(offered: nil, local: .actpass) == .passive)
    }
}

@Suite struct SDPOfferTests {
    private let sfuTracks = [
        SDPSendTrack(kind: .audio, mid: "a0", ssrc: 1111, cname: "sfu", streamId: "guest1", trackId: "audio"),
        SDPSendTrack(kind: .video, mid: "v1", ssrc: 2222, rtxSsrc: 3333, cname: "sfu", streamId: "guest1", trackId: "video"),
    ]

    @Test func sfuPullOfferThenRelayAnswer() throws {
        let sfu = SDPFixtures.sfuParameters(codecs: [.h264(), .vp8(), .opus()])
        let offer = SDP.makeSendOnlyOffer(tracks: sfuTracks, local: sfu)
        let reparsed = try SDP.parse(offer.serialized)
        #expect(reparsed == offer)
        #expect(offer.isIceLite && offer.bundleMids == ["a0", "v1"])
        let video = offer.mediaSections[1]
        #expect(video.payloadTypes == [125, 37, 96, 35])
        #expect(video.fmtp(payloadType: 125)?.parameter("profile-level-id") == "42e01f")
        #expect(video.setup == .actpass && video.direction == .sendonly)
        #expect(video.rtxSsrcByMediaSsrc == [2222: 3333])
        #expect(video.cname(ssrc: 3333) == "sfu" && video.msid == "guest1 video")
        #expect(offer.mediaSections[0].payloadTypes == [111] && offer.mediaSections[0].ssrcs == [1111])
        #expect(try SDP.validateGuestOffer(offer.serialized) == offer)

        let answer = SDP.makeAnswer(toOffer: offer, local: SDPFixtures.relayParameters())
        #expect(answer.mediaSections.map(\.mid) == ["a0", "v1"])
        #expect(answer.mediaSections.allSatisfy { $0.direction == .recvonly && $0.setup == .active })
        #expect(!answer.isIceLite && answer.bundleMids == ["a0", "v1"])
        #expect(answer.mediaSections[1].payloadTypes == [125, 37, 96, 35])
        #expect(answer.mediaSections[1].connection == "IN IP6 ::1")
        #expect(answer.mediaSections.allSatisfy { $0.ssrcs.isEmpty })
    }

    @Test func recvOnlyOfferThenSFUAnswer() throws {
        let relay = SDPFixtures.relayParameters()
        let offer = SDP.makeRecvOnlyOffer(tracks: [SDPTrackSlot(kind: .audio, mid: "0"), SDPTrackSlot(kind: .video, mid: "1")],
                                          local: relay)
        #expect(try SDP.parse(offer.serialized) == offer)
        #expect(offer.mediaSections.allSatisfy { $0.direction == .recvonly && $0.setup == .actpass })
        #expect(offer.mediaSections[1].payloadTypes == [125, 37, 96, 35])
        #expect(throws: SDPError.nothingToSend) { try SDP.validateGuestOffer(offer.serialized) }

        let sfuSends = [
            SDPSendTrack(kind: .audio, mid: "0", ssrc: 5, cname: "c", streamId: "s", trackId: "a"),
            SDPSendTrack(kind: .video, mid: "1", ssrc: 6, rtxSsrc: 7, cname: "c", streamId: "s", trackId: "v"),
        ]
        let answer = SDP.makeAnswer(toOffer: offer, local: SDPFixtures.sfuParameters(),
                                    options: SDPAnswerOptions(singleCodec: true, outgoingTracks: sfuSends))
        #expect(answer.mediaSections.map(\.mid) == ["0", "1"])
        #expect(answer.mediaSections.allSatisfy { $0.direction == .sendonly && $0.setup == .passive })
        #expect(answer.mediaSections[1].payloadTypes == [125, 37])
        #expect(answer.mediaSections[1].rtxSsrcByMediaSsrc == [6: 7])
        #expect(answer.mediaSections[0].ssrcs == [5])
        #expect(answer.isIceLite)
        #expect(try SDP.parse(answer.serialized) == answer)
    }

    @Test func codecMatching() {
        func h264(_ profile: String, mode: Int) -> SDPMediaCodec {
            SDPMediaCodec(payloadType: 100, name: "H264", clockRate: 90000,
                          fmtp: "packetization-mode=\(mode);profile-level-id=\(profile)")
        }
        let strict = SDPCodec.h264(), relay = SDPCodec.relayDefaults[0]
        #expect(strict.accepts(h264("42e01f", mode: 1)) && strict.accepts(h264("42001f", mode: 1)))
        #expect(!strict.accepts(h264("4d001f", mode: 1)))
        #expect(relay.accepts(h264("4d001f", mode: 1)) && relay.accepts(h264("640c1f", mode: 1)))
        #expect(!relay.accepts(h264("42e01f", mode: 0)))
        #expect(!relay.accepts(SDPMediaCodec(payloadType: 100, name: "H264", clockRate: 90000)))  // mode 0 by default
        #expect(SDPCodec.opus().accepts(SDPMediaCodec(payloadType: 111, name: "OPUS", clockRate: 48000, channels: 2)))
        #expect(!SDPCodec.opus().accepts(SDPMediaCodec(payloadType: 111, name: "opus", clockRate: 48000, channels: 1)))
        #expect(!SDPCodec.vp8().accepts(SDPMediaCodec(payloadType: 98, name: "VP9", clockRate: 90000)))
    }

    @Test func danglingAptIsTolerated() throws {
        // An SFU answer that renumbered VP8 to 98 but left the RTX apt at the old 96.
        let media = try SDP.parse("""
        v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 98 35\r\na=rtpmap:98 VP8/90000\r\na=rtpmap:35 rtx/90000\r\na=fmtp:35 apt=96\r\n
        """).mediaSections[0]
        let codecs = media.negotiatedCodecs
        #expect(codecs.rtxAssociations == [35: 96])
        #expect(codecs.mediaPayloadType(forRTX: 35) == 98)
        #expect(codecs.rtxPayloadType(forMedia: 98) == 35)
        #expect(codecs.isRTX(payloadType: 35) && !codecs.isRTX(payloadType: 98))
        #expect(codecs.mediaPayloadType(forRTX: 98) == nil)
    }
}

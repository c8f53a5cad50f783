import Foundation
@testable import Relay
import Testing

@Suite struct SDPParserTests {
    @Test(arguments: SDPFixtures.names)
    func fixtureRoundTripsByteExact(name: String) throws {
        let text = try SDPFixtures.text(name)
        #expect(text.hasSuffix("\r\n"), "fixture should keep the browser's CRLF")
        let sdp = try SDP.parse(text)
        #expect(sdp.serialized == text)
        // Parsing the serialized form again is stable.
        #expect(try SDP.parse(sdp.serialized) == sdp)
        // Bytes entry point agrees.
        #expect(try SDP.parse(bytes: try SDPFixtures.bytes(name)) == sdp)
    }

    @Test(arguments: SDPFixtures.names)
    func lfOnlyInputSerializesToCRLF(name: String) throws {
        let text = try SDPFixtures.text(name)
        let lfOnly = text.replacingOccurrences(of: "\r\n", with: "\n")
        let sdp = try SDP.parse(lfOnly)
        #expect(sdp.serialized == text)
    }

    @Test func chromeDefaultFields() throws {
        let sdp = try SDPFixtures.parsed("chromium-default")
        #expect(sdp.bundleMids == ["0", "1"])
        #expect(sdp.extmapAllowMixed)
        #expect(!sdp.isIceLite)
        #expect(sdp.mediaSections.map(\.kind) == [.audio, .video])
        #expect(sdp.mediaSections.map(\.mid) == ["0", "1"])

        let audio = sdp.mediaSections[0], video = sdp.mediaSections[1]
        #expect(audio.direction == .sendonly && video.direction == .sendonly)
        #expect(audio.rtcpMux && video.rtcpMux)
        #expect(audio.proto == "UDP/TLS/RTP/SAVPF")
        #expect(audio.payloadTypes == [111, 63, 9, 0, 8, 13, 110, 126])
        #expect(audio.rtpMap(payloadType: 111) == SDPRtpMap(payloadType: 111, encodingName: "opus", clockRate: 48000, channels: 2))
        #expect(audio.fmtp(payloadType: 111)?.parameter("useinbandfec") == "1")

        let ufrag = try #require(audio.iceUfrag)
        #expect(ufrag == video.iceUfrag && sdp.iceUfrag(for: video) == ufrag)
        #expect(audio.icePwd != nil && audio.icePwd == video.icePwd)
        let fingerprint = try #require(sdp.fingerprint(for: audio))
        #expect(fingerprint.algorithm == "sha-256")
        #expect(fingerprint.value.split(separator: ":").count == 32)
        #expect(sdp.setup(for: video) == .actpass)

        // Max-bundle: only the first m-line has candidates; loopback only (private netns).
        let candidates = audio.candidates
        #expect(video.candidates.isEmpty)
        let udp = try #require(candidates.first { $0.transport == "udp" })
        #expect(udp.component == 1 && udp.type == "host" && udp.address == "127.0.0.1")
        #expect(udp.port == audio.port && udp.priority == 2122260223)
        #expect(udp.extensions.contains(SDPKeyValue("generation", "0")))
        #expect(candidates.contains { $0.transport == "tcp" && $0.tcpType == "active" })
        #expect(SDPCandidate(attributeValue: udp.attributeValue) == udp)

        let codecs = video.negotiatedCodecs
        #expect(codecs.codecs.first?.name == "VP8")
        #expect(codecs.mediaPayloadType(forRTX: 97) == 96)
        let h264 = codecs.codecs.filter { $0.name == "H264" }
        #expect(h264.count == 6)
        #expect(h264.contains { $0.h264PacketizationMode == 1 && $0.h264ProfileLevelId == "42e01f" })
        #expect(video.rtcpFeedback(payloadType: 96).contains("nack pli"))
        #expect(video.extmapId(uri: SDPExtmap.midURI) == 4)

        let fid = try #require(video.ssrcGroups.first)
        #expect(fid.semantics == "FID" && fid.ssrcs.count == 2)
        #expect(video.rtxSsrcByMediaSsrc[fid.ssrcs[0]] == fid.ssrcs[1])
        #expect(video.cname(ssrc: fid.ssrcs[0]) != nil)
        #expect(audio.ssrcs.count == 1)
        #expect(sdp.sendingTracks == [SDPTrackSlot(kind: .audio, mid: "0"), SDPTrackSlot(kind: .video, mid: "1")])
    }

    @Test func chromeSimulcastRids() throws {
        let video = try #require(try SDPFixtures.parsed("chromium-simulcast").mediaSections.first { $0.kind == .video })
        #expect(video.rids.map(\.id) == ["q", "h", "f"])
        #expect(video.rids.allSatisfy { $0.direction == "send" })
        #expect(video.simulcast == SDPSimulcast(send: [["q"], ["h"], ["f"]]))
        #expect(video.extmapId(uri: SDPExtmap.rtpStreamIdURI) != nil)
    }

    @Test func firefoxStyleQuirksParse() throws {
        // Written for this test (not a recording): Firefox's habits — session-level sendrecv,
        // credentials at the end of the m-section, extmap with a direction, tabs and blank lines.
        let text = """
        v=0
        o=mozilla...THIS_IS_SDPARTA-128.0 123 0 IN IP4 0.0.0.0
        s=-
        t=0 0
        a=sendrecv
        a=fingerprint:sha-256 AA:BB
        a=group:BUNDLE 0 1
        a=ice-options:trickle

        m=audio 9 UDP/TLS/RTP/SAVPF 109 0
        c=IN IP4 0.0.0.0
        a=extmap:1/sendonly urn:ietf:params:rtp-hdrext:ssrc-audio-level
        a=rtpmap:109 opus/48000/2\t
        a=ice-pwd:pwdpwdpwdpwdpwdpwdpwdpwd
        a=ice-ufrag:ufr1
        a=mid:0
        a=x-unknown-thing:keep me
        m=video 0 UDP/TLS/RTP/SAVPF 120
        a=mid:1
        a=bundle-only
        """
        let sdp = try SDP.parse(text)
        #expect(sdp.sessionDirection == .sendrecv)
        #expect(sdp.direction(for: sdp.mediaSections[0]) == .sendrecv)
        let audio = sdp.mediaSections[0]
        #expect(audio.extmaps == [SDPExtmap(id: 1, uri: SDPExtmap.audioLevelURI, direction: .sendonly)])
        #expect(audio.negotiatedCodecs.codecs.map(\.name) == ["opus", "PCMU"])
        #expect(audio.lines.attributeValues("x-unknown-thing") == ["keep me"])
        #expect(sdp.iceUfrag(for: audio) == "ufr1" && sdp.fingerprint(for: audio)?.value == "AA:BB")
        #expect(!sdp.mediaSections[1].isRejected)
        #expect(sdp.serialized.contains("a=x-unknown-thing:keep me\r\na=x-unknown-thing") == false)
        #expect(sdp.serialized.hasSuffix("a=bundle-only\r\n"))
    }

    @Test func unknownAttributesKeptInOrder() throws {
        let sdp = try SDP.parse("v=0\r\na=zz:1\r\na=flag\r\na=zz:2\r\nm=audio 9 RTP/AVP 0\r\na=q\r\n")
        #expect(sdp.sessionLines.attributeValues("zz") == ["1", "2"])
        #expect(sdp.sessionLines[2] == .attr("flag"))
        #expect(sdp.serialized == "v=0\r\na=zz:1\r\na=flag\r\na=zz:2\r\nm=audio 9 RTP/AVP 0\r\na=q\r\n")
    }

    @Test func refusesBadInputWithTypedErrors() {
        #expect(throws: SDPError.empty) { try SDP.parse("") }
        #expect(throws: SDPError.empty) { try SDP.parse(" \r\n\n\t") }
        #expect(throws: SDPError.notUTF8) { try SDP.parse(bytes: [0x76, 0x3D, 0x30, 0x0A, 0xFF, 0xFE]) }
        #expect(throws: SDPError.malformedLine(line: 1, reason: "SDP must start with v=0")) { try SDP.parse("o=- 1 1 IN IP4 x\r\n") }
        #expect(throws: SDPError.malformedLine(line: 2, reason: "expected <letter>=<value>")) { try SDP.parse("v=0\nhello\n") }
        #expect(throws: SDPError.malformedLine(line: 2, reason: "m-line port 'x' is not a number 0-65535")) {
            try SDP.parse("v=0\nm=audio x RTP/AVP 0\n")
        }
        #expect(throws: SDPError.malformedLine(line: 2, reason: "control character 0x0")) { try SDP.parse("v=0\na=x\u{0}y\n") }
        let manyM = "v=0\r\n" + String(repeating: "m=audio 9 RTP/AVP 0\r\n", count: 65)
        #expect(throws: SDPError.tooManyMediaSections(count: 65, limit: 64)) { try SDP.parse(manyM) }
        let exactly64 = "v=0\r\n" + String(repeating: "m=audio 9 RTP/AVP 0\r\n", count: 64)
        #expect((try? SDP.parse(exactly64))?.mediaSections.count == 64)
    }

    @Test func oneMegabyteIsRejectedQuickly() throws {
        let big = "v=0\r\n" + String(repeating: "a=x-padding:0123456789abcdef0123456789abcdef\r\n", count: 24_000)
        #expect(big.utf8.count > 1_000_000)
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            #expect(throws: SDPError.tooLarge(bytes: big.utf8.count, limit: SDP.maxBytes)) { try SDP.parse(big) }
            #expect(throws: SDPError.tooLarge(bytes: big.utf8.count, limit: SDP.maxBytes)) { try SDP.parse(bytes: Array(big.utf8)) }
        }
        #expect(elapsed < .milliseconds(200))
    }

    /// Seeded random truncations, byte flips, line drops/duplications and garbage insertions:
    /// the parser must never crash, only parse or throw an SDPError; what parses must round-trip.
    @Test func randomMutationsNeverCrash() throws {
        var rng = SeededRandom(seed: 0x5D9_2026)
        let fixtures = try SDPFixtures.names.map { try SDPFixtures.bytes($0) }
        var parsed = 0, refused = 0
        for _ in 0..<2000 {
            var bytes = fixtures[Int(rng.next() % UInt64(fixtures.count))]
            let mutations = 1 + Int(rng.next() % 4)
            for _ in 0..<mutations {
                guard !bytes.isEmpty else { break }
                let at = Int(rng.next() % UInt64(bytes.count))
                switch rng.next() % 6 {
                case 0: bytes.removeSubrange(at...)                                    // truncate
                case 1: bytes[at] = UInt8(truncatingIfNeeded: rng.next())             // flip a byte
                case 2: bytes.insert(contentsOf: (0..<8).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, at: at)
                case 3: bytes.removeSubrange(at..<min(bytes.count, at + Int(rng.next() % 200)))  // cut a span
                case 4: bytes.insert(contentsOf: Array("\r\nm=video 9 X\r\na=rtpmap:96 \r\n".utf8), at: at)
                default: bytes.insert(contentsOf: bytes[at..<min(bytes.count, at + 300)], at: at)  // duplicate
                }
            }
            do {
                let sdp = try SDP.parse(bytes: bytes)
                parsed += 1
                #expect(try SDP.parse(sdp.serialized) == sdp)
                // Exercise the typed views and operations on every 4th survivor (debug builds are slow).
                guard parsed % 4 == 0 else { continue }
                for media in sdp.mediaSections {
                    _ = media.negotiatedCodecs.rtxAssociations
                    _ = media.candidates; _ = media.extmaps; _ = media.simulcast; _ = media.ssrcGroups
                }
                _ = SDP.preferH264(sdp)
                _ = try? sdp.validateAsGuestOffer()
                _ = SDP.makeAnswer(toOffer: sdp, local: SDPFixtures.sfuParameters())
            } catch {
                refused += 1
            }
        }
        #expect(parsed + refused == 2000)
        #expect(parsed > 0 && refused > 0)
    }
}


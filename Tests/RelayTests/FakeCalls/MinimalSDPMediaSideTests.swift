import FakeCalls
import Testing

@Suite("MinimalSDPMediaSide (temporary)")
struct MinimalSDPMediaSideTests {
    let side = MinimalSDPMediaSide()

    @Test func parsesMidsKindsAndDirections() throws {
        let sections = try side.mediaSections(of: CallsHarness.browserOffer)
        #expect(sections == [FakeMediaSection(mid: "0", kind: "video", direction: "sendonly"),
                             FakeMediaSection(mid: "1", kind: "audio", direction: "sendonly")])
    }

    @Test func answerKeepsMidsFlipsDirectionAndIsIceLitePassive() async throws {
        let answer = try await side.answer(toOffer: CallsHarness.browserOffer, session: "s")
        let sections = try side.mediaSections(of: answer)
        #expect(sections.map(\.mid) == ["0", "1"])
        #expect(sections.map(\.direction) == ["recvonly", "recvonly"])
        #expect(answer.contains("a=ice-lite\r\n"))
        #expect(answer.contains("a=group:BUNDLE 0 1\r\n"))
        #expect(answer.contains("a=fingerprint:sha-256 "))
        #expect(answer.contains("a=setup:passive"))
        #expect(answer.contains("a=rtpmap:102 H264/90000"))
        #expect(answer.contains("a=candidate:"))
    }

    @Test func offerCarriesOneSendonlySectionPerTrack() async throws {
        let offer = try await side.offer(forTracks: [
            PublishedTrackInfo(mid: "0", trackName: "video", kind: "video", publisherSession: "p", publisherMid: "0"),
            PublishedTrackInfo(mid: "1", trackName: "audio", kind: "audio", publisherSession: "p", publisherMid: "1"),
        ], session: "s")
        let sections = try side.mediaSections(of: offer)
        #expect(sections == [FakeMediaSection(mid: "0", kind: "video", direction: "sendonly"),
                             FakeMediaSection(mid: "1", kind: "audio", direction: "sendonly")])
        #expect(offer.contains("a=setup:actpass"))
        #expect(offer.contains("a=ice-lite"))
    }

    @Test func rejectsGarbageAndSDPWithoutMediaOrMid() {
        for bad in ["", "garbage", "v=0\r\n", "v=0\r\nm=video\r\na=mid:0\r\n", "v=0\r\nm=video 9 UDP 96\r\n",
                    "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n",
                    String(repeating: "a", count: 70_000)] {
            #expect(throws: (any Error).self) { try side.mediaSections(of: bad) }
        }
    }

    @Test func truncatedAndRandomInputNeverCrashes() {
        let offer = CallsHarness.browserOffer
        var accepted = 0
        for length in 0...offer.count {
            if (try? side.mediaSections(of: String(offer.prefix(length)))) != nil { accepted += 1 }
        }
        #expect(accepted > 0)
        var state: UInt64 = 0x5eed
        let alphabet = Array("v=0\r\nm=audiovideo 9 UDP/TLS a=mid:sendonly\n")
        for _ in 0..<2000 {
            var text = ""
            for _ in 0..<Int(state % 200) {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                text.append(alphabet[Int(state >> 33) % alphabet.count])
            }
            _ = try? side.mediaSections(of: text)
        }
    }
}

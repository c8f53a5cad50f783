import FakeCalls
import Foundation
import Logging
import Testing
@testable import Relay

/// FakeCalls' record mode against a real publisher: headless Chromium publishes through
/// relayd's WHIP endpoint for a few seconds; the recording must hold offer.sdp, answer.sdp and
/// one pcap per track with the decrypted RTP (payload types of the answer, increasing sequence
/// numbers) and the browser's Sender Reports, readable by tshark. RELAY_SKIP_BROWSER_TESTS=1
/// skips (~8 s).
@Suite(.serialized) struct RecordModeBrowserTests {
    static let appId = "record-app"
    static let token = "record-token"

    @Test(.enabled(if: BrowserForwardTests.skipReason == nil,
                   Comment(rawValue: "skipped: \(BrowserForwardTests.skipReason ?? "")")), .timeLimit(.minutes(2)))
    func chromiumsPublishIsRecordedAsOnePcapPerTrack() async throws {
        let directory = try ExternalTool.temporaryDirectory("record")
        defer { try? FileManager.default.removeItem(at: directory) }
        let logger = Logger(label: "fakecalls.record.test")
        var options = FakeCallsOptions(appId: Self.appId, token: Self.token, publisherFlow: .whenMarked)
        options.recordDirectory = directory.path
        let fake = try FakeCallsServer(options: options, logger: logger)
        defer { fake.stop() }
        let rig = try BrowserPublishRig(fake: fake, appId: Self.appId, token: Self.token, logger: logger)
        let session: String
        do { session = try await rig.publisherSession() } catch {
            await rig.stop()
            throw error
        }
        // Two seconds of media and at least one Sender Report per track (Chromium: about 1/s).
        let sending = rig.reports.wait(timeout: .seconds(15)) { stats in
            stats.outbound.contains { $0.kind == "video" && $0.packetsSent >= 40 }
                && stats.outbound.contains { $0.kind == "audio" && $0.packetsSent >= 150 }
        }
        await rig.stop()
        fake.stop()
        #expect(sending, "page: \(String(describing: rig.reports.latest)) errors: \(rig.reports.pageErrors)")

        let sessionDirectory = directory.appendingPathComponent(session)
        let offer = try String(contentsOf: sessionDirectory.appendingPathComponent("offer.sdp"), encoding: .utf8)
        let answerText = try String(contentsOf: sessionDirectory.appendingPathComponent("answer.sdp"), encoding: .utf8)
        #expect(offer.contains("a=sendonly") && offer.contains("m=video") && offer.contains("m=audio"))
        let answer = try SDP.parse(answerText)
        for (track, kind) in [("video", SDPMediaKind.video), ("audio", .audio)] {
            let media = try #require(answer.mediaSections.first { $0.kind == kind })
            let codec = try #require(media.negotiatedCodecs.codecs.first)
            let mediaPT = UInt8(codec.payloadType)
            let rtxPT = media.negotiatedCodecs.rtxPayloadType(forMedia: codec.payloadType).map(UInt8.init)
            let path = sessionDirectory.appendingPathComponent("\(track).pcap").path
            let datagrams = try Pcap.datagrams(in: Array(try Data(contentsOf: URL(fileURLWithPath: path))))
            let rtp = datagrams.filter { $0.destinationPort == 5004 }
            let rtcp = datagrams.filter { $0.destinationPort == 5005 }
            #expect(rtp.count + rtcp.count == datagrams.count, "only ports 5004 and 5005 in \(track).pcap")
            #expect(rtp.count >= (kind == .video ? 40 : 100), "\(track): \(rtp.count) RTP packets")
            #expect(zip(datagrams, datagrams.dropFirst()).allSatisfy { $0.timestampMicros <= $1.timestampMicros })
            let now = UInt64(Date().timeIntervalSince1970 * 1_000_000)
            #expect(datagrams.allSatisfy { $0.timestampMicros <= now && now - $0.timestampMicros < 120_000_000 },
                    "capture times are wall clock")

            var lastByMedia: [UInt32: Int] = [:]
            var extenders: [UInt32: RTPSequenceExtender] = [:]
            var mediaPackets = 0
            for datagram in rtp {
                let header = try RTPPacketView.parse(datagram.payload)
                #expect(header.payloadType == mediaPT || header.payloadType == rtxPT,
                        "\(track): payload type \(header.payloadType), answer says \(mediaPT)/\(String(describing: rtxPT))")
                guard header.payloadType == mediaPT else { continue }
                mediaPackets += 1
                var extender = extenders[header.ssrc] ?? RTPSequenceExtender()
                let extended = Int(extender.extend(header.sequenceNumber))
                extenders[header.ssrc] = extender
                if let last = lastByMedia[header.ssrc] { #expect(extended > last, "\(track): sequence numbers increase") }
                lastByMedia[header.ssrc] = extended
            }
            #expect(lastByMedia.count == 1, "\(track): one media SSRC")
            var senderReports = 0
            for datagram in rtcp {
                for packet in try RTCPCompound.parse(datagram.payload) {
                    if case .senderReport(let report) = packet {
                        senderReports += 1
                        #expect(lastByMedia[report.ssrc] != nil, "\(track): the SR is about its media SSRC")
                    }
                }
            }
            #expect(senderReports >= 1, "\(track): the browser's Sender Reports are recorded")

            // The foreign judge: tshark decodes every record as RTP or RTCP.
            let tshark = try ExternalTool.run("tshark", ["-r", path, "-d", "udp.port==5004,rtp", "-d", "udp.port==5005,rtcp",
                                                         "-T", "fields", "-e", "rtp.seq", "-e", "rtcp.pt"])
            #expect(tshark.status == 0, "tshark: \(tshark.stderr)")
            let lines = tshark.text.split(separator: "\n")
            #expect(lines.count == datagrams.count)
            #expect(lines.filter { $0.hasPrefix("\t") }.count == rtcp.count, "tshark sees the RTCP as RTCP")
            #expect(lines.filter { !$0.hasPrefix("\t") }.count == rtp.count, "tshark sees the RTP as RTP")
        }
    }
}

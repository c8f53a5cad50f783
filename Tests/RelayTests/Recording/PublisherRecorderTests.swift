import Foundation
import Testing
@testable import FakeCalls
@testable import Relay

/// Record mode's file side without a browser: the layout on disk, files closed on session close,
/// wall-clock capture times, and the keyframe-request timer.
@Suite struct PublisherRecorderTests {
    @Test func aSessionsPacketsLandInOnePcapPerTrackBesideItsSDP() throws {
        let directory = try ExternalTool.temporaryDirectory("recorder")
        defer { try? FileManager.default.removeItem(at: directory) }
        let start = ContinuousClock.now
        let recorder = PublisherRecorder(directory: directory.path, now: start)
        let before = UInt64(Date().timeIntervalSince1970 * 1_000_000)
        recorder.negotiated(session: "s1", published: PublisherRecordingTests.published)
        recorder.descriptions(session: "s1", offer: "v=0 offer\r\n", answer: "v=0 answer\r\n")
        var packets: [[UInt8]] = []
        for index in 0..<5 {
            let bytes = PublisherRecordingTests.packet(ssrc: 1111, sequenceNumber: UInt16(100 + index))
            packets.append(bytes)
            // The first two arrive before the Calls API's track names are known.
            if index == 2 { recorder.trackNames(session: "s1", ["0": "video", "1": "audio"]) }
            recorder.rtp(ReceivedRTP(bytes: bytes, header: try RTPPacketView.parse(bytes)), session: "s1", mid: "0",
                         now: start + .milliseconds(10 * index))
        }
        recorder.rtcp([.senderReport(RTCPSenderReport(ssrc: 1111, ntpTimestamp: 0, rtpTimestamp: 0, packetCount: 5, octetCount: 15))],
                      session: "s1", now: start + .milliseconds(60))
        recorder.closed(session: "s1")
        #expect(recorder.failures.isEmpty, "\(recorder.failures)")

        let session = directory.appendingPathComponent("s1")
        #expect(try String(contentsOf: session.appendingPathComponent("offer.sdp"), encoding: .utf8) == "v=0 offer\r\n")
        #expect(try String(contentsOf: session.appendingPathComponent("answer.sdp"), encoding: .utf8) == "v=0 answer\r\n")
        let datagrams = try Pcap.datagrams(in: [UInt8](Data(contentsOf: session.appendingPathComponent("video.pcap"))))
        #expect(datagrams.filter { $0.destinationPort == 5004 }.map(\.payload) == packets)
        #expect(datagrams.filter { $0.destinationPort == 5005 }.count == 1)
        let times = datagrams.map(\.timestampMicros)
        #expect(times.first.map { $0 + 1_000_000 >= before && $0 < before + 5_000_000 } == true, "wall clock µs")
        #expect(zip(times, times.dropFirst()).map { $1 - $0 } == [10_000, 10_000, 10_000, 10_000, 20_000], "the RTP 10 ms apart, then the SR")
        #expect(!FileManager.default.fileExists(atPath: session.appendingPathComponent("audio.pcap").path),
                "no file for a track that sent nothing")
    }

    @Test func anUnwritableDirectoryIsReportedNotFatal() {
        let recorder = PublisherRecorder(directory: "/proc/relayd-cannot-write-here", now: .now)
        recorder.negotiated(session: "s1", published: PublisherRecordingTests.published)
        recorder.descriptions(session: "s1", offer: "o", answer: "a")
        recorder.closed(session: "s1")
        #expect(recorder.failures.count == 2, "offer.sdp and answer.sdp: \(recorder.failures)")
        #expect(recorder.failures.allSatisfy { $0.contains("writable") })
    }

    @Test func keyframeRequestsComeOncePerInterval() {
        let start = ContinuousClock.now
        let recorder = PublisherRecorder(directory: "/tmp", keyframeInterval: .seconds(2), now: start)
        let due = (0..<100).filter { recorder.keyframeRequestDue(now: start + .milliseconds(100 * $0)) }
        #expect(due == [20, 40, 60, 80])
        let never = PublisherRecorder(directory: "/tmp", now: start)
        #expect(!never.keyframeRequestDue(now: start + .seconds(100)))
    }
}

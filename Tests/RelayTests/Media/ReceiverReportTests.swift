import Foundation
import Testing
@testable import Relay

/// The guest's media session reports what it receives: a Receiver Report about once a second
/// with one block per source, the last Sender Report echoed, and the same figures for the
/// status page.
@Suite struct ReceiverReportTests {
    let start = ContinuousClock.now
    let videoSSRC: UInt32 = 0xA1A1_0001, audioSSRC: UInt32 = 0xB2B2_0002

    func rtp(marker: Bool = false, payloadType: UInt8, sequence: UInt16, timestamp: UInt32, ssrc: UInt32,
             payload: [UInt8]) throws -> ReceivedRTP {
        let bytes = RTPPacketBuilder(marker: marker, payloadType: payloadType, sequenceNumber: sequence, timestamp: timestamp,
                                     ssrc: ssrc, payload: payload).serialize()
        return ReceivedRTP(bytes: bytes, header: try RTPPacketView.parse(bytes))
    }

    @Test func reportsCarryABlockPerSourceWithLossJitterAndTheSenderReportEcho() throws {
        let stream = try H264RTPStream()
        let ogg = try OggOpusReader([UInt8](Data(contentsOf: FixturePaths.url("audio/tone-440L-660R-stereo-2s.opus.ogg"))))
        let media = GuestMediaSession(
            routes: .init(videoPayloadType: 125, videoRTXPayloadType: nil, videoCodec: .h264, audioPayloadType: 111),
            video: VideoReceivePipeline(inputCodec: .h264, transcoder: nil, now: start),
            audio: AudioReceivePipeline(transcoder: try AudioTranscoder(), now: start), sink: FLVMemorySink())
        // Three video packets of the first half second never arrive (no RTX): they stay lost.
        let early = stream.packets.indices.filter { stream.packets[$0].frameIndex >= 3 && stream.packets[$0].frameIndex < 15 }
        let lostVideo: Set<Int> = [early[2], early[3], early[20]]
        var events: [(at: Int, rtp: ReceivedRTP)] = []
        for (index, packet) in stream.packets.enumerated() where !lostVideo.contains(index) {
            events.append((packet.frameIndex * 33, try rtp(marker: packet.marker, payloadType: 125,
                                                           sequence: UInt16(truncatingIfNeeded: packet.sequence &+ 64500),
                                                           timestamp: packet.timestamp &+ 12345, ssrc: videoSSRC, payload: packet.payload)))
        }
        for (index, packet) in ogg.packets.prefix(100).enumerated() {
            events.append((index * 20, try rtp(payloadType: 111, sequence: UInt16(7 + index), timestamp: UInt32(index * 960),
                                               ssrc: audioSSRC, payload: packet.data)))
        }
        events.sort { $0.at < $1.at }
        let senderReport = RTCPSenderReport(ssrc: videoSSRC, ntpTimestamp: 0xE000_0000_8000_0000, rtpTimestamp: 12345,
                                            packetCount: 0, octetCount: 0)
        var reports: [(at: Int, report: RTCPReceiverReport)] = []
        var srSent = false
        for event in events {
            let now = start + .milliseconds(event.at)
            if event.at >= 500, !srSent {
                media.handle(rtcp: [.senderReport(senderReport)], now: start + .milliseconds(500))
                srSent = true
            }
            for case .receiverReport(let report) in media.handle(event.rtp, now: now) { reports.append((event.at, report)) }
        }
        // One report at the start (empty of nothing: the first source is known), then one a second.
        #expect(reports.count == 2, "\(reports.map(\.at))")
        let last = try #require(reports.last)
        #expect(last.at >= 1000 && last.at < 1100)
        let video = try #require(last.report.reports.first { $0.ssrc == videoSSRC })
        let audio = try #require(last.report.reports.first { $0.ssrc == audioSSRC })
        #expect(last.report.reports.count == 2)
        #expect(video.cumulativeLost == 3)
        #expect(video.fractionLost > 0)
        #expect(video.extendedHighestSequence > 65536)  // wrapped once: starts at 65500
        #expect(video.lastSenderReport == senderReport.compactNTP)
        // DLSR: from 500 ms to the report, in 1/65536 s.
        let expectedDelay = Double(last.at - 500) / 1000 * 65536
        #expect(abs(Double(video.delaySinceLastSenderReport) - expectedDelay) < 2)
        #expect(audio.cumulativeLost == 0 && audio.fractionLost == 0)
        #expect(audio.lastSenderReport == 0)
        #expect(audio.extendedHighestSequence == UInt32(7 + 50))
        // The wire form parses back to the same report.
        let parsed = try RTCPCompound.parse(RTCPCompound.serialize([.receiverReport(last.report)]))
        #expect(parsed == [.receiverReport(last.report)])

        let figures = media.figures
        #expect(figures.video?.packetsLost == 3)
        #expect(figures.video?.ssrc == videoSSRC)
        #expect((figures.video?.lossPercent ?? 0) > 0)
        #expect(figures.audio?.packetsLost == 0)
        #expect((figures.audio?.jitterMilliseconds ?? -1) >= 0)
        #expect((figures.audio?.jitterBufferDelayMilliseconds ?? -1) >= 0)
        #expect(figures.packetsLost == 3)
        #expect(figures.nacksSent >= 3)
        #expect(figures.plisSent >= 1)
        #expect(figures.senderReports == 1)
    }

    @Test func aSenderReportBeforeTheFirstPacketIsKeptForItsSource() throws {
        let media = GuestMediaSession(
            routes: .init(videoPayloadType: 125, videoRTXPayloadType: nil, videoCodec: .h264, audioPayloadType: 111),
            video: VideoReceivePipeline(inputCodec: .h264, transcoder: nil, now: start), audio: nil, sink: FLVMemorySink(hasAudio: false))
        media.handle(rtcp: [.senderReport(RTCPSenderReport(ssrc: videoSSRC, ntpTimestamp: 0x1234_5678_9ABC_DEF0, rtpTimestamp: 0,
                                                           packetCount: 0, octetCount: 0))], now: start)
        let feedback = media.handle(try rtp(payloadType: 125, sequence: 1, timestamp: 0, ssrc: videoSSRC, payload: [0x65, 0]),
                                    now: start + .milliseconds(250))
        let report = try #require(feedback.lazy.compactMap { if case .receiverReport(let r) = $0 { r } else { nil } }.first)
        #expect(report.reports.first?.lastSenderReport == 0x5678_9ABC)
        #expect(report.reports.first?.delaySinceLastSenderReport == 16384)  // 250 ms
        #expect(media.timeline.timeline.isSynchronized(.video))
    }
}

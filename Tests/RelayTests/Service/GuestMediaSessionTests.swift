import Foundation
import Testing
@testable import Relay

/// RTP as the SFU forwards it (its own PT and SSRC, RTX for repairs) through the guest's media
/// session into an FLV sink, and the RTCP the session answers with.
@Suite struct GuestMediaSessionTests {
    let start = ContinuousClock.now
    let videoPT: UInt8 = 125, rtxPT: UInt8 = 37, ssrc: UInt32 = 0x1234, rtxSSRC: UInt32 = 0x5678

    func session(sink: FLVMemorySink) -> GuestMediaSession {
        GuestMediaSession(
            routes: .init(videoPayloadType: Int(videoPT), videoRTXPayloadType: Int(rtxPT), videoCodec: .h264, audioPayloadType: 111),
            video: VideoReceivePipeline(inputCodec: .h264, transcoder: nil, now: start), audio: nil, sink: sink)
    }

    func rtp(_ builder: RTPPacketBuilder) throws -> ReceivedRTP {
        let bytes = builder.serialize()
        return ReceivedRTP(bytes: bytes, header: try RTPPacketView.parse(bytes))
    }

    @Test func rtxRepairsALostPacketAndEveryFrameArrives() throws {
        let stream = try H264RTPStream()
        let sink = FLVMemorySink(hasAudio: false)
        let media = session(sink: sink)
        let lostIndex = stream.packets.count / 3
        var feedback: [RTCPPacket] = []
        var rtxSequence: UInt16 = 9000
        for (index, packet) in stream.packets.enumerated() where index != lostIndex {
            let now = start + .milliseconds(index)
            feedback += media.handle(try rtp(RTPPacketBuilder(
                marker: packet.marker, payloadType: videoPT, sequenceNumber: UInt16(truncatingIfNeeded: packet.sequence),
                timestamp: packet.timestamp, ssrc: ssrc, payload: packet.payload)), now: now)
            if index == lostIndex + 8 {
                // The NACK went out; the SFU answers on the RTX stream.
                let original = stream.packets[lostIndex]
                let nacked = feedback.contains {
                    if case .genericNACK(let nack) = $0 { nack.lostSequenceNumbers.contains(UInt16(truncatingIfNeeded: original.sequence)) } else { false }
                }
                #expect(nacked)
                let seq = UInt16(truncatingIfNeeded: original.sequence)
                feedback += media.handle(try rtp(RTPPacketBuilder(
                    marker: original.marker, payloadType: rtxPT, sequenceNumber: rtxSequence, timestamp: original.timestamp,
                    ssrc: rtxSSRC, payload: [UInt8(seq >> 8), UInt8(seq & 0xFF)] + original.payload)), now: now)
                rtxSequence += 1
            }
        }
        _ = media.tick(now: start + .seconds(60))
        #expect(sink.videoFrames == 60)
        #expect(media.nacksSent >= 1)
        // A PLI at start (no keyframe seen yet), then none: nothing was lost for good.
        let plis = feedback.filter { if case .pictureLossIndication = $0 { true } else { false } }
        #expect(plis.count == 1)
        #expect(feedback.contains { if case .receiverEstimatedMaxBitrate(let remb) = $0 { remb.bitrate >= 1_000_000 } else { false } })
    }

    @Test func keyframeRequestsFromTheOutputBecomeRateLimitedPLIs() throws {
        let sink = FLVMemorySink(hasAudio: false)
        let media = session(sink: sink)
        let stream = try H264RTPStream()
        // The whole first keyframe: once pictures flow, PLIs are spaced 300 ms (100 ms before).
        for packet in stream.packets where packet.frameIndex == 0 {
            _ = media.handle(try rtp(RTPPacketBuilder(marker: packet.marker, payloadType: videoPT,
                                                      sequenceNumber: UInt16(truncatingIfNeeded: packet.sequence),
                                                      timestamp: packet.timestamp, ssrc: ssrc, payload: packet.payload)), now: start)
        }
        #expect(media.video?.stats.keyframesOut == 1)
        var plis = 0
        for step in 0..<100 {
            media.requestKeyframe()  // e.g. the RTMP server came back
            let feedback = media.tick(now: start + .milliseconds(10 * step))
            plis += feedback.filter { if case .pictureLossIndication = $0 { true } else { false } }.count
        }
        // 1 s of asking every 10 ms: at most one PLI per 300 ms.
        #expect(plis >= 3 && plis <= 5, "\(plis) PLIs")
    }

    @Test func beforeTheFirstKeyframePLIsRepeatEvery100Milliseconds() throws {
        let media = session(sink: FLVMemorySink(hasAudio: false))
        let stream = try H264RTPStream()
        // A delta frame's packet: nothing can be shown until a keyframe arrives.
        let delta = try #require(stream.packets.first { $0.frameIndex == 1 })
        _ = media.handle(try rtp(RTPPacketBuilder(marker: delta.marker, payloadType: videoPT, sequenceNumber: 1,
                                                  timestamp: delta.timestamp, ssrc: ssrc, payload: delta.payload)), now: start)
        var plis = 0
        for step in 0..<50 {
            media.requestKeyframe()
            let feedback = media.tick(now: start + .milliseconds(10 * step))
            plis += feedback.filter { if case .pictureLossIndication = $0 { true } else { false } }.count
        }
        // 500 ms with no picture yet: one PLI per 100 ms.
        #expect(plis >= 4 && plis <= 6, "\(plis) PLIs")
    }

    @Test func unknownPayloadTypesAreIgnored() throws {
        let sink = FLVMemorySink(hasAudio: false)
        let media = session(sink: sink)
        _ = media.handle(try rtp(RTPPacketBuilder(payloadType: 99, sequenceNumber: 1, timestamp: 0, ssrc: 1, payload: [1, 2, 3])), now: start)
        _ = media.tick(now: start + .seconds(1))
        #expect(sink.videoFrames == 0)
        #expect(media.packets == 1)
    }
}

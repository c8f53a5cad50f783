import Foundation
import Testing
@testable import Relay

/// Issue 6's must-show cases through the whole media session (RTP in, RTCP out, FLV judged
/// by FFmpeg): random loss repaired by RTX, random loss with no repair, and hostile RTP.
@Suite struct LossAndDamageTests {
    let start = ContinuousClock.now
    let videoPT: UInt8 = 125, rtxPT: UInt8 = 37, videoSSRC: UInt32 = 0x1111, rtxSSRC: UInt32 = 0x2222

    /// Records what the session emits, and writes it to an FLV like the reference sink.
    final class RecordingSink: MediaSink {
        let flv = FLVMemorySink(hasAudio: false)
        var pictures: [(milliseconds: Int64, rtpTimestamp: UInt32, isKeyframe: Bool)] = []

        func videoConfiguration(_ record: AVCDecoderConfiguration, stream: H264StreamInfo) {
            flv.videoConfiguration(record, stream: stream)
        }
        func video(_ unit: H264AccessUnit, milliseconds: Int64) {
            pictures.append((milliseconds, unit.rtpTimestamp, unit.isKeyframe))
            flv.video(unit, milliseconds: milliseconds)
        }
        func audioConfiguration(_ audioSpecificConfig: [UInt8]) {}
        func audio(_ frame: [UInt8], milliseconds: Int64) {}
    }

    func session(_ sink: MediaSink) -> GuestMediaSession {
        GuestMediaSession(
            routes: .init(videoPayloadType: Int(videoPT), videoRTXPayloadType: Int(rtxPT), videoCodec: .h264, audioPayloadType: 111),
            video: VideoReceivePipeline(inputCodec: .h264, transcoder: nil, now: start), audio: nil, sink: sink)
    }

    func rtp(_ bytes: [UInt8]) throws -> ReceivedRTP { ReceivedRTP(bytes: bytes, header: try RTPPacketView.parse(bytes)) }

    /// The 60-frame fixture played `loops` times as one stream (4 s at 30 fps, a keyframe every 30).
    func sourcePackets(loops: Int) throws -> [(at: Int, sequence: UInt16, packet: H264RTPStream.Packet)] {
        let stream = try H264RTPStream()
        var out: [(Int, UInt16, H264RTPStream.Packet)] = []
        var sequence: UInt16 = 60000  // wraps on the way
        for loop in 0..<loops {
            var position = 0
            for (index, var packet) in stream.packets.enumerated() {
                position = index > 0 && stream.packets[index - 1].frameIndex == packet.frameIndex ? position + 1 : 0
                packet.timestamp &+= UInt32(loop * 60 * 3000)
                packet.frameIndex += loop * 60
                // Frames every 33.3 ms, the packets of a frame 0.1 ms apart.
                out.append((packet.frameIndex * 100_000 / 3 + position * 100, sequence, packet))
                sequence &+= 1
            }
        }
        return out
    }

    func judge(_ flv: [UInt8]) throws -> (frames: Int, decodeErrors: String) {
        let dir = try ExternalTool.temporaryDirectory("loss")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("out.flv").path
        try Data(flv).write(to: URL(fileURLWithPath: path))
        let probe = try ExternalTool.run("ffprobe", ["-v", "error", "-count_frames", "-select_streams", "v",
                                                     "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", path])
        #expect(probe.status == 0, "\(probe.stderr)")
        let decode = try ExternalTool.run("ffmpeg", ["-v", "error", "-i", path, "-f", "null", "-"])
        #expect(decode.status == 0)
        return (Int(probe.text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1, probe.stderr + decode.stderr)
    }

    /// Plays the stream with 5% loss at `seed`; with `repair`, the sender answers every NACK on
    /// RTX one 20 ms round trip later (and those repairs are lost 5% of the time too).
    func play(repair: Bool, seed: UInt64) throws -> (sink: RecordingSink, media: GuestMediaSession, feedback: [RTCPPacket], lost: Int) {
        let source = try sourcePackets(loops: 2)
        let bySequence = Dictionary(source.map { ($0.sequence, $0.packet) }, uniquingKeysWith: { first, _ in first })
        var rng = SeededRandom(seed: seed)
        let sink = RecordingSink()
        let media = session(sink)
        // Events in microseconds: original packets, repairs, and a 20 ms timer tick (audio
        // packets would drive the session that often in a real call).
        var pending: [(at: Int, bytes: [UInt8]?)] = []
        var lost = 0
        for item in source {
            if rng.next() % 20 == 0 {
                lost += 1
                continue
            }
            pending.append((item.at, RTPPacketBuilder(marker: item.packet.marker, payloadType: videoPT, sequenceNumber: item.sequence,
                                                      timestamp: item.packet.timestamp, ssrc: videoSSRC, payload: item.packet.payload).serialize()))
        }
        for at in stride(from: 0, to: 4_500_000, by: 20_000) { pending.append((at, nil)) }
        pending.sort { $0.at < $1.at }
        var feedback: [RTCPPacket] = []
        var rtxSequence: UInt16 = 100
        var index = 0
        while index < pending.count {
            let event = pending[index]
            index += 1
            let now = start + .microseconds(event.at)
            let answer = try event.bytes.map { try media.handle(rtp($0), now: now) } ?? media.tick(now: now)
            feedback += answer
            guard repair else { continue }
            for case .genericNACK(let nack) in answer {
                for sequence in nack.lostSequenceNumbers {
                    guard let packet = bySequence[sequence], rng.next() % 20 != 0 else { continue }
                    let bytes = RTPPacketBuilder(marker: packet.marker, payloadType: rtxPT, sequenceNumber: rtxSequence,
                                                 timestamp: packet.timestamp, ssrc: rtxSSRC,
                                                 payload: [UInt8(sequence >> 8), UInt8(sequence & 0xFF)] + packet.payload).serialize()
                    rtxSequence &+= 1
                    let at = event.at + 20_000
                    let position = pending[index...].firstIndex { $0.at > at } ?? pending.endIndex
                    pending.insert((at, bytes), at: position)
                }
            }
        }
        _ = media.tick(now: start + .seconds(60))
        return (sink, media, feedback, lost)
    }

    @Test func fivePercentLossWithRetransmissionDeliversNearlyEveryFrame() throws {
        let (sink, media, feedback, lost) = try play(repair: true, seed: 31)
        #expect(lost >= 5, "\(lost) packets lost")
        // ≥ 99% of the 120 pictures, every one decodable.
        #expect(sink.pictures.count >= 119, "\(sink.pictures.count) of 120")
        let (frames, errors) = try judge(sink.flv.bytes)
        #expect(frames == sink.pictures.count)
        #expect(errors.isEmpty, "decoder complained: \(errors)")
        #expect(feedback.contains { if case .genericNACK = $0 { true } else { false } })
        // Repaired packets count as received: what stays lost is what RTX could not bring back.
        #expect((media.figures.video?.packetsLost ?? 99) <= 2)
        #expect(media.nacksSent >= lost)
    }

    @Test func fivePercentLossWithoutRetransmissionAsksForKeyframesAndNeverEmitsBrokenFrames() throws {
        let (sink, media, feedback, lost) = try play(repair: false, seed: 32)
        #expect(lost >= 5)
        let plis = feedback.filter { if case .pictureLossIndication = $0 { true } else { false } }.count
        #expect(plis >= 2, "a PLI at start and one after loss: \(plis)")
        #expect(media.plisSent == plis)
        #expect(!sink.pictures.isEmpty && sink.pictures.count < 120)
        // Wherever pictures are missing, output resumes on a keyframe.
        for (previous, picture) in zip(sink.pictures, sink.pictures.dropFirst()) where picture.rtpTimestamp &- previous.rtpTimestamp != 3000 {
            #expect(picture.isKeyframe, "resumed at RTP \(picture.rtpTimestamp) on a non-keyframe")
        }
        #expect(sink.pictures.first?.isKeyframe == true)
        let (frames, errors) = try judge(sink.flv.bytes)
        #expect(frames == sink.pictures.count)
        #expect(errors.isEmpty, "decoder complained: \(errors)")
    }

    @Test func hostileRTPIsDroppedAndCountedWithBoundedMemory() throws {
        let sink = RecordingSink()
        let media = session(sink)
        let source = try sourcePackets(loops: 1)
        // Microseconds: frames come in real time, the junk between them 10 µs apart.
        var clock = 0
        var maxBuffered = 0
        func send(_ payload: [UInt8], sequence: UInt16, timestamp: UInt32, marker: Bool = false, frame: Int? = nil) throws {
            clock = max(clock + 10, (frame ?? 0) * 100_000 / 3)
            let bytes = RTPPacketBuilder(marker: marker, payloadType: videoPT, sequenceNumber: sequence, timestamp: timestamp,
                                         ssrc: videoSSRC, payload: payload).serialize()
            _ = media.handle(try rtp(bytes), now: start + .microseconds(clock))
            maxBuffered = max(maxBuffered, media.video?.bufferedBytes ?? 0)
        }
        // A clean first half, so the damage lands on a running stream.
        let half = source.firstIndex { $0.packet.frameIndex == 30 }!
        for item in source[..<half] {
            try send(item.packet.payload, sequence: item.sequence, timestamp: item.packet.timestamp, marker: item.packet.marker,
                     frame: item.packet.frameIndex)
        }
        let framesBefore = sink.pictures.count
        var sequence = source[half].sequence
        var timestamp = source[half - 1].packet.timestamp
        func next() -> UInt16 { defer { sequence &+= 1 }; return sequence }
        // Truncated packets: header only, one byte of FU-A, a two-byte STAP-A.
        timestamp &+= 3000
        try send([], sequence: next(), timestamp: timestamp)
        try send([0x7C], sequence: next(), timestamp: timestamp)
        try send([0x78, 0x00], sequence: next(), timestamp: timestamp, marker: true)
        // FU-A middle and end without a start.
        timestamp &+= 3000
        try send([0x7C, 0x05, 1, 2, 3], sequence: next(), timestamp: timestamp)
        try send([0x7C, 0x45, 4, 5], sequence: next(), timestamp: timestamp, marker: true)
        // STAP-A whose lengths run past the end.
        timestamp &+= 3000
        try send([0x78, 0x00, 0x40, 0x67, 0x42, 0x00, 0xFF, 0x68], sequence: next(), timestamp: timestamp, marker: true)
        // A 10 MB "picture": 9000 packets of one timestamp, no marker.
        timestamp &+= 3000
        let chunk = [UInt8](repeating: 0xAB, count: 1170)
        try send([0x7C, 0x85] + chunk, sequence: next(), timestamp: timestamp)
        for _ in 0..<9000 { try send([0x7C, 0x05] + chunk, sequence: next(), timestamp: timestamp) }
        // A stray packet 30000 ahead: dropped before the jitter buffer, counted.
        try send([0x65, 0x88, 0x80], sequence: sequence &+ 30000, timestamp: timestamp &+ 99)
        // Packets of the damaged pictures that carry on after the jump.
        timestamp &+= 3000
        try send([0x7C, 0x05, 9, 9], sequence: next(), timestamp: timestamp, marker: true)
        // Then the sender restarts its numbering 30000 further on and sends its second GOP. The
        // jump leaves the relay unsure of the first picture: it asks for a keyframe, and the
        // sender answers with the GOP again.
        sequence &+= 30000
        let plisBefore = media.plisSent
        for (round, offset) in [1_000_000, 1_090_000].enumerated() {
            for item in source[half...] {
                try send(item.packet.payload, sequence: next(), timestamp: item.packet.timestamp &+ UInt32(offset),
                         marker: item.packet.marker, frame: item.packet.frameIndex + 30 * (2 * round + 1))
            }
        }
        _ = media.tick(now: start + .seconds(3600))
        #expect(media.plisSent > plisBefore)

        let stats = try #require(media.video?.stats)
        #expect(stats.depacketizer.malformedPackets >= 4)
        #expect(stats.depacketizer.framesDroppedOversized >= 1)
        #expect(stats.depacketizer.framesDroppedCorrupt >= 3)
        _ = media.tick(now: start + .seconds(3601))  // a fresh report for the figures
        // The stray jump; the restart's first packet was held and went in once the second confirmed it.
        #expect(media.figures.video?.packetsDropped == 1)
        // Memory: the jitter buffer (1024 packets) and one picture of at most 4 MB.
        #expect(maxBuffered <= (4 << 20) + 1024 * 1500, "buffered \(maxBuffered) bytes")
        #expect(media.video?.bufferedBytes == 0)
        // The stream came back at the restarted GOP's keyframe, and nothing broken went out.
        #expect(sink.pictures.count >= framesBefore + 25, "\(framesBefore) before, \(sink.pictures.count) in all")
        let (frames, errors) = try judge(sink.flv.bytes)
        #expect(frames == sink.pictures.count)
        #expect(errors.isEmpty, "decoder complained: \(errors)")
    }

    /// Random bytes behind valid RTP headers (random NAL types, lengths, timestamps, sequence
    /// numbers with jumps): nothing traps and the buffers stay bounded. (Junk that parses as a
    /// slice can reach the output: the depacketizer checks structure, not slice contents.)
    @Test func randomRTPNeverTrapsAndMemoryStaysBounded() throws {
        let media = session(RecordingSink())
        var rng = SeededRandom(seed: 0xBAD)
        var sequence: UInt16 = 0
        var maxBuffered = 0
        for n in 0..<3000 {
            var payload = rng.bytes(Int(rng.next() % 1400))
            if !payload.isEmpty { payload[0] = [0x7C, 0x78, 0x65, 0x41, 0x00, 0x1D, 0x67, 0x68][Int(rng.next() % 8)] }
            sequence &+= rng.next() % 50 == 0 ? UInt16(truncatingIfNeeded: rng.next()) : 1
            let payloadType = rng.next() % 10 == 0 ? rtxPT : videoPT
            let bytes = RTPPacketBuilder(marker: rng.next() % 3 == 0, payloadType: payloadType, sequenceNumber: sequence,
                                         timestamp: UInt32(truncatingIfNeeded: rng.next() % 4 == 0 ? rng.next() : UInt64(n / 3 * 3000)),
                                         ssrc: rng.next() % 500 == 0 ? 0x9999 : videoSSRC, payload: payload).serialize()
            _ = media.handle(try rtp(bytes), now: start + .milliseconds(n))
            if n % 97 == 0 { media.handle(rtcp: [.senderReport(RTCPSenderReport(
                ssrc: videoSSRC, ntpTimestamp: rng.next(), rtpTimestamp: UInt32(truncatingIfNeeded: rng.next()), packetCount: 0,
                octetCount: 0))], now: start + .milliseconds(n)) }
            maxBuffered = max(maxBuffered, media.video?.bufferedBytes ?? 0)
        }
        _ = media.tick(now: start + .seconds(3600))
        #expect(maxBuffered <= (4 << 20) + 1024 * 1400, "buffered \(maxBuffered) bytes")
        #expect((media.figures.video?.packetsDropped ?? 0) > 0)
        #expect((media.video?.stats.depacketizer.malformedPackets ?? 0) > 100)
    }

    @Test func vp8WithBadPayloadDescriptorsIsCountedNotFatal() throws {
        let ivf = try IVFReader([UInt8](Data(contentsOf: FixturePaths.url("media/testsrc2-320x240-60f.ivf"))))
        let sink = RecordingSink()
        let media = GuestMediaSession(
            routes: .init(videoPayloadType: 96, videoRTXPayloadType: nil, videoCodec: .vp8, audioPayloadType: nil),
            video: VideoReceivePipeline(inputCodec: .vp8, transcoder: try VideoTranscoder(inputCodec: .vp8, video: VideoConfig()), now: start),
            audio: nil, sink: sink)
        var packetizer = VP8Packetizer()
        var sequence: UInt16 = 10
        var clock = 0
        func send(_ payload: [UInt8], timestamp: UInt32, marker: Bool) throws {
            clock += 1
            let bytes = RTPPacketBuilder(marker: marker, payloadType: 96, sequenceNumber: sequence, timestamp: timestamp,
                                         ssrc: videoSSRC, payload: payload).serialize()
            sequence &+= 1
            _ = media.handle(try rtp(bytes), now: start + .milliseconds(clock))
        }
        var rng = SeededRandom(seed: 0x7E8)
        for (index, frame) in ivf.frames.enumerated() {
            let timestamp = UInt32(index * 3000)
            if index == 10 {
                // Descriptors that claim extensions the packet does not have, and empty ones.
                for bad: [UInt8] in [[], [0x80], [0x90, 0x80], [0x90, 0x80, 0x80], [0x80, 0x40], [0x80, 0xF0, 0x80]] {
                    try send(bad, timestamp: timestamp, marker: false)
                }
                for _ in 0..<200 { try send(rng.bytes(Int(rng.next() % 40)), timestamp: timestamp, marker: rng.next() % 2 == 0) }
            }
            let payloads = packetizer.payloads(for: frame.data)
            for (n, payload) in payloads.enumerated() {
                try send(payload, timestamp: timestamp &+ (index >= 10 ? 1 : 0), marker: n == payloads.count - 1)
            }
        }
        _ = media.tick(now: start + .seconds(3600))
        let stats = try #require(media.video?.stats)
        #expect(stats.depacketizer.malformedPackets >= 4)
        #expect(sink.pictures.count >= 10)  // before the junk; after it, frames wait for a keyframe
        #expect(sink.pictures.count < 60)
        let (frames, errors) = try judge(sink.flv.bytes)
        #expect(frames == sink.pictures.count)
        #expect(errors.isEmpty, "decoder complained: \(errors)")
    }
}

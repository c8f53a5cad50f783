import Foundation
import Relay
import Testing

@Suite("AudioTranscoder: Opus RTP payloads → AAC-LC")
struct AudioTranscoderTests {
    @Test("the stereo tone comes out as AAC-LC 48 kHz stereo that ffprobe counts, same tones, exact timing")
    func stereoToneThroughFFprobe() throws {
        let packets = try AudioFixture.rtpPackets(AudioFixture.stereoTone)
        let run = try TranscodeRun(packets)
        let sourceSamples = packets.reduce(0) { $0 + $1.samples }

        #expect(run.audioSpecificConfig == [0x11, 0x90])
        #expect(run.encoderDelay == 1024)
        #expect(run.timestampsContinuous)
        // The priming frame, then the source cut into 1024-sample frames (the last one short).
        let expectedFrames = 1 + (sourceSamples + 1023) / 1024
        #expect(abs(run.frames.count - expectedFrames) <= 1, "\(run.frames.count) frames for \(sourceSamples) samples")
        #expect(run.stats.decodedPackets == packets.count)
        #expect(run.stats.concealedSamples == 0 && run.stats.silenceSamples == 0)
        #expect(run.frames.first?.ptsMilliseconds == -21)
        #expect(run.frames.dropFirst().first?.ptsMilliseconds == 0)

        let check = try ForeignAACCheck(adts: run.adts)
        #expect(check.codec == "aac")
        #expect(check.sampleRate == 48000)
        #expect(check.channels == 2)
        #expect(check.frames == run.frames.count)
        let decodedDuration = check.pcm.count / 2 - run.encoderDelay
        #expect(abs(decodedDuration - sourceSamples) <= 1024, "decoded \(decodedDuration) samples, source \(sourceSamples)")

        let left = check.channel(0), right = check.channel(1)
        let window = 24000..<72000
        let left440 = Tone.power(left, frequency: 440, range: window)
        let left660 = Tone.power(left, frequency: 660, range: window)
        let right660 = Tone.power(right, frequency: 660, range: window)
        let right440 = Tone.power(right, frequency: 440, range: window)
        #expect(left440 > 100 * left660, "left: 440 Hz \(left440), 660 Hz \(left660)")
        #expect(right660 > 100 * right440, "right: 660 Hz \(right660), 440 Hz \(right440)")

        // Exact timing: decoded sample k is timeline sample k − encoderDelay, and the Opus
        // decoder's sample t is the source's t − preSkip, so the source sine's phase lines up.
        let origin = run.encoderDelay + (try AudioFixture.reader(AudioFixture.stereoTone)).preSkip
        let leftPhase = Tone.phase(left, frequency: 440, range: window, origin: origin)
        let rightPhase = Tone.phase(right, frequency: 660, range: window, origin: origin)
        #expect(abs(leftPhase) < 0.25, "440 Hz phase off by \(leftPhase) rad")
        #expect(abs(rightPhase) < 0.25, "660 Hz phase off by \(rightPhase) rad")
    }

    @Test("mono Opus comes out as stereo AAC with the tone in both channels")
    func monoBecomesStereo() throws {
        let reader = try AudioFixture.reader(AudioFixture.monoTone)
        #expect(reader.channels == 1)
        let run = try TranscodeRun(try AudioFixture.rtpPackets(AudioFixture.monoTone))
        #expect(run.timestampsContinuous)
        let check = try ForeignAACCheck(adts: run.adts)
        #expect(check.channels == 2)
        let window = 24000..<72000
        for channel in 0..<2 {
            let samples = check.channel(channel)
            let tone = Tone.power(samples, frequency: 440, range: window)
            let other = Tone.power(samples, frequency: 660, range: window)
            #expect(tone > 100 * other, "channel \(channel): 440 Hz \(tone), 660 Hz \(other)")
        }
    }

    @Test("5% seeded loss: gaps concealed, frame count and timeline unchanged")
    func randomLossIsConcealed() throws {
        let packets = try AudioFixture.rtpPackets(AudioFixture.stereoTone)
        let lossless = try TranscodeRun(packets)
        var random = SeededRandom(seed: 0xA0D10)
        var dropped = 0
        // Keep the first and last packet: loss at the edges has nothing to be measured against.
        let kept = packets.enumerated().filter { index, _ in
            guard index > 0, index < packets.count - 1, Double.random(in: 0..<1, using: &random) < 0.05 else { return true }
            dropped += 1
            return false
        }.map(\.element)
        #expect(dropped >= 2)
        let run = try TranscodeRun(kept)
        #expect(run.stats.lostPackets == dropped)
        #expect(run.stats.concealedSamples == dropped * 960)
        #expect(run.stats.fecRecoveredFrames == 0)  // CELT packets carry no FEC
        #expect(run.frames.count == lossless.frames.count)
        #expect(run.timestampsContinuous)
        let check = try ForeignAACCheck(adts: run.adts)
        #expect(check.frames == run.frames.count)
    }

    @Test("a lost packet whose successor carries LBRR is recovered by in-band FEC")
    func lossRecoveredByFEC() throws {
        let packets = try AudioFixture.rtpPackets(AudioFixture.monoFEC)
        let withFEC = packets.indices.dropFirst(10).filter { index in
            index + 1 < packets.count && packets[index + 1].payload.withUnsafeBytes { OpusPacketInfo($0)?.hasLBRR ?? false }
        }
        let lost = try #require(withFEC.first)
        let lossless = try TranscodeRun(packets)
        var kept = packets
        kept.remove(at: lost)
        let run = try TranscodeRun(kept)
        #expect(run.stats.lostPackets == 1)
        #expect(run.stats.fecRecoveredFrames == 1)
        #expect(run.stats.concealedSamples == 0)
        #expect(run.frames.count == lossless.frames.count)
        #expect(run.timestampsContinuous)
    }

    @Test("a DTX gap (timestamps jump, sequence does not) keeps the timeline continuous")
    func dtxGapIsFilled() throws {
        let packets = try AudioFixture.rtpPackets(AudioFixture.stereoTone)
        let lossless = try TranscodeRun(packets)
        // The sender stops for 10 packets (200 ms) but numbers on without a hole.
        var dtx = Array(packets[0..<40]) + Array(packets[50...])
        for index in dtx.indices { dtx[index].sequence = 5000 + UInt64(index) }
        let run = try TranscodeRun(dtx)
        #expect(run.stats.dtxGaps == 1)
        #expect(run.stats.lostPackets == 0)
        #expect(run.stats.concealedSamples + run.stats.silenceSamples == 9600)
        #expect(run.frames.count == lossless.frames.count)
        #expect(run.timestampsContinuous)
    }

    @Test("a long DTX gap conceals up to the limit and fills the rest with silence")
    func longGapBecomesSilence() throws {
        let packets = try AudioFixture.rtpPackets(AudioFixture.stereoTone)
        var shifted = Array(packets[0..<20])
        for var packet in packets[20...] {  // 3 s of nothing, no sequence gap
            packet.timestamp &+= 144_000
            shifted.append(packet)
        }
        let run = try TranscodeRun(shifted)
        #expect(run.stats.concealedSamples == 9600)
        #expect(run.stats.silenceSamples == 144_000 - 9600)
        #expect(run.stats.discontinuities == 0)
        #expect(run.timestampsContinuous)
        let sourceSamples = packets.reduce(0) { $0 + $1.samples } + 144_000
        #expect(abs(run.frames.count - (1 + (sourceSamples + 1023) / 1024)) <= 1)
    }

    @Test("a jump past maximumGap re-anchors instead of filling, and RTP wrap is continuous")
    func discontinuityAndWrap() throws {
        // Start just below the 32-bit wrap so the timestamps wrap mid-stream.
        let packets = try AudioFixture.rtpPackets(AudioFixture.stereoTone, firstTimestamp: UInt32.max - 20 * 960)
        let lossless = try TranscodeRun(packets)
        #expect(lossless.stats.discontinuities == 0 && lossless.stats.silenceSamples == 0)
        var jumped = Array(packets[0..<30])
        for var packet in packets[30...] {
            packet.timestamp &+= 48000 * 60  // one minute later
            jumped.append(packet)
        }
        let transcoder = try AudioTranscoder()
        var frames: [AACFrame] = []
        for packet in jumped {
            frames += try transcoder.push(payload: packet.payload, rtpTimestamp: packet.timestamp, sequence: packet.sequence)
        }
        frames += try transcoder.finish()
        #expect(transcoder.stats.discontinuities == 1)
        #expect(transcoder.stats.silenceSamples == 0)
        #expect(frames.count == lossless.frames.count)
        #expect(transcoder.firstRTPTimestamp == UInt32.max - 20 * 960)
        // After the jump, the new timestamps map onto the continuing output.
        let position = try #require(transcoder.outputPosition(ofRTPTimestamp: jumped[30].timestamp))
        let expected = Int64(30 * 960)
        #expect(position == expected)
    }

    @Test("duplicates and packets older than the last one are ignored and counted")
    func outOfOrderIgnored() throws {
        let packets = try AudioFixture.rtpPackets(AudioFixture.stereoTone)
        var input = Array(packets[0..<10])
        input.append(packets[5])
        input.append(packets[9])
        input += packets[10...]
        let run = try TranscodeRun(input)
        let lossless = try TranscodeRun(packets)
        #expect(run.stats.outOfOrderPackets == 2)
        #expect(run.frames.count == lossless.frames.count)
        #expect(run.timestampsContinuous)
    }

    @Test("2000 seeded random payloads: counted, concealed, no crash, timeline continuous")
    func garbagePayloads() throws {
        let packets = try AudioFixture.rtpPackets(AudioFixture.stereoTone)
        var random = SeededRandom(seed: 0x0BAD_A0D1)
        let transcoder = try AudioTranscoder()
        var frames: [AACFrame] = []
        var timestamp: UInt32 = 777
        var sequence: UInt64 = 1
        for round in 0..<2000 {
            let payload: [UInt8]
            if round % 4 == 0 {
                payload = packets[round / 4 % packets.count].payload  // real audio between the garbage
            } else {
                let length = Int.random(in: 0...(round % 50 == 0 ? 4000 : 300), using: &random)
                payload = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
            }
            frames += try transcoder.push(payload: payload, rtpTimestamp: timestamp, sequence: sequence)
            timestamp &+= 960
            sequence += 1
        }
        frames += try transcoder.finish()
        let stats = transcoder.stats
        #expect(stats.packets == 2000)
        #expect(stats.corruptPackets > 100)
        #expect(stats.corruptPackets + stats.decodedPackets == 2000)
        // Whatever each payload claimed, the RTP timestamps rule: 2000 × 960 samples, ± the last
        // packet's own length (a final corrupt packet's time is never filled).
        let covered = Int(transcoder.samplesWritten)
        #expect(covered >= 1999 * 960 && covered <= 1999 * 960 + 5760, "\(covered) samples written")
        for (index, frame) in frames.enumerated() { #expect(frame.pts == Int64(index * 1024 - 1024)) }
    }
}

import Relay
import Testing

/// A decoder whose output says where it came from: a packet [n, v, fec] decodes to n × 120
/// samples of value v/100 (n = 0: corrupt), concealment is 0.5, FEC recovery 0.25 and covers
/// 960 samples when fec = 1.
private final class MarkingDecoder: AudioDecoder {
    let sampleRate = 48000
    let channels = 2
    let maximumPacketSamples = 5760

    func sampleCount(of packet: UnsafeRawBufferPointer) -> Int? {
        guard packet.count >= 3, packet[0] > 0 else { return nil }
        return Int(packet[0]) * 120
    }

    func decode(_ packet: UnsafeRawBufferPointer, into output: UnsafeMutableBufferPointer<Float>) throws(AudioCodecError) -> Int {
        guard let samples = sampleCount(of: packet) else { throw AudioCodecError(.invalidPacket, "marking decoder: bad packet") }
        return mark(samples, Float(packet[1]) / 100, output)
    }

    func conceal(samples: Int, into output: UnsafeMutableBufferPointer<Float>) throws(AudioCodecError) -> Int {
        mark(samples, 0.5, output)
    }

    func recoverableSamples(before packet: UnsafeRawBufferPointer) -> Int { packet.count >= 3 && packet[2] == 1 ? 960 : 0 }

    func recover(samples: Int, from packet: UnsafeRawBufferPointer, into output: UnsafeMutableBufferPointer<Float>) throws(AudioCodecError) -> Int {
        mark(samples, 0.25, output)
    }

    func reset() {}

    private func mark(_ samples: Int, _ value: Float, _ output: UnsafeMutableBufferPointer<Float>) -> Int {
        for index in 0..<(samples * channels) { output[index] = value }
        return samples
    }
}

/// Keeps every sample it is given; "frames" are 1024-sample marks without payload.
private final class RecordingEncoder: AudioEncoder {
    let sampleRate = 48000
    let channels = 2
    let frameSize = 1024
    let encoderDelay = 0
    let decoderConfiguration: [UInt8] = [0x11, 0x90]
    var left: [Float] = []

    func encode(interleaved samples: UnsafeBufferPointer<Float>) throws(AudioCodecError) -> [EncodedAudioFrame] {
        let before = left.count / frameSize
        left += stride(from: 0, to: samples.count, by: 2).map { samples[$0] }
        return (before..<(left.count / frameSize)).map { EncodedAudioFrame(data: [], pts: Int64($0 * 1024), duration: 1024, sampleRate: 48000) }
    }

    func flush() throws(AudioCodecError) -> [EncodedAudioFrame] { [] }
}

@Suite("AudioTranscoder timeline, with a marking decoder and a recording encoder")
struct AudioTimelineTests {
    @Test("every sample of the timeline comes from the right place: packet, FEC, PLC, silence, overlap trimmed")
    func exactTimeline() throws {
        let encoder = RecordingEncoder()
        let transcoder = try AudioTranscoder(
            configuration: .init(concealmentLimit: 1920), decoder: MarkingDecoder(), encoder: encoder)
        func push(_ packet: [UInt8], _ timestamp: UInt32, _ sequence: UInt64) throws {
            _ = try transcoder.push(payload: packet, rtpTimestamp: timestamp &+ 90000, sequence: sequence)
        }
        try push([8, 10, 0], 0, 1)  // [0, 960) 0.10
        try push([8, 11, 0], 960, 2)  // [960, 1920) 0.11
        // 3 lost: [1920, 2880) recovered from 4's FEC
        try push([8, 12, 1], 2880, 4)  // [2880, 3840) 0.12
        // 5–7 lost (two packets' time): [3840, 4800) concealed, [4800, 5760) recovered
        try push([8, 13, 1], 5760, 8)
        try push([0, 0, 0], 6720, 9)  // corrupt: [6720, 7680) filled when 10 comes, no FEC in 10
        try push([8, 14, 0], 7680, 10)
        // DTX: 11 comes 4000 samples late; 1920 concealed (the limit), 2080 silence
        try push([8, 15, 0], 12640, 11)
        // 12 overlaps 11 by 120 samples: its first 120 are dropped
        try push([8, 16, 0], 13480, 12)
        try push([8, 99, 0], 13480, 11)  // old sequence: ignored

        var expected: [Float] = []
        func add(_ count: Int, _ value: Float) { expected += Array(repeating: value, count: count) }
        add(960, 0.10); add(960, 0.11); add(960, 0.25); add(960, 0.12)
        add(960, 0.5); add(960, 0.25); add(960, 0.13)
        add(960, 0.5); add(960, 0.14)
        add(1920, 0.5); add(2080, 0); add(960, 0.15)
        add(840, 0.16)
        #expect(encoder.left.count == expected.count)
        let firstDifference = zip(encoder.left, expected).enumerated().first { $0.element.0 != $0.element.1 }
        #expect(firstDifference == nil, "first difference at sample \(firstDifference?.offset ?? -1)")

        let stats = transcoder.stats
        #expect(stats.lostPackets == 4)
        #expect(stats.fecRecoveredFrames == 2)
        #expect(stats.corruptPackets == 1)
        #expect(stats.dtxGaps == 1)
        #expect(stats.concealedSamples == 960 + 960 + 1920)
        #expect(stats.silenceSamples == 2080)
        #expect(stats.overlappingSamples == 120)
        #expect(stats.outOfOrderPackets == 1)
        #expect(transcoder.samplesWritten == Int64(expected.count))
        #expect(transcoder.outputPosition(ofRTPTimestamp: 90000 + 14440) == Int64(expected.count))
        let primingTimestamp: UInt32 = 90000 - 1024
        #expect(transcoder.rtpTimestamp(atOutputPosition: -1024) == primingTimestamp)
        // A sequence jump to the end of the 64-bit space is counted, not trapped on.
        try push([8, 17, 0], 14440, UInt64.max)
        #expect(transcoder.stats.lostPackets == 4 + Int(Int32.max))
    }

    @Test("a decoder and an encoder that disagree on the format are refused")
    func mismatchRefused() throws {
        let error = #expect(throws: AudioCodecError.self) {
            _ = try AudioTranscoder(
                configuration: .init(), decoder: OpusAudioDecoder(channels: 1), encoder: AACEncoder())
        }
        #expect(error?.kind == .setupFailed)
    }
}

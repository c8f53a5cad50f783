import Foundation
import Relay
import Testing

@Suite("AACEncoder (libavcodec aac)")
struct AACEncoderTests {
    @Test("AAC-LC 48 kHz stereo: 1024-sample frames, 1024 priming, ASC 0x11 0x90")
    func parameters() throws {
        let encoder = try AACEncoder()
        #expect(encoder.frameSize == 1024)
        #expect(encoder.encoderDelay == 1024)
        #expect(encoder.decoderConfiguration == [0x11, 0x90])
        #expect(encoder.encoderExtradata.prefix(2) == [0x11, 0x90])
        let mono = try AACEncoder(configuration: .init(bitrate: 64000, channels: 1))
        #expect(mono.decoderConfiguration == [0x11, 0x88])
        #expect(throws: AudioCodecError.self) { _ = try AACEncoder(configuration: .init(sampleRate: 47000)) }
    }

    @Test("input in odd-sized pieces is cut into exact frames; flush emits the short tail")
    func fifoAndFlush() throws {
        let encoder = try AACEncoder(configuration: .init(bitrate: 96000))
        var frames: [EncodedAudioFrame] = []
        var random = SeededRandom(seed: 7)
        var fed = 0
        var phase = 0.0
        while fed < 10_000 {
            let count = min(Int.random(in: 1...3000, using: &random), 10_000 - fed)
            var samples = [Float](repeating: 0, count: count * 2)
            for index in 0..<count {
                let value = Float(0.5 * sin(phase))
                phase += 2 * Double.pi * 1000 / 48000
                samples[2 * index] = value
                samples[2 * index + 1] = -value
            }
            frames += try samples.withUnsafeBufferPointer { try encoder.encode(interleaved: $0) }
            fed += count
        }
        frames += try encoder.flush()
        #expect(try encoder.flush().isEmpty)
        let empty: [Float] = []
        #expect(throws: AudioCodecError.self) { _ = try empty.withUnsafeBufferPointer { try encoder.encode(interleaved: $0) } }
        // priming + ceil(10000 / 1024) frames, pts from −1024 in steps of 1024
        #expect(frames.count == 1 + 10)
        for (index, frame) in frames.enumerated() {
            #expect(frame.pts == Int64(index * 1024 - 1024))
            #expect(!frame.data.isEmpty)
        }
    }
}

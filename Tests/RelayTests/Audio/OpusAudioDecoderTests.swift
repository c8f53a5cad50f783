import Foundation
import Relay
import Testing

@Suite("OpusAudioDecoder and OpusPacketInfo")
struct OpusAudioDecoderTests {
    /// Decodes packets, optionally with one lost, and returns the interleaved stereo output.
    private func decode(_ packets: [OggOpusReader.Packet], losing lost: Int?, useFEC: Bool) throws -> [Float] {
        let decoder = try OpusAudioDecoder(channels: 2)
        var output: [Float] = []
        var buffer = [Float](repeating: 0, count: 5760 * 2)
        for (index, packet) in packets.enumerated() where index != lost {
            try packet.data.withUnsafeBytes { bytes in
                try buffer.withUnsafeMutableBufferPointer { out in
                    if index - 1 == lost {
                        let frame = try #require(decoder.sampleCount(of: bytes))
                        let produced: Int
                        if useFEC {
                            #expect(decoder.recoverableSamples(before: bytes) == frame)
                            produced = try decoder.recover(samples: frame, from: bytes, into: out)
                        } else {
                            produced = try decoder.conceal(samples: frame, into: out)
                        }
                        output += out[0..<(produced * 2)]
                    }
                    let produced = try decoder.decode(bytes, into: out)
                    output += out[0..<(produced * 2)]
                }
            }
        }
        return output
    }

    @Test("FEC recovers a lost SILK frame better than concealment does")
    func fecBeatsConcealment() throws {
        let packets = try AudioFixture.reader(AudioFixture.monoFEC).packets
        let lost = try #require(packets.indices.dropFirst(20).first { index in
            index + 1 < packets.count && packets[index + 1].data.withUnsafeBytes { OpusPacketInfo($0)?.hasLBRR ?? false }
        })
        let reference = try decode(packets, losing: nil, useFEC: false)
        let recovered = try decode(packets, losing: lost, useFEC: true)
        let concealed = try decode(packets, losing: lost, useFEC: false)
        #expect(recovered.count == reference.count && concealed.count == reference.count)
        let frame = (lost * 960 * 2)..<((lost + 1) * 960 * 2)
        func error(_ samples: [Float]) -> Double {
            frame.reduce(0) { $0 + Double(samples[$1] - reference[$1]) * Double(samples[$1] - reference[$1]) }
        }
        let fecError = error(recovered), plcError = error(concealed)
        #expect(fecError < plcError / 2, "FEC error \(fecError), PLC error \(plcError)")
    }

    @Test("the fixtures' TOCs read as expected: CELT stereo without LBRR, SILK mono with LBRR")
    func packetInfoOnFixtures() throws {
        let stereo = try AudioFixture.reader(AudioFixture.stereoTone).packets
        let stereoInfo = stereo.compactMap { $0.data.withUnsafeBytes { OpusPacketInfo($0) } }
        #expect(stereoInfo.count == stereo.count)
        #expect(stereoInfo.allSatisfy { $0.mode == .celt && $0.stereo && $0.sampleCount == 960 && !$0.hasLBRR })

        let fec = try AudioFixture.reader(AudioFixture.monoFEC).packets
        let fecInfo = fec.compactMap { $0.data.withUnsafeBytes { OpusPacketInfo($0) } }
        #expect(fecInfo.count == fec.count)
        #expect(fecInfo.allSatisfy { $0.mode == .silk && !$0.stereo && $0.sampleCount == 960 })
        #expect(fecInfo.filter(\.hasLBRR).count > fec.count / 4)
        #expect(!(fecInfo.first?.hasLBRR ?? true))  // nothing before the first packet to protect

        let decoder = try OpusAudioDecoder()
        for packet in stereo + fec {
            let ours = packet.data.withUnsafeBytes { OpusPacketInfo($0)?.sampleCount }
            let libopus = packet.data.withUnsafeBytes { decoder.sampleCount(of: $0) }
            #expect(ours == libopus)
        }
    }

    @Test("hasLBRR is exactly when libopus' FEC decode differs from its concealment")
    func lbrrFlagMatchesLibopus() throws {
        let packets = try AudioFixture.reader(AudioFixture.monoFEC).packets
        var buffer = [Float](repeating: 0, count: 5760 * 2)
        var flagged = 0
        // Where the bandwidth changes (a different TOC) libopus re-initialises its resampler, so
        // even a packet without LBRR decodes differently from plain concealment: skip those.
        for lost in 1..<(packets.count - 1) where packets[lost - 1].data.first == packets[lost + 1].data.first {
            let plain = try OpusAudioDecoder(), recovering = try OpusAudioDecoder()
            for packet in packets[0..<lost] {
                try packet.data.withUnsafeBytes { bytes in
                    try buffer.withUnsafeMutableBufferPointer { out in
                        _ = try plain.decode(bytes, into: out)
                        _ = try recovering.decode(bytes, into: out)
                    }
                }
            }
            let next = packets[lost + 1].data
            let hasLBRR = next.withUnsafeBytes { OpusPacketInfo($0)?.hasLBRR ?? false }
            let concealed = try buffer.withUnsafeMutableBufferPointer { out in
                Array(out[0..<(try plain.conceal(samples: 960, into: out) * 2)])
            }
            let recovered = try next.withUnsafeBytes { bytes in
                try buffer.withUnsafeMutableBufferPointer { out in
                    Array(out[0..<(try recovering.recover(samples: 960, from: bytes, into: out) * 2)])
                }
            }
            #expect((concealed != recovered) == hasLBRR, "packet \(lost + 1): LBRR flag \(hasLBRR)")
            if hasLBRR { flagged += 1 }
        }
        #expect(flagged > 10)
    }

    @Test("OpusPacketInfo agrees with libopus on the frame count of random and framed packets")
    func packetInfoRandom() throws {
        let decoder = try OpusAudioDecoder()
        var random = SeededRandom(seed: 0x70C)
        for round in 0..<3000 {
            let length = Int.random(in: 0...(round % 10 == 0 ? 2000 : 64), using: &random)
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
            let ours = bytes.withUnsafeBytes { OpusPacketInfo($0)?.sampleCount }
            let libopus = bytes.withUnsafeBytes { decoder.sampleCount(of: $0) }
            // libopus only reads the TOC and frame-count byte here; we also check the framing,
            // so we may refuse a packet it would count, never the other way round.
            if let ours { #expect(ours == libopus, "\(bytes.prefix(4))") }
        }
    }

    @Test("decoding garbage throws invalidPacket; a too-small buffer is refused")
    func decoderErrors() throws {
        let decoder = try OpusAudioDecoder()
        var out = [Float](repeating: 0, count: 5760 * 2)
        let empty: [UInt8] = []
        #expect(throws: AudioCodecError.self) {
            try empty.withUnsafeBytes { bytes in try out.withUnsafeMutableBufferPointer { _ = try decoder.decode(bytes, into: $0) } }
        }
        // Code 3 with a frame count of 0 is invalid (RFC 6716 §3.2.5).
        let bad: [UInt8] = [0xFB, 0x00]
        let error = bad.withUnsafeBytes { bytes in
            out.withUnsafeMutableBufferPointer { buffer -> AudioCodecError? in
                do throws(AudioCodecError) { _ = try decoder.decode(bytes, into: buffer); return nil } catch { return error }
            }
        }
        #expect(error?.kind == .invalidPacket)
        var small = [Float](repeating: 0, count: 10)
        #expect(throws: AudioCodecError.self) {
            try small.withUnsafeMutableBufferPointer { _ = try decoder.conceal(samples: 960, into: $0) }
        }
        #expect(throws: AudioCodecError.self) { _ = try OpusAudioDecoder(channels: 3) }
    }
}

import COpus
import CRelayShim

/// libopus decoding to 48 kHz interleaved Float, the one owner of an `OpusDecoder*`.
///
/// The decoder's channel count is its output's: a 2-channel decoder upmixes mono packets to both
/// channels and decodes stereo packets (`stereo=1` in the SDP) as they are, so the caller never
/// needs to know what the browser sent.
public final class OpusAudioDecoder: AudioDecoder {
    public let sampleRate = 48000
    public let channels: Int
    /// 120 ms, the longest Opus packet.
    public let maximumPacketSamples = 5760

    private let decoder: OpaquePointer

    public init(channels: Int = 2) throws(AudioCodecError) {
        guard channels == 1 || channels == 2 else {
            throw AudioCodecError(.setupFailed, "Opus decoder: \(channels) output channels asked for, only 1 or 2 are supported")
        }
        var error: Int32 = 0
        guard let decoder = opus_decoder_create(48000, Int32(channels), &error), error == OPUS_OK else {
            throw AudioCodecError(.setupFailed, code: error, "opus_decoder_create failed: \(Self.describe(error))")
        }
        self.channels = channels
        self.decoder = decoder
    }

    deinit { opus_decoder_destroy(decoder) }

    public func sampleCount(of packet: UnsafeRawBufferPointer) -> Int? {
        guard let base = packet.baseAddress, !packet.isEmpty, packet.count <= Int(Int32.max) else { return nil }
        let samples = opus_packet_get_nb_samples(base.assumingMemoryBound(to: UInt8.self), Int32(packet.count), 48000)
        guard samples > 0, samples <= Int32(maximumPacketSamples) else { return nil }
        return Int(samples)
    }

    public func decode(_ packet: UnsafeRawBufferPointer, into output: UnsafeMutableBufferPointer<Float>) throws(AudioCodecError) -> Int {
        guard let base = packet.baseAddress, !packet.isEmpty, packet.count <= Int(Int32.max) else {
            throw AudioCodecError(.invalidPacket, "Opus packet is empty")
        }
        return try run(base, Int32(packet.count), samples: output.count / channels, into: output, fec: false)
    }

    public func conceal(samples: Int, into output: UnsafeMutableBufferPointer<Float>) throws(AudioCodecError) -> Int {
        try run(nil, 0, samples: samples, into: output, fec: false)
    }

    /// libopus recovers exactly one frame (the packet's frame size) from SILK LBRR data.
    public func recoverableSamples(before packet: UnsafeRawBufferPointer) -> Int {
        guard let info = OpusPacketInfo(packet), info.hasLBRR else { return 0 }
        return info.samplesPerFrame
    }

    public func recover(samples: Int, from packet: UnsafeRawBufferPointer, into output: UnsafeMutableBufferPointer<Float>) throws(AudioCodecError) -> Int {
        guard let base = packet.baseAddress, !packet.isEmpty, packet.count <= Int(Int32.max) else {
            throw AudioCodecError(.invalidPacket, "Opus packet is empty")
        }
        return try run(base, Int32(packet.count), samples: samples, into: output, fec: true)
    }

    public func reset() { _ = relay_opus_decoder_reset(decoder) }

    /// `opus_decode_float`: for a packet `samples` is the room in `output`; for concealment and
    /// FEC it is the exact duration wanted (a multiple of 2.5 ms).
    private func run(_ data: UnsafeRawPointer?, _ length: Int32, samples: Int, into output: UnsafeMutableBufferPointer<Float>, fec: Bool) throws(AudioCodecError) -> Int {
        guard samples > 0, samples * channels <= output.count, let out = output.baseAddress else {
            throw AudioCodecError(.bufferTooSmall, "Opus decode: \(samples) samples × \(channels) channels do not fit in \(output.count)")
        }
        let result = opus_decode_float(
            decoder, data?.assumingMemoryBound(to: UInt8.self), length, out, Int32(min(samples, maximumPacketSamples)), fec ? 1 : 0)
        guard result >= 0 else {
            throw AudioCodecError(
                result == OPUS_BUFFER_TOO_SMALL ? .bufferTooSmall : .invalidPacket, code: result,
                "opus_decode_float failed on a \(length)-byte packet: \(Self.describe(result))")
        }
        return Int(result)
    }

    private static func describe(_ code: Int32) -> String { String(cString: opus_strerror(code)) }
}

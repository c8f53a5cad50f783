/// What the first bytes of an Opus packet (RFC 6716 §3.1) say, read without decoding it: the
/// coding mode, frame size, channel count, and whether the packet carries in-band FEC (SILK
/// LBRR data for the frame before it). libopus 1.3 has no `opus_packet_has_lbrr`, and without
/// it a decoder cannot tell FEC recovery from plain concealment.
public struct OpusPacketInfo: Sendable, Equatable {
    public enum Mode: Sendable, Equatable {
        case silk, hybrid, celt
    }

    public var mode: Mode
    /// Samples per frame at 48 kHz (120 … 2880).
    public var samplesPerFrame: Int
    public var frameCount: Int
    public var stereo: Bool
    /// The first frame's SILK layer has its LBRR flag set (the packet can recover its predecessor).
    public var hasLBRR: Bool

    public var sampleCount: Int { samplesPerFrame * frameCount }

    /// Nil when the packet is empty or its framing is inconsistent.
    public init?(_ packet: UnsafeRawBufferPointer) {
        guard let toc = packet.first else { return nil }
        let config = Int(toc >> 3)
        stereo = toc & 0x04 != 0
        switch config {
        case 0..<12:
            mode = .silk
            samplesPerFrame = [480, 960, 1920, 2880][config & 3]
        case 12..<16:
            mode = .hybrid
            samplesPerFrame = config & 1 == 0 ? 480 : 960
        default:
            mode = .celt
            samplesPerFrame = 120 << (config & 3)
        }
        guard let first = Self.firstFrame(packet, code: Int(toc & 3)) else { return nil }
        frameCount = first.count
        guard frameCount * samplesPerFrame <= 5760 else { return nil }  // 120 ms at most
        hasLBRR = mode != .celt && Self.lbrrFlag(first.frame, silkFrames: max(1, samplesPerFrame / 960), stereo: stereo)
    }

    /// The byte range of the first frame and how many frames the packet holds.
    private static func firstFrame(_ packet: UnsafeRawBufferPointer, code: Int) -> (frame: Slice<UnsafeRawBufferPointer>, count: Int)? {
        let body = packet.count - 1
        switch code {
        case 0:
            return (packet[1...], 1)
        case 1:
            guard body % 2 == 0 else { return nil }
            return (packet[1..<1 + body / 2], 2)
        case 2:
            guard let (size, used) = frameLength(packet, at: 1), 1 + used + size <= packet.count else { return nil }
            return (packet[(1 + used)..<(1 + used + size)], 2)
        default:
            guard packet.count >= 2 else { return nil }
            let header = packet[1]
            let count = Int(header & 0x3F)
            guard count >= 1 else { return nil }
            var offset = 2
            var padding = 0
            if header & 0x40 != 0 {  // padding length, 255 means "254 and continue"
                while true {
                    guard offset < packet.count else { return nil }
                    let byte = Int(packet[offset])
                    offset += 1
                    padding += byte == 255 ? 254 : byte
                    if byte != 255 { break }
                }
            }
            if header & 0x80 != 0 {  // VBR: explicit sizes for all but the last frame
                var cursor = offset
                var explicitTotal = 0
                var explicitFirst: Int?
                for _ in 0..<(count - 1) {
                    guard let (size, used) = frameLength(packet, at: cursor) else { return nil }
                    cursor += used
                    explicitTotal += size
                    if explicitFirst == nil { explicitFirst = size }
                }
                let last = packet.count - padding - cursor - explicitTotal
                guard last >= 0 else { return nil }
                let firstSize = explicitFirst ?? last
                return (packet[cursor..<(cursor + firstSize)], count)
            }
            let data = packet.count - offset - padding
            guard data >= 0, data % count == 0 else { return nil }
            return (packet[offset..<(offset + data / count)], count)
        }
    }

    /// RFC 6716 §3.2.1: one byte below 252, otherwise two.
    private static func frameLength(_ packet: UnsafeRawBufferPointer, at offset: Int) -> (Int, Int)? {
        guard offset < packet.count else { return nil }
        let first = Int(packet[offset])
        if first < 252 { return (first, 1) }
        guard offset + 1 < packet.count else { return nil }
        return (first + 4 * Int(packet[offset + 1]), 2)
    }

    /// The SILK header: per channel (mid, then side when stereo) one VAD bit per SILK frame, then
    /// the LBRR bit, each coded with probability ½ by the range coder (RFC 6716 §4.2.3).
    private static func lbrrFlag(_ frame: Slice<UnsafeRawBufferPointer>, silkFrames: Int, stereo: Bool) -> Bool {
        guard !frame.isEmpty else { return false }
        var decoder = OpusRangeDecoder(frame)
        for _ in 0..<silkFrames { _ = decoder.decodeBit() }
        let mid = decoder.decodeBit()
        guard stereo else { return mid }
        for _ in 0..<silkFrames { _ = decoder.decodeBit() }
        return decoder.decodeBit() || mid
    }
}

/// The start of the Opus range decoder (RFC 6716 §4.1), enough to read equiprobable bits.
struct OpusRangeDecoder {
    private let bytes: Slice<UnsafeRawBufferPointer>
    private var position: Int
    private var range: UInt32 = 128
    private var value: UInt32
    private var remainder: Int

    init(_ bytes: Slice<UnsafeRawBufferPointer>) {
        self.bytes = bytes
        position = bytes.startIndex
        remainder = 0
        value = 0
        remainder = nextByte()
        value = 127 - UInt32(remainder >> 1)
        normalize()
    }

    /// Bytes past the end read as zero, as in the reference decoder.
    private mutating func nextByte() -> Int {
        guard position < bytes.endIndex else { return 0 }
        defer { position += 1 }
        return Int(bytes[position])
    }

    private mutating func normalize() {
        while range <= 1 << 23 {
            range <<= 8
            var symbol = remainder
            remainder = nextByte()
            symbol = (symbol << 8 | remainder) >> 1
            value = ((value << 8) &+ UInt32(255 & ~symbol)) & ((1 << 31) - 1)
        }
    }

    /// `ec_dec_bit_logp(dec, 1)`: a bit whose probability of being 1 is ½.
    mutating func decodeBit() -> Bool {
        let split = range >> 1
        let bit = value < split
        if bit {
            range = split
        } else {
            value -= split
            range -= split
        }
        normalize()
        return bit
    }
}

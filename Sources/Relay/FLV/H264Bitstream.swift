/// H.264 byte-stream helpers for FLV/RTMP: Annex-B splitting, AVCC (length-prefixed) output,
/// the AVCDecoderConfigurationRecord, and the few SPS fields the metadata needs.
public enum H264NALType {
    public static let nonIDR: UInt8 = 1
    public static let idr: UInt8 = 5
    public static let sei: UInt8 = 6
    public static let sps: UInt8 = 7
    public static let pps: UInt8 = 8
    public static let aud: UInt8 = 9
}

public enum H264Bitstream {
    /// NAL units of an Annex-B buffer (3- or 4-byte start codes). A buffer without start codes is
    /// taken as one NAL unit. Trailing zero bytes before a start code are dropped.
    public static func splitAnnexB(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        var units: [ArraySlice<UInt8>] = []
        var i = 0
        var start: Int? = nil
        let n = bytes.count
        while i + 2 < n {
            if bytes[i] == 0, bytes[i + 1] == 0, bytes[i + 2] == 1 {
                if let s = start {
                    var end = i
                    while end > s, bytes[end - 1] == 0 { end -= 1 }
                    if end > s { units.append(bytes[s..<end]) }
                }
                i += 3
                start = i
            } else {
                i += 1
            }
        }
        if let s = start {
            if s < n { units.append(bytes[s..<n]) }
        } else if n > 0 {
            units.append(bytes[0..<n])
        }
        return units
    }

    /// Whether the buffer begins with an Annex-B start code.
    public static func isAnnexB(_ bytes: [UInt8]) -> Bool {
        (bytes.count >= 3 && bytes[0] == 0 && bytes[1] == 0 && bytes[2] == 1)
            || (bytes.count >= 4 && bytes[0] == 0 && bytes[1] == 0 && bytes[2] == 0 && bytes[3] == 1)
    }

    public static func nalType(_ nal: ArraySlice<UInt8>) -> UInt8 { (nal.first ?? 0) & 0x1F }

    /// Appends NAL units with 4-byte big-endian length prefixes.
    public static func appendAVCC<S: Sequence>(_ nals: S, into out: inout [UInt8]) where S.Element == ArraySlice<UInt8> {
        for nal in nals {
            out.appendBE32(UInt32(nal.count))
            out.append(contentsOf: nal)
        }
    }

    /// AVCDecoderConfigurationRecord (ISO 14496-15 5.2.4.1) with 4-byte NAL lengths.
    /// Profile, compatibility and level come from the SPS itself.
    public static func decoderConfigurationRecord(sps: [ArraySlice<UInt8>], pps: [ArraySlice<UInt8>]) throws(RTMPError) -> [UInt8] {
        guard let first = sps.first, first.count >= 4 else {
            throw RTMPError(.badMedia, "cannot build the AVC sequence header: no SPS (or an SPS shorter than 4 bytes)")
        }
        guard !pps.isEmpty else { throw RTMPError(.badMedia, "cannot build the AVC sequence header: no PPS") }
        let s = Array(first)
        var out: [UInt8] = [1, s[1], s[2], s[3], 0xFF, 0xE0 | UInt8(min(sps.count, 31))]
        for unit in sps.prefix(31) { out.appendBE16(UInt16(min(unit.count, 0xFFFF))); out.append(contentsOf: unit.prefix(0xFFFF)) }
        out.append(UInt8(min(pps.count, 255)))
        for unit in pps.prefix(255) { out.appendBE16(UInt16(min(unit.count, 0xFFFF))); out.append(contentsOf: unit.prefix(0xFFFF)) }
        let profile = s[1]
        if [100, 110, 122, 144].contains(profile), let info = try? SPSInfo(s) {
            // High profiles carry chroma format and bit depths after the PPS list.
            out.append(0xFC | UInt8(info.chromaFormat & 3))
            out.append(0xF8 | UInt8((info.bitDepthLuma - 8) & 7))
            out.append(0xF8 | UInt8((info.bitDepthChroma - 8) & 7))
            out.append(0)
        }
        return out
    }

    /// nal_ref_idc == 0: nothing references this picture, it is the first to drop under load.
    public static func isDisposable(_ nal: ArraySlice<UInt8>) -> Bool {
        guard let b = nal.first else { return true }
        return (b & 0x60) == 0
    }
}

/// The SPS fields relayd needs: picture size for onMetaData, chroma/bit depth for the record.
public struct SPSInfo: Sendable, Equatable {
    public let profile: UInt8
    public let level: UInt8
    public let width: Int
    public let height: Int
    public let chromaFormat: Int
    public let bitDepthLuma: Int
    public let bitDepthChroma: Int

    public init(_ nal: [UInt8]) throws(RTMPError) {
        var r = BitReader(rbsp: Array(nal.dropFirst()))
        func fail() -> RTMPError { RTMPError(.badMedia, "SPS is truncated or malformed (\(nal.count) bytes)") }
        guard let profile = r.bits(8), r.bits(8) != nil, let level = r.bits(8), r.ue() != nil else { throw fail() }
        self.profile = UInt8(profile)
        self.level = UInt8(level)
        var chroma = 1, depthL = 8, depthC = 8
        if [100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135].contains(profile) {
            guard let c = r.ue() else { throw fail() }
            chroma = c
            if chroma == 3 { guard r.bits(1) != nil else { throw fail() } }
            guard let dl = r.ue(), let dc = r.ue(), r.bits(1) != nil, let scalingPresent = r.bits(1) else { throw fail() }
            depthL = dl + 8; depthC = dc + 8
            if scalingPresent == 1 {
                for i in 0..<(chroma == 3 ? 12 : 8) {
                    guard let present = r.bits(1) else { throw fail() }
                    if present == 1 {
                        var last = 8, next = 8
                        for _ in 0..<(i < 6 ? 16 : 64) where next != 0 {
                            guard let delta = r.se() else { throw fail() }
                            next = (last + delta + 256) % 256
                            last = next == 0 ? last : next
                        }
                    }
                }
            }
        }
        guard r.ue() != nil, let pocType = r.ue() else { throw fail() }
        if pocType == 0 {
            guard r.ue() != nil else { throw fail() }
        } else if pocType == 1 {
            guard r.bits(1) != nil, r.se() != nil, r.se() != nil, let cycle = r.ue(), cycle < 256 else { throw fail() }
            for _ in 0..<cycle { guard r.se() != nil else { throw fail() } }
        }
        guard r.ue() != nil, r.bits(1) != nil, let wMbs = r.ue(), let hMapUnits = r.ue(), let frameMbsOnly = r.bits(1) else { throw fail() }
        if frameMbsOnly == 0 { guard r.bits(1) != nil else { throw fail() } }
        guard r.bits(1) != nil, let cropping = r.bits(1) else { throw fail() }
        var cl = 0, cr = 0, ct = 0, cb = 0
        if cropping == 1 {
            guard let a = r.ue(), let b = r.ue(), let c = r.ue(), let d = r.ue() else { throw fail() }
            cl = a; cr = b; ct = c; cb = d
        }
        let subW = chroma == 1 || chroma == 2 ? 2 : 1
        let subH = chroma == 1 ? 2 : 1
        let cropUnitX = chroma == 0 ? 1 : subW
        let cropUnitY = (chroma == 0 ? 1 : subH) * (2 - frameMbsOnly)
        width = (wMbs + 1) * 16 - (cl + cr) * cropUnitX
        height = (hMapUnits + 1) * 16 * (2 - frameMbsOnly) - (ct + cb) * cropUnitY
        guard width > 0, height > 0, width <= 16384, height <= 16384 else { throw fail() }
        chromaFormat = chroma
        bitDepthLuma = depthL
        bitDepthChroma = depthC
    }
}

/// Exp-Golomb bit reader over RBSP (emulation prevention bytes removed).
struct BitReader {
    private let data: [UInt8]
    private var bit = 0

    init(rbsp ebsp: [UInt8]) {
        var out: [UInt8] = []
        out.reserveCapacity(ebsp.count)
        var zeros = 0
        for b in ebsp {
            if zeros >= 2 && b == 3 { zeros = 0; continue }
            zeros = b == 0 ? zeros + 1 : 0
            out.append(b)
        }
        data = out
    }

    mutating func bits(_ n: Int) -> Int? {
        guard n <= 32, bit + n <= data.count * 8 else { return nil }
        var v = 0
        for _ in 0..<n {
            v = v << 1 | Int((data[bit >> 3] >> (7 - UInt8(bit & 7))) & 1)
            bit += 1
        }
        return v
    }

    mutating func ue() -> Int? {
        var zeros = 0
        while true {
            guard let b = bits(1) else { return nil }
            if b == 1 { break }
            zeros += 1
            if zeros > 31 { return nil }
        }
        guard let rest = bits(zeros) else { return nil }
        return (1 << zeros) - 1 + rest
    }

    mutating func se() -> Int? {
        guard let k = ue() else { return nil }
        return k % 2 == 1 ? (k + 1) / 2 : -(k / 2)
    }
}

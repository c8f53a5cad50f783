/// H.264 byte-stream helpers for FLV/RTMP: Annex-B splitting, AVCC (length-prefixed) output,
/// and the AVCDecoderConfigurationRecord. (NAL types, Annex-B parsing and the SPS live in Media/.)
public enum H264Bitstream {
    /// NAL units of an access unit in Annex-B form; a buffer without start codes is one NAL unit.
    public static func splitAnnexB(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        isAnnexB(bytes) ? AnnexB.nalUnits(bytes) : (bytes.isEmpty ? [] : [bytes[...]])
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
        if [100, 110, 122, 144].contains(profile), let info = try? H264SPS(nal: s) {
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

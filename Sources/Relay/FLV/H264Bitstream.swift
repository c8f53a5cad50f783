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

    /// AVCDecoderConfigurationRecord with 4-byte NAL lengths, for every SPS and PPS given
    /// (profile, compatibility and level from the first SPS; see `AVCDecoderConfiguration`).
    public static func decoderConfigurationRecord(sps: [ArraySlice<UInt8>], pps: [ArraySlice<UInt8>]) throws(RTMPError) -> [UInt8] {
        guard let first = sps.first, let firstPPS = pps.first else {
            throw RTMPError(.badMedia, "cannot build the AVC sequence header: it needs an SPS and a PPS")
        }
        do {
            var record = try AVCDecoderConfiguration(sps: Array(first), pps: Array(firstPPS))
            record.sequenceParameterSets = sps.prefix(31).map { Array($0) }
            record.pictureParameterSets = pps.prefix(255).map { Array($0) }
            return record.bytes
        } catch {
            throw RTMPError(.badMedia, "cannot build the AVC sequence header: \(error)")
        }
    }

    /// nal_ref_idc == 0: nothing references this picture, it is the first to drop under load.
    public static func isDisposable(_ nal: ArraySlice<UInt8>) -> Bool {
        guard let b = nal.first else { return true }
        return (b & 0x60) == 0
    }
}

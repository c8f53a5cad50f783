/// One H.264 picture assembled from RTP, in AVCC form (each NAL unit prefixed with its 4-byte
/// big-endian length), which is what FLV carries and what needs no further copy.
public struct H264AccessUnit: Sendable, Equatable {
    /// The RTP timestamp (90 kHz) of every packet of this picture.
    public var rtpTimestamp: UInt32
    public var avcc: [UInt8]
    /// Contains an IDR slice.
    public var isKeyframe: Bool
    /// Some slice has nal_ref_idc != 0 (other pictures may predict from it).
    public var isReference: Bool
    /// The parameter sets in force for this picture (the latest seen, in-band or earlier).
    public var sps: [UInt8]?
    public var pps: [UInt8]?
    /// True when this picture carries SPS/PPS that differ from the previous ones: a new AVC
    /// sequence header must go out before it.
    public var parameterSetsChanged: Bool

    /// The NAL units without their length prefixes.
    public var nalUnits: [ArraySlice<UInt8>] {
        var units: [ArraySlice<UInt8>] = []
        var index = 0
        while index + 4 <= avcc.count {
            let length = Int(avcc[index]) << 24 | Int(avcc[index + 1]) << 16 | Int(avcc[index + 2]) << 8 | Int(avcc[index + 3])
            let start = index + 4
            guard length > 0, start + length <= avcc.count else { break }
            units.append(avcc[start..<start + length])
            index = start + length
        }
        return units
    }

    /// Annex-B form (start codes), for decoders and files that want it.
    public var annexB: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(avcc.count)
        for unit in nalUnits {
            out.append(contentsOf: [0, 0, 0, 1])
            out.append(contentsOf: unit)
        }
        return out
    }
}

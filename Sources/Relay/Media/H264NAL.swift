/// H.264 NAL unit types the relay cares about (ITU-T H.264 table 7-1, RFC 6184 §5.2).
public enum H264NALType: UInt8, Sendable {
    case nonIDRSlice = 1
    case idrSlice = 5
    case sei = 6
    case sps = 7
    case pps = 8
    case accessUnitDelimiter = 9
    case stapA = 24
    case fuA = 28

    public static func of(_ headerByte: UInt8) -> UInt8 { headerByte & 0x1F }
}

/// The reference/non-reference bit of a NAL header: nal_ref_idc == 0 means no other frame
/// predicts from this one, so it is the first thing to drop under backpressure.
@inline(__always)
public func h264IsReference(_ headerByte: UInt8) -> Bool { headerByte & 0x60 != 0 }

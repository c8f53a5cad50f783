/// The fields of an H.264 sequence parameter set that the relay reports and writes into FLV
/// metadata (ITU-T H.264 §7.3.2.1.1).
public struct H264SPS: Sendable, Equatable {
    public var profileIdc: UInt8
    public var constraintFlags: UInt8
    public var levelIdc: UInt8
    public var width: Int
    public var height: Int
    /// chroma_format_idc (1 = 4:2:0) and bit depths: the AVC decoder configuration record of
    /// the High profiles carries them.
    public var chromaFormat: Int
    public var bitDepthLuma: Int
    public var bitDepthChroma: Int

    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// Parses a whole SPS NAL unit (header byte included).
    public init(nal: some Collection<UInt8>) throws {
        let raw = Array(nal)
        guard raw.count >= 4, H264NALType.of(raw[0]) == H264NALType.sps.rawValue else {
            throw ParseError(description: "not an SPS NAL unit")
        }
        profileIdc = raw[1]
        constraintFlags = raw[2]
        levelIdc = raw[3]
        var reader = BitReader(Self.removingEmulationPrevention(raw.dropFirst(4)))
        do {
            let format = try Self.readFormat(profileIdc: profileIdc, reader: &reader)
            (chromaFormat, bitDepthLuma, bitDepthChroma) = (Int(format.chroma), format.depthLuma, format.depthChroma)
            (width, height) = try Self.dimensions(format: format, reader: &reader)
        } catch {
            throw ParseError(description: "SPS ends before its picture size")
        }
    }

    /// "42e01f"-style profile-level-id, as SDP and codec strings write it.
    public var profileLevelId: String {
        [profileIdc, constraintFlags, levelIdc].map { byte in
            let hex = String(byte, radix: 16)
            return hex.count == 1 ? "0" + hex : hex
        }.joined()
    }

    private struct Format {
        var chroma: UInt32 = 1
        var separateColourPlane = false
        var depthLuma = 8
        var depthChroma = 8
    }

    private static func readFormat(profileIdc: UInt8, reader: inout BitReader) throws -> Format {
        _ = try reader.unsignedGolomb()  // seq_parameter_set_id
        var format = Format()
        if [100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135].contains(profileIdc) {
            format.chroma = try reader.unsignedGolomb()
            guard format.chroma <= 3 else { throw BitReader.EndOfData() }
            if format.chroma == 3 { format.separateColourPlane = try reader.bit() == 1 }
            format.depthLuma = Int(try reader.unsignedGolomb()) + 8
            format.depthChroma = Int(try reader.unsignedGolomb()) + 8
            guard format.depthLuma <= 14, format.depthChroma <= 14 else { throw BitReader.EndOfData() }
            try reader.skip(1)  // qpprime_y_zero_transform_bypass_flag
            if try reader.bit() == 1 {  // seq_scaling_matrix_present_flag
                for index in 0..<(format.chroma == 3 ? 12 : 8) where try reader.bit() == 1 {
                    try skipScalingList(size: index < 6 ? 16 : 64, reader: &reader)
                }
            }
        }
        return format
    }

    private static func dimensions(format: Format, reader: inout BitReader) throws -> (Int, Int) {
        _ = try reader.unsignedGolomb()  // log2_max_frame_num_minus4
        let pocType = try reader.unsignedGolomb()
        if pocType == 0 {
            _ = try reader.unsignedGolomb()
        } else if pocType == 1 {
            try reader.skip(1)
            _ = try reader.signedGolomb()
            _ = try reader.signedGolomb()
            let cycle = try reader.unsignedGolomb()
            guard cycle <= 255 else { throw BitReader.EndOfData() }
            for _ in 0..<cycle { _ = try reader.signedGolomb() }
        }
        _ = try reader.unsignedGolomb()  // max_num_ref_frames
        try reader.skip(1)  // gaps_in_frame_num_value_allowed_flag
        let widthInMbs = Int(try reader.unsignedGolomb()) + 1
        let heightInMapUnits = Int(try reader.unsignedGolomb()) + 1
        let frameMbsOnly = try reader.bit() == 1
        if !frameMbsOnly { try reader.skip(1) }  // mb_adaptive_frame_field_flag
        try reader.skip(1)  // direct_8x8_inference_flag
        var width = widthInMbs * 16
        var height = heightInMapUnits * 16 * (frameMbsOnly ? 1 : 2)
        if try reader.bit() == 1 {  // frame_cropping_flag
            let left = Int(try reader.unsignedGolomb()), right = Int(try reader.unsignedGolomb())
            let top = Int(try reader.unsignedGolomb()), bottom = Int(try reader.unsignedGolomb())
            let arrayType = format.separateColourPlane ? 0 : format.chroma
            let cropX = arrayType == 0 ? 1 : (arrayType == 3 ? 1 : 2)
            let cropY = (arrayType == 0 ? 1 : (arrayType == 1 ? 2 : 1)) * (frameMbsOnly ? 1 : 2)
            width -= (left + right) * cropX
            height -= (top + bottom) * cropY
        }
        guard width > 0, height > 0, width <= 16384, height <= 16384 else { throw BitReader.EndOfData() }
        return (width, height)
    }

    private static func skipScalingList(size: Int, reader: inout BitReader) throws {
        var last: Int32 = 8, next: Int32 = 8
        for _ in 0..<size where next != 0 {
            next = (last + (try reader.signedGolomb()) + 256) % 256
            if next != 0 { last = next }
        }
    }

    /// Drops the 0x03 of every 0x00 0x00 0x03 sequence (H.264 §7.4.1).
    static func removingEmulationPrevention(_ bytes: some Collection<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var zeros = 0
        for byte in bytes {
            if zeros >= 2, byte == 3 {
                zeros = 0
                continue
            }
            zeros = byte == 0 ? zeros + 1 : 0
            out.append(byte)
        }
        return out
    }
}

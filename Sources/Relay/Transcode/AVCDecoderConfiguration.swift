/// The AVCDecoderConfigurationRecord (ISO/IEC 14496-15 §5.3.3.1) that FLV's AVC sequence
/// header (`0x17 0x00 00 00 00` + record) and MP4's avcC box carry. NAL units that follow use
/// 4-byte length prefixes.
public struct AVCDecoderConfiguration: Sendable, Equatable {
    public var profileIdc: UInt8
    public var profileCompatibility: UInt8
    public var levelIdc: UInt8
    /// Bytes in each NAL length prefix (4 for everything the relay writes).
    public var nalLengthSize: Int
    public var sequenceParameterSets: [[UInt8]]
    public var pictureParameterSets: [[UInt8]]
    /// chroma_format_idc, bit depths: present for the High profiles (100, 110, 122, 144).
    public var highProfileFields: (chromaFormat: UInt8, bitDepthLumaMinus8: UInt8, bitDepthChromaMinus8: UInt8)?

    public struct FormatError: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// Builds the record for one SPS and one PPS (whole NAL units, header byte included).
    public init(sps: [UInt8], pps: [UInt8]) throws {
        guard sps.count >= 4, H264NALType.of(sps[0]) == H264NALType.sps.rawValue else {
            throw FormatError(description: "the SPS is not an SPS NAL unit (\(sps.count) bytes)")
        }
        guard !pps.isEmpty, H264NALType.of(pps[0]) == H264NALType.pps.rawValue else {
            throw FormatError(description: "the PPS is not a PPS NAL unit (\(pps.count) bytes)")
        }
        guard sps.count <= 0xFFFF, pps.count <= 0xFFFF else { throw FormatError(description: "parameter set longer than 65535 bytes") }
        profileIdc = sps[1]
        profileCompatibility = sps[2]
        levelIdc = sps[3]
        nalLengthSize = 4
        sequenceParameterSets = [sps]
        pictureParameterSets = [pps]
        highProfileFields = Self.hasHighProfileFields(profileIdc) ? Self.chromaFields(sps: sps) : nil
    }

    /// Parses a record (e.g. the body of an FLV AVC sequence header after its 5 bytes).
    public init(parsing bytes: [UInt8]) throws {
        var reader = ByteCursor(bytes)
        func byte() throws -> UInt8 {
            guard let value = reader.u8() else { throw FormatError(description: "record ends at byte \(reader.offset)") }
            return value
        }
        func lengthPrefixed() throws -> [UInt8] {
            guard let length = reader.u16().map(Int.init), length <= reader.remaining else {
                throw FormatError(description: "a parameter set runs past the record's end")
            }
            let start = reader.offset
            reader = ByteCursor(bytes, offset: start + length)
            return Array(bytes[start..<start + length])
        }
        guard try byte() == 1 else { throw FormatError(description: "configurationVersion is not 1") }
        profileIdc = try byte()
        profileCompatibility = try byte()
        levelIdc = try byte()
        nalLengthSize = Int(try byte() & 0x03) + 1
        let spsCount = Int(try byte() & 0x1F)
        sequenceParameterSets = try (0..<spsCount).map { _ in try lengthPrefixed() }
        let ppsCount = Int(try byte())
        pictureParameterSets = try (0..<ppsCount).map { _ in try lengthPrefixed() }
        highProfileFields = nil
        if Self.hasHighProfileFields(profileIdc), reader.remaining >= 4 {
            highProfileFields = (try byte() & 0x03, try byte() & 0x07, try byte() & 0x07)
        }
    }

    public var bytes: [UInt8] {
        var out: [UInt8] = [1, profileIdc, profileCompatibility, levelIdc, 0xFC | UInt8(nalLengthSize - 1)]
        out.append(0xE0 | UInt8(sequenceParameterSets.count & 0x1F))
        for set in sequenceParameterSets { out += [UInt8(set.count >> 8), UInt8(set.count & 0xFF)] + set }
        out.append(UInt8(pictureParameterSets.count & 0xFF))
        for set in pictureParameterSets { out += [UInt8(set.count >> 8), UInt8(set.count & 0xFF)] + set }
        if let high = highProfileFields {
            out += [0xFC | high.chromaFormat, 0xF8 | high.bitDepthLumaMinus8, 0xF8 | high.bitDepthChromaMinus8, 0]
        }
        return out
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.bytes == rhs.bytes }

    private static func hasHighProfileFields(_ profile: UInt8) -> Bool { [100, 110, 122, 144].contains(profile) }

    /// chroma_format_idc and bit depths sit right after seq_parameter_set_id in High-profile SPSs.
    private static func chromaFields(sps: [UInt8]) -> (UInt8, UInt8, UInt8) {
        var reader = BitReader(H264SPS.removingEmulationPrevention(sps.dropFirst(4)))
        guard (try? reader.unsignedGolomb()) != nil,
            let chroma = try? reader.unsignedGolomb(), chroma <= 3
        else { return (1, 0, 0) }
        if chroma == 3 { _ = try? reader.bit() }
        let luma = (try? reader.unsignedGolomb()) ?? 0, chromaDepth = (try? reader.unsignedGolomb()) ?? 0
        return (UInt8(chroma), UInt8(min(luma, 7)), UInt8(min(chromaDepth, 7)))
    }
}

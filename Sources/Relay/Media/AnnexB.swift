/// Splits an H.264 Annex-B byte stream (NAL units separated by 00 00 01 / 00 00 00 01 start
/// codes) into NAL units.
public enum AnnexB {
    public static func nalUnits(_ stream: [UInt8]) -> [ArraySlice<UInt8>] {
        var units: [ArraySlice<UInt8>] = []
        var start: Int?
        var index = 0
        while index + 2 < stream.count {
            if stream[index] == 0, stream[index + 1] == 0, stream[index + 2] == 1 {
                if let begin = start {
                    var end = index
                    while end > begin, stream[end - 1] == 0 { end -= 1 }  // trailing zero of a 4-byte code
                    if end > begin { units.append(stream[begin..<end]) }
                }
                index += 3
                start = index
            } else {
                index += 1
            }
        }
        if let begin = start, begin < stream.count { units.append(stream[begin...]) }
        return units
    }

    /// Groups NAL units into access units: a new picture starts at an AUD, SPS, PPS or SEI that
    /// follows a slice, or at a slice whose first_mb_in_slice is 0 (its first bit after the
    /// header is 1 in Exp-Golomb).
    public static func accessUnits(_ stream: [UInt8]) -> [[ArraySlice<UInt8>]] {
        var pictures: [[ArraySlice<UInt8>]] = []
        var current: [ArraySlice<UInt8>] = []
        var currentHasSlice = false
        for unit in nalUnits(stream) {
            guard let header = unit.first else { continue }
            let type = H264NALType.of(header)
            let isSlice = type == 1 || type == 5
            let startsPicture: Bool
            if isSlice {
                let firstMbIsZero = unit.count > 1 && unit[unit.startIndex + 1] & 0x80 != 0
                startsPicture = currentHasSlice && firstMbIsZero
            } else {
                startsPicture = currentHasSlice && (6...9).contains(type)
            }
            if startsPicture {
                pictures.append(current)
                current = []
                currentHasSlice = false
            }
            current.append(unit)
            if isSlice { currentHasSlice = true }
        }
        if !current.isEmpty { pictures.append(current) }
        return pictures
    }
}

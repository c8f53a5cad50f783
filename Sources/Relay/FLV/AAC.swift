/// AAC helpers for FLV/RTMP: the AudioSpecificConfig the sequence header carries, and ADTS
/// stripping (RTMP wants raw frames).
public enum AAC {
    /// AAC-LC, 48 kHz, stereo.
    public static let lc48kStereoConfig: [UInt8] = [0x11, 0x90]

    static let sampleRates = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350]

    /// AudioSpecificConfig for a plain AAC object type (2 = LC).
    public static func audioSpecificConfig(objectType: Int = 2, sampleRate: Int, channels: Int) -> [UInt8]? {
        guard let index = sampleRates.firstIndex(of: sampleRate), (1...7).contains(channels), (1...30).contains(objectType) else { return nil }
        let v = UInt16(objectType) << 11 | UInt16(index) << 7 | UInt16(channels) << 3
        return [UInt8(v >> 8), UInt8(v & 0xFF)]
    }

    /// Sample rate and channel count of an AudioSpecificConfig (plain object types only).
    public static func parseConfig(_ asc: [UInt8]) -> (sampleRate: Int, channels: Int)? {
        guard asc.count >= 2 else { return nil }
        let index = Int((asc[0] & 0x07) << 1 | asc[1] >> 7)
        let channels = Int((asc[1] >> 3) & 0x0F)
        guard index < sampleRates.count else { return nil }
        return (sampleRates[index], channels)
    }

    public struct ADTSHeader: Sendable, Equatable {
        public let headerLength: Int
        public let frameLength: Int
        public let audioSpecificConfig: [UInt8]
    }

    /// Parses an ADTS header at the start of `bytes`, nil if there is none.
    public static func adtsHeader(_ bytes: ArraySlice<UInt8>) -> ADTSHeader? {
        guard bytes.count >= 7 else { return nil }
        let b = Array(bytes.prefix(7))
        guard b[0] == 0xFF, b[1] & 0xF6 == 0xF0 else { return nil }
        let protectionAbsent = b[1] & 1
        let profile = Int(b[2] >> 6)
        let rateIndex = Int((b[2] >> 2) & 0x0F)
        let channels = Int((b[2] & 1) << 2 | b[3] >> 6)
        let frameLength = Int(b[3] & 0x03) << 11 | Int(b[4]) << 3 | Int(b[5] >> 5)
        let headerLength = protectionAbsent == 1 ? 7 : 9
        guard rateIndex < sampleRates.count, frameLength >= headerLength,
              let asc = audioSpecificConfig(objectType: profile + 1, sampleRate: sampleRates[rateIndex], channels: max(channels, 1))
        else { return nil }
        return ADTSHeader(headerLength: headerLength, frameLength: frameLength, audioSpecificConfig: asc)
    }

    /// Splits an ADTS stream into raw frames (headers removed). Stops at the first bad header.
    public static func splitADTS(_ bytes: [UInt8]) -> (frames: [ArraySlice<UInt8>], config: [UInt8]?) {
        var frames: [ArraySlice<UInt8>] = []
        var config: [UInt8]?
        var i = 0
        while i < bytes.count, let h = adtsHeader(bytes[i...]), i + h.frameLength <= bytes.count {
            config = config ?? h.audioSpecificConfig
            frames.append(bytes[(i + h.headerLength)..<(i + h.frameLength)])
            i += h.frameLength
        }
        return (frames, config)
    }
}

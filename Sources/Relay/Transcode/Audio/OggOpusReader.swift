/// Reads the Opus packets of an Ogg Opus file (RFC 7845), the container FFmpeg and libopus
/// tools write, for fixtures: FakeCalls plays them back as RTP, tests feed them to the transcoder.
/// Single logical stream only; page CRCs are not checked (fixtures, not network input), but every
/// length is bounds-checked.
public struct OggOpusReader: Sendable {
    public struct Packet: Sendable, Equatable {
        public var data: [UInt8]
        /// The page's granule position if this packet is the last one completed on its page
        /// (48 kHz samples including the pre-skip), else nil.
        public var granulePosition: Int64?
    }

    public struct FormatError: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// From the OpusHead header.
    public let channels: Int
    /// Samples at 48 kHz to discard from the start of the decoded stream.
    public let preSkip: Int
    public let inputSampleRate: Int
    /// The audio packets (headers excluded), in order.
    public let packets: [Packet]

    public init(_ bytes: [UInt8]) throws(FormatError) {
        var all: [Packet] = []
        var partial: [UInt8] = []
        var offset = 0
        while offset < bytes.count {
            guard offset + 27 <= bytes.count, bytes[offset..<offset + 4].elementsEqual("OggS".utf8) else {
                throw FormatError(description: "Ogg: no page header (OggS) at byte \(offset)")
            }
            var granule: Int64 = 0
            for index in 0..<8 { granule |= Int64(bytes[offset + 6 + index]) << (8 * index) }
            let segments = Int(bytes[offset + 26])
            let tableStart = offset + 27
            guard tableStart + segments <= bytes.count else {
                throw FormatError(description: "Ogg: page at byte \(offset) has a truncated segment table")
            }
            var cursor = tableStart + segments
            var lastCompleted: Int?
            for segment in 0..<segments {
                let length = Int(bytes[tableStart + segment])
                guard cursor + length <= bytes.count else {
                    throw FormatError(description: "Ogg: page at byte \(offset) is truncated")
                }
                partial.append(contentsOf: bytes[cursor..<cursor + length])
                cursor += length
                if length < 255 {  // a lacing value below 255 ends a packet
                    all.append(Packet(data: partial, granulePosition: nil))
                    partial.removeAll(keepingCapacity: true)
                    lastCompleted = all.count - 1
                }
            }
            if let lastCompleted, granule != -1 { all[lastCompleted].granulePosition = granule }
            offset = cursor
        }
        guard let head = all.first, head.data.count >= 19, head.data[0..<8].elementsEqual("OpusHead".utf8) else {
            throw FormatError(description: "Ogg: the first packet is not an OpusHead header (not an Ogg Opus file)")
        }
        guard all.count >= 2, all[1].data.starts(with: "OpusTags".utf8) else {
            throw FormatError(description: "Ogg: the second packet is not OpusTags")
        }
        channels = Int(head.data[9])
        preSkip = Int(head.data[10]) | Int(head.data[11]) << 8
        inputSampleRate = Int(head.data[12]) | Int(head.data[13]) << 8 | Int(head.data[14]) << 16 | Int(head.data[15]) << 24
        packets = Array(all.dropFirst(2))
    }
}

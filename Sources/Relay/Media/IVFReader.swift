/// Reads the frames of an IVF file (the container libvpx and FFmpeg write VP8 into), for
/// fixtures and tests.
public struct IVFReader: Sendable {
    public struct Frame: Sendable {
        public var timestamp: UInt64
        public var data: [UInt8]
    }

    public struct FormatError: Error, CustomStringConvertible {
        public var description: String
    }

    public let fourCC: String
    public let width: Int
    public let height: Int
    public let frames: [Frame]

    public init(_ bytes: [UInt8]) throws {
        guard bytes.count >= 32, bytes[0..<4].elementsEqual("DKIF".utf8) else {
            throw FormatError(description: "not an IVF file (no DKIF signature)")
        }
        func le16(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
        func le32(_ at: Int) -> Int { le16(at) | le16(at + 2) << 16 }
        fourCC = String(decoding: bytes[8..<12], as: UTF8.self)
        width = le16(12)
        height = le16(14)
        var frames: [Frame] = []
        var offset = le16(6)  // header length
        while offset + 12 <= bytes.count {
            let size = le32(offset)
            let timestamp = UInt64(le32(offset + 4)) | UInt64(le32(offset + 8)) << 32
            let start = offset + 12
            guard start + size <= bytes.count else { throw FormatError(description: "IVF frame at byte \(offset) is truncated") }
            frames.append(Frame(timestamp: timestamp, data: Array(bytes[start..<start + size])))
            offset = start + size
        }
        self.frames = frames
    }
}

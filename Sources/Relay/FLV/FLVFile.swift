/// Writes FLV files: header, then tags each followed by their PreviousTagSize.
/// Use `bytes` for an in-memory recording, or `headerBytes`/`tagBytes` to stream to a file.
public struct FLVFileWriter: Sendable {
    public private(set) var bytes: [UInt8]

    public init(hasAudio: Bool = true, hasVideo: Bool = true) {
        bytes = Self.headerBytes(hasAudio: hasAudio, hasVideo: hasVideo)
    }

    public mutating func append(_ tag: FLVTag) {
        Self.appendTag(tag, into: &bytes)
    }

    /// The 9-byte header plus PreviousTagSize0.
    public static func headerBytes(hasAudio: Bool, hasVideo: Bool) -> [UInt8] {
        [0x46, 0x4C, 0x56, 0x01, (hasAudio ? 0x04 : 0) | (hasVideo ? 0x01 : 0), 0, 0, 0, 9, 0, 0, 0, 0]
    }

    public static func tagBytes(_ tag: FLVTag) -> [UInt8] {
        var out: [UInt8] = []
        appendTag(tag, into: &out)
        return out
    }

    public static func appendTag(_ tag: FLVTag, into out: inout [UInt8]) {
        let size = UInt32(min(tag.body.count, 0xFFFFFF))
        out.append(tag.kind.rawValue)
        out.appendBE24(size)
        out.appendBE24(tag.timestamp & 0xFFFFFF)
        out.append(UInt8((tag.timestamp >> 24) & 0xFF))
        out.appendBE24(0)  // stream id
        out.append(contentsOf: tag.body.prefix(Int(size)))
        out.appendBE32(size + 11)
    }
}

public struct FLVError: Error, Sendable, Equatable, CustomStringConvertible {
    public let reason: String
    public let offset: Int
    public var description: String { "FLV: \(reason) at byte \(offset)" }
}

/// Parses FLV files (bounds-checked; a truncated last tag is reported, not trusted).
public struct FLVFile: Sendable {
    public let hasAudio: Bool
    public let hasVideo: Bool
    public let tags: [FLVTag]

    public init(_ bytes: [UInt8]) throws(FLVError) {
        var c = ByteCursor(bytes)
        guard let sig = c.take(3), Array(sig) == [0x46, 0x4C, 0x56], c.u8() != nil, let flags = c.u8(), let headerSize = c.u32() else {
            throw FLVError(reason: "not an FLV file (missing 'FLV' header)", offset: 0)
        }
        hasAudio = flags & 0x04 != 0
        hasVideo = flags & 0x01 != 0
        guard headerSize >= 9, c.skip(Int(headerSize) - 9), c.u32() != nil else {
            throw FLVError(reason: "FLV header is truncated", offset: c.offset)
        }
        var tags: [FLVTag] = []
        while c.remaining > 0 {
            let at = c.offset
            guard let type = c.u8(), let size = c.u24(), let ts = c.u24(), let tsExt = c.u8(), c.u24() != nil,
                  let body = c.take(Int(size)), c.u32() != nil
            else { throw FLVError(reason: "tag is truncated", offset: at) }
            guard let kind = FLVTag.Kind(rawValue: type & 0x1F) else {
                throw FLVError(reason: "unknown tag type \(type)", offset: at)
            }
            tags.append(FLVTag(kind: kind, timestamp: UInt32(tsExt) << 24 | ts, body: Array(body)))
        }
        self.tags = tags
    }

    /// The onMetaData values of the first script tag, if any.
    public var metadata: AMF0Value? {
        guard let script = tags.first(where: { $0.kind == .script }),
              let values = try? AMF0.decodeAll(script.body) else { return nil }
        return values.first { if case .ecmaArray = $0 { true } else if case .object = $0 { true } else { false } }
    }
}

/// The VP8 RTP payload descriptor (RFC 7741 §4.2), parsed far enough to find the VP8 data and
/// the start of a picture.
struct VP8PayloadDescriptor: Sendable, Equatable {
    var startOfPartition: Bool
    var partitionIndex: UInt8
    var pictureId: UInt16?
    /// Bytes the descriptor occupies before the VP8 data.
    var length: Int

    var startsPicture: Bool { startOfPartition && partitionIndex == 0 }

    init?(_ payload: UnsafeRawBufferPointer) {
        guard let first = payload.first else { return nil }
        startOfPartition = first & 0x10 != 0
        partitionIndex = first & 0x07
        var offset = 1
        pictureId = nil
        if first & 0x80 != 0 {  // X: extension byte follows
            guard offset < payload.count else { return nil }
            let extensions = payload[offset]
            offset += 1
            if extensions & 0x80 != 0 {  // I: PictureID, 7 or 15 bits
                guard offset < payload.count else { return nil }
                if payload[offset] & 0x80 != 0 {
                    guard offset + 1 < payload.count else { return nil }
                    pictureId = UInt16(payload[offset] & 0x7F) << 8 | UInt16(payload[offset + 1])
                    offset += 2
                } else {
                    pictureId = UInt16(payload[offset])
                    offset += 1
                }
            }
            if extensions & 0x40 != 0 { offset += 1 }  // L: TL0PICIDX
            if extensions & 0x30 != 0 { offset += 1 }  // T or K: TID/Y/KEYIDX
        }
        guard offset < payload.count else { return nil }  // a descriptor with no data is useless
        length = offset
    }
}

/// Facts from the start of a VP8 frame (RFC 6386 §9.1).
public struct VP8FrameHeader: Sendable, Equatable {
    public var isKeyframe: Bool
    /// Only keyframes carry the picture size.
    public var width: Int?
    public var height: Int?

    public init?(_ frame: some Collection<UInt8>) {
        guard let first = frame.first else { return nil }
        isKeyframe = first & 0x01 == 0
        guard isKeyframe else { return }
        let bytes = Array(frame.prefix(10))
        guard bytes.count == 10, bytes[3] == 0x9D, bytes[4] == 0x01, bytes[5] == 0x2A else { return nil }
        width = (Int(bytes[6]) | Int(bytes[7]) << 8) & 0x3FFF
        height = (Int(bytes[8]) | Int(bytes[9]) << 8) & 0x3FFF
    }
}

/// Splits VP8 frames into RTP payloads with a payload descriptor carrying a 15-bit PictureID,
/// as Chromium sends them. FakeCalls plays fixtures with it; tests use it to make RTP.
public struct VP8Packetizer: Sendable {
    public let maxPayloadSize: Int
    private var pictureId: UInt16

    public init(maxPayloadSize: Int = 1172, firstPictureId: UInt16 = 0) {
        precondition(maxPayloadSize > 4, "the descriptor takes four bytes")
        self.maxPayloadSize = maxPayloadSize
        pictureId = firstPictureId & 0x7FFF
    }

    public mutating func payloads(for frame: [UInt8]) -> [[UInt8]] {
        let chunk = maxPayloadSize - 4
        var out: [[UInt8]] = []
        var offset = 0
        repeat {
            let end = min(offset + chunk, frame.count)
            let start: UInt8 = offset == 0 ? 0x10 : 0x00
            out.append([0x80 | start, 0x80, 0x80 | UInt8(pictureId >> 8), UInt8(pictureId & 0xFF)] + frame[offset..<end])
            offset = end
        } while offset < frame.count
        pictureId = (pictureId &+ 1) & 0x7FFF
        return out
    }
}

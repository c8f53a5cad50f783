/// Splits H.264 pictures into RTP payloads the way browsers do in packetization-mode 1
/// (RFC 6184): SPS and PPS together in one STAP-A, NAL units that fit as single NAL packets,
/// larger ones as FU-A fragments. FakeCalls plays fixtures with it; tests use it to make RTP.
public struct H264Packetizer: Sendable {
    public let maxPayloadSize: Int

    public init(maxPayloadSize: Int = 1172) {
        precondition(maxPayloadSize > 2, "an FU-A needs room for its two header bytes")
        self.maxPayloadSize = maxPayloadSize
    }

    /// The RTP payloads of one picture, in order; the last one carries the marker bit.
    public func payloads(for nalUnits: [ArraySlice<UInt8>]) -> [[UInt8]] {
        var payloads: [[UInt8]] = []
        var units = nalUnits[...]
        while let unit = units.first {
            units = units.dropFirst()
            guard let header = unit.first else { continue }
            let type = H264NALType.of(header)
            if type == H264NALType.sps.rawValue, let next = units.first, let nextHeader = next.first,
               H264NALType.of(nextHeader) == H264NALType.pps.rawValue, 3 + 2 + unit.count + 2 + next.count <= maxPayloadSize {
                units = units.dropFirst()
                var stap: [UInt8] = [(header & 0x60) | H264NALType.stapA.rawValue]
                for part in [unit, next] {
                    stap.append(UInt8(part.count >> 8))
                    stap.append(UInt8(part.count & 0xFF))
                    stap.append(contentsOf: part)
                }
                payloads.append(stap)
            } else if unit.count <= maxPayloadSize {
                payloads.append(Array(unit))
            } else {
                payloads.append(contentsOf: fragments(of: unit))
            }
        }
        return payloads
    }

    private func fragments(of unit: ArraySlice<UInt8>) -> [[UInt8]] {
        let header = unit[unit.startIndex]
        let indicator = (header & 0xE0) | H264NALType.fuA.rawValue
        let body = unit.dropFirst()
        let chunk = maxPayloadSize - 2
        var out: [[UInt8]] = []
        var offset = body.startIndex
        while offset < body.endIndex {
            let end = min(offset + chunk, body.endIndex)
            var fuHeader = header & 0x1F
            if offset == body.startIndex { fuHeader |= 0x80 }
            if end == body.endIndex { fuHeader |= 0x40 }
            out.append([indicator, fuHeader] + body[offset..<end])
            offset = end
        }
        return out
    }
}

/// Goodbye, PT 203 (RFC 3550 §6.6): the listed sources are leaving, optionally saying why.
public struct RTCPBye: Sendable, Equatable {
    public static let packetType: UInt8 = 203

    public var ssrcs: [UInt32]
    public var reason: String?

    public init(ssrcs: [UInt32], reason: String? = nil) {
        self.ssrcs = ssrcs
        self.reason = reason
    }

    static func parse(_ body: UnsafeRawBufferPointer, count: Int) throws(RTCPParseError) -> RTCPBye {
        let end = 4 * count
        guard end <= body.count else { throw .truncatedBody(packetType: packetType, needed: end, available: body.count) }
        let ssrcs = (0..<count).map { RTPBytes.u32(body, 4 * $0) }
        var reason: String?
        if end < body.count {
            let length = Int(body[end])
            // A zero byte here is just padding to the 32-bit boundary, not a reason.
            if length > 0 {
                guard end + 1 + length <= body.count else {
                    throw .malformed(packetType: packetType, reason: "reason of \(length) bytes runs past the packet")
                }
                reason = String(decoding: body[(end + 1)..<(end + 1 + length)], as: UTF8.self)
            }
        }
        return RTCPBye(ssrcs: ssrcs, reason: reason)
    }

    /// Writes at most 31 SSRCs and a reason cut to 255 bytes.
    public func write(to out: inout [UInt8]) {
        let written = ssrcs.prefix(31)
        RTCPWriter.packet(count: UInt8(written.count), type: Self.packetType, to: &out) { out in
            for ssrc in written { RTPBytes.append(ssrc, to: &out) }
            if let reason, !reason.isEmpty {
                let bytes = Array(reason.utf8.prefix(255))
                out.append(UInt8(bytes.count))
                out.append(contentsOf: bytes)
            }
        }
    }
}

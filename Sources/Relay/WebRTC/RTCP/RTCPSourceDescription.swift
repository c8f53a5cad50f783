/// Source Description, PT 202 (RFC 3550 §6.5): per SSRC, a list of typed text items (CNAME…).
public struct RTCPSourceDescription: Sendable, Equatable {
    public static let packetType: UInt8 = 202

    public struct Item: Sendable, Equatable {
        public static let cname: UInt8 = 1

        public var type: UInt8
        public var value: [UInt8]

        public init(type: UInt8, value: [UInt8]) {
            self.type = type
            self.value = value
        }

        public static func cname(_ text: String) -> Item { Item(type: cname, value: Array(text.utf8)) }
    }

    public struct Chunk: Sendable, Equatable {
        public var ssrc: UInt32
        public var items: [Item]

        public init(ssrc: UInt32, items: [Item]) {
            self.ssrc = ssrc
            self.items = items
        }

        public var cname: String? {
            items.first { $0.type == Item.cname }.map { String(decoding: $0.value, as: UTF8.self) }
        }
    }

    public var chunks: [Chunk]

    public init(chunks: [Chunk]) { self.chunks = chunks }

    public init(ssrc: UInt32, cname: String) {
        self.chunks = [Chunk(ssrc: ssrc, items: [.cname(cname)])]
    }

    static func parse(_ body: UnsafeRawBufferPointer, count: Int) throws(RTCPParseError) -> RTCPSourceDescription {
        var chunks: [Chunk] = []
        var i = 0
        for _ in 0..<count {
            guard i + 4 <= body.count else {
                throw .truncatedBody(packetType: packetType, needed: i + 4, available: body.count)
            }
            var chunk = Chunk(ssrc: RTPBytes.u32(body, i), items: [])
            i += 4
            while true {
                guard i < body.count else {
                    throw .malformed(packetType: packetType, reason: "chunk for SSRC \(chunk.ssrc) has no end item")
                }
                let type = body[i]
                if type == 0 { break }
                guard i + 2 <= body.count, i + 2 + Int(body[i + 1]) <= body.count else {
                    throw .malformed(packetType: packetType, reason: "item type \(type) runs past the packet")
                }
                let length = Int(body[i + 1])
                chunk.items.append(Item(type: type, value: Array(body[(i + 2)..<(i + 2 + length)])))
                i += 2 + length
            }
            // The null terminator, then zero padding to the next 32-bit boundary.
            i = (i + 4) & ~3
            chunks.append(chunk)
        }
        return RTCPSourceDescription(chunks: chunks)
    }

    /// Writes at most 31 chunks; item values longer than 255 bytes are cut to 255.
    public func write(to out: inout [UInt8]) {
        let written = chunks.prefix(31)
        RTCPWriter.packet(count: UInt8(written.count), type: Self.packetType, to: &out) { out in
            for chunk in written {
                let start = out.count
                RTPBytes.append(chunk.ssrc, to: &out)
                for item in chunk.items where item.type != 0 {
                    let value = item.value.prefix(255)
                    out.append(item.type)
                    out.append(UInt8(value.count))
                    out.append(contentsOf: value)
                }
                out.append(0)  // end of items; then pad the chunk to 32 bits
                while (out.count - start) % 4 != 0 { out.append(0) }
            }
        }
    }
}

/// Generic NACK, RTPFB (PT 205) FMT 1 (RFC 4585 §6.2.1): lost packets as PID + a 16-bit mask
/// of the following ones.
public struct RTCPGenericNACK: Sendable, Equatable {
    public static let packetType: UInt8 = 205
    public static let format: UInt8 = 1

    public struct Entry: Sendable, Equatable {
        /// The first lost packet.
        public var packetID: UInt16
        /// Bit i set: packet packetID + i + 1 is lost too.
        public var bitmask: UInt16

        public init(packetID: UInt16, bitmask: UInt16) {
            self.packetID = packetID
            self.bitmask = bitmask
        }

        public var sequenceNumbers: [UInt16] {
            var result = [packetID]
            for bit in 0..<16 where bitmask & (1 << bit) != 0 {
                result.append(packetID &+ UInt16(bit + 1))
            }
            return result
        }
    }

    public var senderSSRC: UInt32
    public var mediaSSRC: UInt32
    public var entries: [Entry]

    public init(senderSSRC: UInt32, mediaSSRC: UInt32, entries: [Entry]) {
        self.senderSSRC = senderSSRC
        self.mediaSSRC = mediaSSRC
        self.entries = entries
    }

    /// Packs lost sequence numbers, given in ascending order (wrap-aware: 65535 then 0 is
    /// ascending), into as few PID/BLP entries as a greedy pass allows. Duplicates are ignored.
    public init(senderSSRC: UInt32, mediaSSRC: UInt32, lost: [UInt16]) {
        var entries: [Entry] = []
        for sequence in lost {
            if var last = entries.last {
                let distance = sequence &- last.packetID
                if distance == 0 { continue }
                if distance <= 16 {
                    last.bitmask |= 1 << (distance - 1)
                    entries[entries.count - 1] = last
                    continue
                }
            }
            entries.append(Entry(packetID: sequence, bitmask: 0))
        }
        self.init(senderSSRC: senderSSRC, mediaSSRC: mediaSSRC, entries: entries)
    }

    /// Every sequence number the NACK asks for, in entry order.
    public var lostSequenceNumbers: [UInt16] { entries.flatMap(\.sequenceNumbers) }

    static func parse(_ body: UnsafeRawBufferPointer) throws(RTCPParseError) -> RTCPGenericNACK {
        guard body.count >= 8 else { throw .truncatedBody(packetType: packetType, needed: 8, available: body.count) }
        let fciCount = (body.count - 8) / 4
        let entries = (0..<fciCount).map {
            Entry(packetID: RTPBytes.u16(body, 8 + 4 * $0), bitmask: RTPBytes.u16(body, 10 + 4 * $0))
        }
        return RTCPGenericNACK(senderSSRC: RTPBytes.u32(body, 0), mediaSSRC: RTPBytes.u32(body, 4), entries: entries)
    }

    public func write(to out: inout [UInt8]) {
        RTCPWriter.packet(count: Self.format, type: Self.packetType, to: &out) { out in
            RTPBytes.append(senderSSRC, to: &out)
            RTPBytes.append(mediaSSRC, to: &out)
            for entry in entries {
                RTPBytes.append(entry.packetID, to: &out)
                RTPBytes.append(entry.bitmask, to: &out)
            }
        }
    }
}

/// Turns 16-bit RTP sequence numbers into a monotonic 64-bit index across wraps, tolerating
/// reordering: a number is placed at the nearest position to the highest one seen so far
/// (within ±32768), so a late packet from before a wrap gets the previous cycle.
public struct RTPSequenceExtender: Sendable, Equatable {
    /// The highest extended sequence number seen, or nil before the first packet.
    public private(set) var highest: Int64?

    public init() {}

    /// The extended number of `sequence`. The first packet maps to itself (0…65535); packets
    /// older than the first one that arrive late may map below zero.
    public mutating func extend(_ sequence: UInt16) -> Int64 {
        guard let highest else {
            self.highest = Int64(sequence)
            return Int64(sequence)
        }
        let delta = Int16(bitPattern: sequence &- UInt16(truncatingIfNeeded: highest))
        let extended = highest + Int64(delta)
        if extended > highest { self.highest = extended }
        return extended
    }

    /// The extended number `sequence` would get, without recording it.
    public func peek(_ sequence: UInt16) -> Int64 {
        guard let highest else { return Int64(sequence) }
        return highest + Int64(Int16(bitPattern: sequence &- UInt16(truncatingIfNeeded: highest)))
    }

    /// Completed wraps of the highest number (RFC 3550's cycle count).
    public var rolloverCount: UInt32 {
        guard let highest, highest >= 0 else { return 0 }
        return UInt32(truncatingIfNeeded: highest >> 16)
    }

    /// The "extended highest sequence number received" of an RTCP report block:
    /// cycles in the high 16 bits, the highest sequence number in the low 16.
    public var reportExtendedHighest: UInt32 {
        guard let highest, highest >= 0 else { return 0 }
        return UInt32(truncatingIfNeeded: highest)
    }
}

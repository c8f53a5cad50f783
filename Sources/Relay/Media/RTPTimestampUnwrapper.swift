/// Turns 32-bit RTP timestamps into a continuous count of clock ticks since the first packet,
/// across wraps and small reorderings.
public struct RTPTimestampUnwrapper: Sendable {
    private var first: UInt32?
    private var last: UInt32 = 0
    private var lastUnwrapped: Int64 = 0

    public init() {}

    public var firstTimestamp: UInt32? { first }

    public mutating func unwrap(_ timestamp: UInt32) -> Int64 {
        guard first != nil else {
            first = timestamp
            last = timestamp
            return 0
        }
        // The signed 32-bit difference to the previous timestamp is the step, wrap or not.
        let step = Int64(Int32(bitPattern: timestamp &- last))
        lastUnwrapped += step
        last = timestamp
        return lastUnwrapped
    }

    /// The same timeline anchored at the first timestamp's own value, so its low 32 bits are
    /// the original RTP timestamps.
    public mutating func extend(_ timestamp: UInt32) -> Int64 {
        let ticks = unwrap(timestamp)
        return Int64(first ?? timestamp) + ticks
    }
}

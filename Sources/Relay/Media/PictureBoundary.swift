/// Tracks where pictures begin and end in an in-order RTP stream, and where packets went
/// missing. Shared by the video depacketizers.
struct PictureBoundary: Sendable {
    /// The RTP timestamp of the picture in progress, nil between pictures.
    private(set) var timestamp: UInt32?
    private var lastSequence: UInt64?

    struct Step {
        /// The picture in progress ended without its marker: finish it before this packet.
        var finishesPrevious: Bool
        /// Packets are missing right before this one.
        var gap: Bool
    }

    mutating func observe(sequence: UInt64, timestamp packetTimestamp: UInt32) -> Step {
        let gap = lastSequence.map { sequence != $0 &+ 1 } ?? false
        let finishesPrevious = timestamp.map { $0 != packetTimestamp } ?? false
        lastSequence = sequence
        return Step(finishesPrevious: finishesPrevious, gap: gap)
    }

    mutating func begin(timestamp packetTimestamp: UInt32) { timestamp = packetTimestamp }
    mutating func end() { timestamp = nil }
}

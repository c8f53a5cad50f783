/// One incoming media source (an SSRC): its RFC 3550 statistics, and the extended sequence
/// numbers the jitter buffer orders its packets by.
///
/// Extended numbers start at 65536 + the first sequence number, so a packet from before the
/// first one (reordered at the start) still gets a positive number. When the statistics see the
/// source restart its numbering, or a new source takes over, the numbers jump well past
/// everything buffered, so the jitter buffer starts again instead of taking the new packets
/// for late ones.
struct ReceivedSource: Sendable {
    let ssrc: UInt32
    private(set) var statistics: ReceiveStatistics
    private var extender = RTPSequenceExtender()
    private var base: Int64

    /// - Parameter after: the highest extended number a previous source used, if any.
    init(ssrc: UInt32, clockRate: Int, after previous: ReceivedSource? = nil) {
        self.ssrc = ssrc
        statistics = ReceiveStatistics(configuration: .init(clockRate: clockRate))
        base = previous.map { $0.highestExtended + 1 + 65536 } ?? 65536
    }

    /// The highest extended sequence number handed out.
    var highestExtended: Int64 { (extender.highest ?? 0) + base }

    /// Counts a packet and gives its extended sequence number, or nil when it must be dropped
    /// (a sequence jump too large to be loss, not yet confirmed by a following packet).
    mutating func accept(sequence: UInt16, timestamp: UInt32, arrival: ContinuousClock.Instant,
                         retransmission: Bool = false) -> UInt64? {
        switch statistics.record(sequence: sequence, timestamp: timestamp, arrival: arrival, retransmission: retransmission) {
        case .suspectJump:
            return nil
        case .restarted:
            base = highestExtended + 1 + 65536
            extender = RTPSequenceExtender()
        case .inOrder, .old:
            break
        }
        let extended = extender.extend(sequence) + base
        return extended >= 0 ? UInt64(extended) : nil
    }

    mutating func senderReport(_ report: RTCPSenderReport, arrival: ContinuousClock.Instant) {
        statistics.senderReport(ntpTimestamp: report.ntpTimestamp, arrival: arrival)
    }

    mutating func reportBlock(now: ContinuousClock.Instant) -> RTCPReportBlock {
        statistics.reportBlock(ssrc: ssrc, now: now)
    }
}

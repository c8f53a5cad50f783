/// What one RTP source looks like from the receiving end, kept the way RFC 3550 reckons it:
/// sequence validation and the extended highest sequence number (Appendix A.1), expected and
/// lost packets (A.3), interarrival jitter (A.8), and the LSR/DLSR echo of the last Sender
/// Report. `reportBlock` turns it into the RTCP report block a Receiver Report carries.
///
/// Sans-IO: sequence numbers, timestamps and arrival instants in; numbers out.
public struct ReceiveStatistics: Sendable {
    public struct Configuration: Sendable, Equatable {
        /// RTP clock rate of the source (90 kHz video, 48 kHz Opus).
        public var clockRate: Int
        /// A forward jump up to this many sequence numbers is loss; a larger one is suspect.
        public var maxDropout: Int = 3000
        /// A backward step up to this many sequence numbers is reordering or a duplicate.
        public var maxMisorder: Int = 100

        public init(clockRate: Int, maxDropout: Int = 3000, maxMisorder: Int = 100) {
            self.clockRate = clockRate
            self.maxDropout = maxDropout
            self.maxMisorder = maxMisorder
        }
    }

    /// What became of one packet.
    public enum Verdict: Sendable, Equatable {
        /// Advances the highest sequence number.
        case inOrder
        /// Older than the highest (reordered, retransmitted or duplicated): counted as received.
        case old
        /// A jump too large to be loss, seen once: not counted; the packet should be dropped.
        case suspectJump
        /// A second packet continued a suspect jump: the source restarted its numbering, and
        /// the counts start again from this packet.
        case restarted
    }

    public let configuration: Configuration
    /// Packets counted as received (since the last restart), retransmissions included.
    public private(set) var received: Int64 = 0
    /// Packets dropped as suspect jumps.
    public private(set) var suspectJumps = 0
    public private(set) var restarts = 0
    /// Interarrival jitter in RTP clock units (RFC 3550 §6.4.1).
    public private(set) var jitter: Double = 0
    /// The fraction lost in the last report block, /256.
    public private(set) var lastFractionLost: UInt8 = 0

    private var started = false
    private var baseSequence: Int64 = 0
    private var maxSequence: UInt16 = 0
    /// Sequence-number cycles, counted in units of 65536.
    private var cycles: Int64 = 0
    /// The sequence number that would confirm a suspect jump (none while nil).
    private var badSequence: UInt16?
    private var expectedPrior: Int64 = 0
    private var receivedPrior: Int64 = 0
    private var epoch: ContinuousClock.Instant?
    private var lastTransit: UInt32?
    private var lastSenderReport: (compact: UInt32, arrival: ContinuousClock.Instant)?

    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    /// Counts one packet. `retransmission` marks a packet repaired by RTX: it counts as received
    /// but its arrival says nothing about network jitter.
    @discardableResult
    public mutating func record(sequence: UInt16, timestamp: UInt32, arrival: ContinuousClock.Instant,
                                retransmission: Bool = false) -> Verdict {
        guard started else {
            restart(at: sequence)
            received = 1
            if !retransmission { updateJitter(timestamp: timestamp, arrival: arrival) }
            return .inOrder
        }
        let forward = Int(sequence &- maxSequence)
        var verdict = Verdict.old
        if forward == 0 {
            verdict = .old  // a duplicate of the highest
        } else if forward < configuration.maxDropout {
            if sequence < maxSequence { cycles += 1 }
            maxSequence = sequence
            verdict = .inOrder
        } else if forward <= 65536 - configuration.maxMisorder {
            // Too far to be loss. Once could be a stray packet; twice in a row is a new numbering.
            if sequence == badSequence {
                restart(at: sequence)
                restarts += 1
                verdict = .restarted
            } else {
                badSequence = sequence &+ 1
                suspectJumps += 1
                return .suspectJump
            }
        } else {
            // Reordered: a packet from before the first one moves the start back (as libwebrtc
            // does), so swapped first packets are not counted as a duplicate.
            let extended = cycles << 16 + Int64(maxSequence) - Int64(65536 - forward)
            if extended < baseSequence { baseSequence = extended }
        }
        received += 1
        if verdict != .old, !retransmission { updateJitter(timestamp: timestamp, arrival: arrival) }
        return verdict
    }

    /// Remembers a Sender Report from this source, to echo it as LSR/DLSR.
    public mutating func senderReport(ntpTimestamp: UInt64, arrival: ContinuousClock.Instant) {
        lastSenderReport = (UInt32(truncatingIfNeeded: ntpTimestamp >> 16), arrival)
    }

    public var hasPackets: Bool { started }

    /// Cycles in the high 16 bits, the highest sequence number in the low 16.
    public var extendedHighestSequence: UInt32 { UInt32(truncatingIfNeeded: cycles << 16 + Int64(maxSequence)) }

    /// Packets the sequence numbers say were sent since the first (or the restart).
    public var expected: Int64 { started ? cycles << 16 + Int64(maxSequence) - baseSequence + 1 : 0 }

    /// Expected minus received: may be negative when duplicates arrive.
    public var cumulativeLost: Int64 { expected - received }

    public var jitterMilliseconds: Double { jitter * 1000 / Double(configuration.clockRate) }

    /// The report block for this source at `now`; starts a new interval for the fraction lost.
    public mutating func reportBlock(ssrc: UInt32, now: ContinuousClock.Instant) -> RTCPReportBlock {
        let expectedNow = expected
        let expectedInterval = expectedNow - expectedPrior
        let receivedInterval = received - receivedPrior
        expectedPrior = expectedNow
        receivedPrior = received
        let lostInterval = expectedInterval - receivedInterval
        lastFractionLost = expectedInterval <= 0 || lostInterval <= 0 ? 0 : UInt8(min(255, (lostInterval << 8) / expectedInterval))
        var lsr: UInt32 = 0, dlsr: UInt32 = 0
        if let sr = lastSenderReport {
            lsr = sr.compact
            let delay = Self.seconds(now - sr.arrival)
            dlsr = UInt32(clamping: Int64(max(0, delay) * 65536))
        }
        return RTCPReportBlock(
            ssrc: ssrc, fractionLost: lastFractionLost,
            cumulativeLost: Int32(clamping: min(max(cumulativeLost, -0x80_0000), 0x7F_FFFF)),
            extendedHighestSequence: extendedHighestSequence,
            jitter: UInt32(clamping: Int64(jitter.rounded())),
            lastSenderReport: lsr, delaySinceLastSenderReport: dlsr)
    }

    private mutating func restart(at sequence: UInt16) {
        started = true
        baseSequence = Int64(sequence)
        maxSequence = sequence
        cycles = 0
        badSequence = nil
        received = 0
        expectedPrior = 0
        receivedPrior = 0
        lastTransit = nil
    }

    /// RFC 3550 A.8: J += (|D| − J) / 16, D the change in transit time, in RTP units. The
    /// arithmetic is modulo 2^32 like the timestamps, so a timestamp wrap is not jitter.
    private mutating func updateJitter(timestamp: UInt32, arrival: ContinuousClock.Instant) {
        let epoch = self.epoch ?? arrival
        self.epoch = epoch
        let units = Int64((Self.seconds(arrival - epoch) * Double(configuration.clockRate)).rounded())
        let transit = UInt32(truncatingIfNeeded: units) &- timestamp
        defer { lastTransit = transit }
        guard let last = lastTransit else { return }
        let difference = Double(Int32(bitPattern: transit &- last).magnitude)
        // A step of many seconds is a sender restart or a timestamp jump, not network jitter.
        guard difference < Double(configuration.clockRate) * 10 else { return }
        jitter += (difference - jitter) / 16
    }

    static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) * 1e-18
    }
}

/// A moving average of delays in milliseconds, weighted 1/16 per sample like RTP jitter.
enum DelayAverage {
    static func add(_ delay: Duration, to average: inout Double) {
        average += (ReceiveStatistics.seconds(delay) * 1000 - average) / 16
    }
}

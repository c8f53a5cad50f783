/// Puts one SSRC's RTP packets back in sequence order (sans-IO: packets and time in, packets,
/// NACK lists and deadlines out).
///
/// It is a relay's buffer, not a player's: a packet that continues the sequence leaves at once,
/// so an undisturbed stream gains no latency. Only a hole holds later packets back, for as long
/// as a retransmission can plausibly take (the target wait, which follows measured jitter and
/// round-trip time within bounds); after that the hole is given up and the packets behind it
/// leave, so latency never accumulates after a loss burst. Storage is a fixed ring of reusable
/// slots: no allocation per packet once warm.
public struct JitterBuffer: Sendable {
    public struct Configuration: Sendable {
        /// Packets held at most; also how far ahead of the oldest missing packet a packet may be.
        public var capacity: Int = 1024
        public var minimumWait: Duration = .milliseconds(20)
        public var maximumWait: Duration = .milliseconds(200)
        /// RTP clock rate, to compare timestamps with arrival times for the jitter estimate.
        public var clockRate: Int = 90000
        /// A missing packet is NACKed after it has been missing this long (packets reorder a little).
        public var nackDelay: Duration = .milliseconds(5)
        public var maxNacksPerPacket: Int = 8
        public init() {}
    }

    public enum InsertOutcome: Sendable, Equatable {
        case accepted
        case duplicate
        /// Older than what has already left: dropped.
        case tooLate
        /// So far ahead that everything buffered was given up and the sequence restarted there.
        case restarted
    }

    public struct Stats: Sendable, Equatable {
        public var received = 0
        public var duplicates = 0
        public var late = 0
        public var lost = 0
        public var restarts = 0
        public var nacksSent = 0
    }

    /// A packet leaving the buffer; valid only inside the `drain` callback.
    public struct Released {
        public var sequence: UInt64
        public var timestamp: UInt32
        public var marker: Bool
        public var arrival: ContinuousClock.Instant
        public var payload: UnsafeRawBufferPointer
    }

    private struct Slot {
        var occupied = false
        var sequence: UInt64 = 0
        var timestamp: UInt32 = 0
        var marker = false
        var arrival: ContinuousClock.Instant
        var payload: [UInt8] = []
        var nackCount = 0
        var lastNack: ContinuousClock.Instant?
    }

    public let configuration: Configuration
    public private(set) var stats = Stats()
    /// Interarrival jitter (RFC 3550 §6.4.1), in RTP clock units.
    public private(set) var jitter: Double = 0
    public var roundTripTime: Duration = .milliseconds(50)

    private var slots: [Slot]
    /// The next sequence number to release; nil before the first packet.
    private var next: UInt64?
    /// The highest sequence number seen.
    private var highest: UInt64 = 0
    /// When the packet at `next` was first found missing (a later one had arrived).
    private var holeSince: ContinuousClock.Instant?
    private var lastTransit: Double?

    public init(configuration: Configuration = Configuration(), now: ContinuousClock.Instant) {
        self.configuration = configuration
        slots = Array(repeating: Slot(arrival: now), count: max(configuration.capacity, 16))
    }

    /// How long a hole is waited for: four times the jitter plus a round trip, and at least long
    /// enough for the NACK to be repeated twice (the first NACK or its retransmission can be
    /// lost as well), within bounds.
    public var targetWait: Duration {
        let jitterSeconds = jitter / Double(configuration.clockRate)
        let wait = max(Duration.seconds(4 * jitterSeconds) + roundTripTime, configuration.nackDelay + roundTripTime * 3)
        return min(max(wait, configuration.minimumWait), configuration.maximumWait)
    }

    public var bufferedCount: Int { slots.reduce(0) { $0 + ($1.occupied ? 1 : 0) } }

    /// Payload bytes of the packets waiting (to check that memory stays bounded).
    public var bufferedBytes: Int { slots.reduce(0) { $0 + ($1.occupied ? $1.payload.count : 0) } }

    public mutating func insert(payload: UnsafeRawBufferPointer, sequence: UInt64, timestamp: UInt32, marker: Bool,
                                arrival: ContinuousClock.Instant) -> InsertOutcome {
        stats.received += 1
        updateJitter(timestamp: timestamp, arrival: arrival)
        var outcome = InsertOutcome.accepted
        if let head = next {
            if sequence < head {
                stats.late += 1
                return .tooLate
            }
            if sequence - head >= UInt64(slots.count) {
                restart(at: sequence)
                outcome = .restarted
            }
        } else {
            next = sequence
            highest = sequence
        }
        let index = Int(sequence % UInt64(slots.count))
        if slots[index].occupied, slots[index].sequence == sequence {
            stats.duplicates += 1
            return .duplicate
        }
        slots[index].occupied = true
        slots[index].sequence = sequence
        slots[index].timestamp = timestamp
        slots[index].marker = marker
        slots[index].arrival = arrival
        slots[index].nackCount = 0
        slots[index].lastNack = nil
        slots[index].payload.removeAll(keepingCapacity: true)
        slots[index].payload.append(contentsOf: payload)
        // A packet beyond the next expected one reveals a hole: its wait starts now.
        if sequence > highest &+ 1, holeSince == nil { holeSince = arrival }
        if sequence > highest { highest = sequence }
        return outcome
    }

    public mutating func insert(payload: [UInt8], sequence: UInt64, timestamp: UInt32, marker: Bool,
                                arrival: ContinuousClock.Instant) -> InsertOutcome {
        payload.withUnsafeBytes { insert(payload: $0, sequence: sequence, timestamp: timestamp, marker: marker, arrival: arrival) }
    }

    /// Releases, in order, every packet that may leave at `now`: those continuing the sequence,
    /// and those behind a hole that has been waited for long enough.
    public mutating func drain(now: ContinuousClock.Instant, _ body: (Released) -> Void) {
        while var head = next, head <= highest {
            if !isPresent(head) {
                let since = holeSince ?? now
                holeSince = since
                guard now - since >= targetWait else { return }
                // Give the hole up: skip to the next packet that is here.
                var skipped: UInt64 = 0
                while !isPresent(head), head <= highest {
                    head += 1
                    skipped += 1
                }
                stats.lost += Int(skipped)
                next = head
                // A further hole behind this one starts its own wait.
                holeSince = nil
                continue
            }
            let index = Int(head % UInt64(slots.count))
            let slot = slots[index]
            slots[index].occupied = false
            slot.payload.withUnsafeBytes { bytes in
                body(Released(sequence: slot.sequence, timestamp: slot.timestamp, marker: slot.marker,
                              arrival: slot.arrival, payload: bytes))
            }
            next = head + 1
        }
        holeSince = nil  // caught up: nothing is missing
    }

    /// When `drain` should next be called even if no packet arrives: the end of the current hole's wait.
    public func nextDeadline() -> ContinuousClock.Instant? {
        holeSince.map { $0 + targetWait }
    }

    /// Missing sequence numbers worth asking for at `now` (generic NACK), each at most every
    /// round trip and `maxNacksPerPacket` times.
    public mutating func nackList(now: ContinuousClock.Instant) -> [UInt64] {
        guard let head = next, highest > head, let since = holeSince, now - since >= configuration.nackDelay else { return [] }
        var list: [UInt64] = []
        let resendInterval = max(roundTripTime, .milliseconds(20))
        var sequence = head
        while sequence < highest {
            let index = Int(sequence % UInt64(slots.count))
            if !isPresent(sequence) {
                // A missing packet's slot holds its NACK bookkeeping until the packet arrives.
                if slots[index].sequence != sequence {
                    slots[index].sequence = sequence
                    slots[index].nackCount = 0
                    slots[index].lastNack = nil
                }
                let due = slots[index].lastNack.map { now - $0 >= resendInterval } ?? true
                if due, slots[index].nackCount < configuration.maxNacksPerPacket {
                    slots[index].nackCount += 1
                    slots[index].lastNack = now
                    list.append(sequence)
                }
            }
            sequence += 1
        }
        stats.nacksSent += list.count
        return list
    }

    private func isPresent(_ sequence: UInt64) -> Bool {
        let slot = slots[Int(sequence % UInt64(slots.count))]
        return slot.occupied && slot.sequence == sequence
    }

    private mutating func restart(at sequence: UInt64) {
        for index in slots.indices where slots[index].occupied {
            slots[index].occupied = false
            stats.lost += 1
        }
        stats.restarts += 1
        next = sequence
        highest = sequence
        holeSince = nil
    }

    private mutating func updateJitter(timestamp: UInt32, arrival: ContinuousClock.Instant) {
        let elapsed = arrival - ContinuousClock.Instant.jitterEpoch
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let transit = seconds * Double(configuration.clockRate) - Double(timestamp)
        if let last = lastTransit {
            var difference = abs(transit - last)
            // A timestamp wrap or a sender restart is not jitter.
            if difference > Double(configuration.clockRate) * 10 { difference = 0 }
            jitter += (difference - jitter) / 16
        }
        lastTransit = transit
    }
}

private extension ContinuousClock.Instant {
    /// Any fixed instant works as the origin: only differences of transit times matter.
    static let jitterEpoch = ContinuousClock.now
}

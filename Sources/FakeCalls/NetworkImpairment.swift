import Relay

/// A netem-like model of a bad network path, applied to one direction of datagrams (sans-IO: a
/// datagram's size and the time in, when its copies may leave out; no clock, socket or thread).
///
/// Per datagram, in this order (as netem does it):
/// 1. **Burst loss**: a fixed schedule, "everything dropped for `length` every `period`", the
///    first window ending one period after `start`, so a test knows exactly when each outage
///    ends and can measure the recovery after it (`burstWindows(through:)`).
/// 2. **Random loss**: each datagram independently with probability `loss`.
/// 3. **Duplication**: with probability `duplicate` a second copy follows the first.
/// 4. **Rate cap**: a token bucket of `rateKbps` (depth `Profile.bucketBytes`) in front of a
///    FIFO queue; a copy that would wait longer than `queueLimit` is tail-dropped, the others
///    leave when the bucket has their bytes (so they are spaced out at the rate).
/// 5. **Delay**: `delay` ± `jitter` (uniform; never before the copy left the queue), plus
///    `reorderDelay` for a fraction `reorder` of copies, which then arrive after later ones.
///    With jitter, copies leave in the order of their times, so jitter reorders too (netem does).
///
/// Each feature draws from its own seeded generator, so turning one on does not change which
/// datagrams another picks: a profile with the same seed repeats exactly.
public struct NetworkImpairment: Sendable {
    /// Why a datagram (or a copy of it) did not get through.
    public enum DropReason: Sendable, Equatable {
        case burst, loss, queue
    }

    /// What happens to one offered datagram: when each copy may be delivered (nil: not at all).
    public struct Decision: Sendable, Equatable {
        public var first: ContinuousClock.Instant?
        /// The duplicate, when there is one and it got through.
        public var second: ContinuousClock.Instant?
        /// Set when the datagram itself (not only its duplicate) was dropped.
        public var dropped: DropReason?
    }

    /// What the model did so far.
    public struct Counters: Sendable, Equatable {
        public var offered = 0
        public var droppedByBurst = 0
        public var droppedByLoss = 0
        /// Copies tail-dropped by the rate cap's full queue.
        public var droppedByQueue = 0
        public var duplicated = 0
        /// Copies that left later than they were offered (delay, jitter, queueing, reordering).
        public var delayed = 0
        /// Copies given the extra reordering delay.
        public var reordered = 0

        public var dropped: Int { droppedByBurst + droppedByLoss + droppedByQueue }

        public init() {}
    }

    public let profile: Profile
    public let start: ContinuousClock.Instant
    public private(set) var counters = Counters()

    private var lossRandom: SplitMix64
    private var duplicateRandom: SplitMix64
    private var jitterRandom: SplitMix64
    private var reorderRandom: SplitMix64
    /// Token bucket: bytes available at `tokensAt` (which is later than now while a queue waits).
    private var tokens: Double
    private var tokensAt: ContinuousClock.Instant

    /// - Parameters:
    ///   - start: time zero of the burst schedule.
    ///   - stream: mixed into the seed, so the two directions of one link differ.
    public init(profile: Profile, start: ContinuousClock.Instant, stream: UInt64 = 0) {
        self.profile = profile
        self.start = start
        let seed = profile.seed ^ (stream &* 0x9E37_79B9_7F4A_7C15)
        lossRandom = Self.stream(seed, 1)
        duplicateRandom = Self.stream(seed, 2)
        jitterRandom = Self.stream(seed, 3)
        reorderRandom = Self.stream(seed, 4)
        tokens = Double(profile.bucketBytes)
        tokensAt = start
    }

    /// Decides the fate of one datagram of `bytes` offered at `now` (times must not go back).
    public mutating func decide(bytes: Int, now: ContinuousClock.Instant) -> Decision {
        counters.offered += 1
        if isInBurst(now) {
            counters.droppedByBurst += 1
            return Decision(first: nil, second: nil, dropped: .burst)
        }
        if profile.loss > 0, lossRandom.unit() < profile.loss {
            counters.droppedByLoss += 1
            return Decision(first: nil, second: nil, dropped: .loss)
        }
        let duplicated = profile.duplicate > 0 && duplicateRandom.unit() < profile.duplicate
        if duplicated { counters.duplicated += 1 }
        let first = release(bytes: bytes, now: now)
        let second = duplicated ? release(bytes: bytes, now: now) : nil
        return Decision(first: first, second: second, dropped: first == nil ? .queue : nil)
    }

    /// One copy through the rate cap and the delay: when it arrives, or nil when tail-dropped.
    private mutating func release(bytes: Int, now: ContinuousClock.Instant) -> ContinuousClock.Instant? {
        var departure = now
        if let rate = profile.rateKbps {
            // Bytes per nanosecond = rate · 1000 / 8 / 1e9.
            let bytesPerNano = Double(rate) / 8_000_000
            let begin = max(now, tokensAt)
            let available = min(Double(profile.bucketBytes), tokens + Double(Self.nanos(begin - tokensAt)) * bytesPerNano)
            let missing = Double(bytes) - available
            departure = missing > 0 ? begin + .nanoseconds(Int64((missing / bytesPerNano).rounded(.up))) : begin
            if departure - now > profile.queueLimit {
                counters.droppedByQueue += 1
                return nil
            }
            tokens = max(0, available - Double(bytes))
            tokensAt = departure
        }
        var arrival = departure + profile.delay
        if profile.jitter > .zero {
            let spread = Self.nanos(profile.jitter)
            let offset = Int64((jitterRandom.unit() * 2 - 1) * Double(spread))
            arrival = max(departure, arrival + .nanoseconds(offset))
        }
        if profile.reorder > 0, reorderRandom.unit() < profile.reorder {
            arrival += profile.reorderDelay
            counters.reordered += 1
        }
        if arrival > now { counters.delayed += 1 }
        return arrival
    }

    // MARK: Burst schedule

    /// True inside a burst window (everything dropped).
    public func isInBurst(_ now: ContinuousClock.Instant) -> Bool {
        guard let burst = profile.burst, now >= start else { return false }
        let period = Self.nanos(burst.period)
        let phase = Self.nanos(now - start) % period
        return phase >= period - Self.nanos(burst.length)
    }

    /// Every burst window that starts by `end` (window k ends at `start + (k+1)·period`).
    public func burstWindows(through end: ContinuousClock.Instant) -> [Range<ContinuousClock.Instant>] {
        guard let burst = profile.burst else { return [] }
        var windows: [Range<ContinuousClock.Instant>] = []
        var windowEnd = start + burst.period
        while windowEnd - burst.length <= end {
            windows.append((windowEnd - burst.length)..<windowEnd)
            windowEnd += burst.period
        }
        return windows
    }

    /// One generator per feature, so switching one feature on does not change what another picks.
    private static func stream(_ seed: UInt64, _ salt: UInt64) -> SplitMix64 {
        SplitMix64(seed: seed &+ salt &* 0xD1B5_4A32_D192_ED03)
    }

    static func nanos(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds &* 1_000_000_000 &+ attoseconds / 1_000_000_000
    }
}

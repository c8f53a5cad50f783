/// How CallsClient waits between attempts of a call that failed with a retryable CallsError:
/// exponential backoff (50 ms doubling to 1 s by default) until the summed waits would exceed
/// `totalBudget` (~15 s) or `maxAttempts` is reached.
///
/// The budget counts the waits only, not the time the requests themselves took (each request has
/// its own timeout), so a schedule is exact and the same in tests and production.
public struct RetryPolicy: Sendable, Equatable {
    public var initialDelay: Duration
    public var multiplier: Double
    public var maxDelay: Duration
    public var totalBudget: Duration
    /// nil: no limit besides the budget. 1 means no retries at all.
    public var maxAttempts: Int?
    /// 0…1: each wait is shortened by up to this fraction, chosen by a generator seeded with
    /// `jitterSeed` (so a test sees the same waits every run). nil seed: a random seed.
    public var jitter: Double
    public var jitterSeed: UInt64?
    /// Attempts in a row that could not even connect (refused, unreachable) before giving up:
    /// that is a wrong `relay.calls_base_url` or no network far more often than a Calls hiccup,
    /// and the guest waiting for its WHIP answer should hear so in a fraction of a second.
    public var maxUnreachableAttempts: Int

    public init(initialDelay: Duration = .milliseconds(50), multiplier: Double = 2, maxDelay: Duration = .seconds(1),
                totalBudget: Duration = .seconds(15), maxAttempts: Int? = nil, jitter: Double = 0,
                jitterSeed: UInt64? = nil, maxUnreachableAttempts: Int = 3) {
        self.maxUnreachableAttempts = maxUnreachableAttempts
        self.initialDelay = initialDelay
        self.multiplier = multiplier
        self.maxDelay = maxDelay
        self.totalBudget = totalBudget
        self.maxAttempts = maxAttempts
        self.jitter = jitter
        self.jitterSeed = jitterSeed
    }

    public static let `default` = RetryPolicy()
    /// Never retry: the first error is thrown.
    public static let none = RetryPolicy(maxAttempts: 1)

    public func makeSchedule() -> RetrySchedule { RetrySchedule(policy: self) }
}

/// The state of one call's retries (sans-IO: it only says how long to wait, the caller waits).
public struct RetrySchedule: Sendable {
    public let policy: RetryPolicy
    public private(set) var attempts = 0
    public private(set) var waited: Duration = .zero
    private var nextBase: Duration
    private var random: SplitMix64

    public init(policy: RetryPolicy) {
        self.policy = policy
        self.nextBase = policy.initialDelay
        var system = SystemRandomNumberGenerator()
        self.random = SplitMix64(seed: policy.jitterSeed ?? system.next())
    }

    /// Records a failed attempt; returns how long to wait before the next one, or nil when the
    /// policy says give up.
    public mutating func nextDelay() -> Duration? {
        attempts += 1
        if let max = policy.maxAttempts, attempts >= max { return nil }
        var delay = min(nextBase, policy.maxDelay)
        if policy.jitter > 0 {
            let fraction = min(max(policy.jitter, 0), 1) * Double(random.next() >> 11) / Double(1 << 53)
            delay = delay * (1 - fraction)
        }
        guard waited + delay <= policy.totalBudget else { return nil }
        waited += delay
        nextBase = min(nextBase * max(policy.multiplier, 1), policy.maxDelay)
        return delay
    }
}

/// How CallsClient waits; tests pass one that records and returns at once.
public typealias CallsSleep = @Sendable (Duration) async throws -> Void

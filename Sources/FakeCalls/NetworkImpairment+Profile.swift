import Foundation

/// What a `NetworkImpairment` does, and its spec string for the command line:
/// `loss=5%,burst=300ms/3s,reorder=10%/20ms,dup=2%,delay=20ms,jitter=50ms,rate=500kbit,queue=500ms,seed=1`.
extension NetworkImpairment {
    public struct Profile: Sendable, Equatable, CustomStringConvertible {
        /// "Drop everything for `length` every `period`".
        public struct Burst: Sendable, Equatable {
            public var length: Duration
            public var period: Duration

            public init(length: Duration, period: Duration) {
                self.length = length
                self.period = period
            }
        }

        /// Probability (0…1) that a datagram is lost.
        public var loss: Double = 0
        public var burst: Burst?
        /// Probability (0…1) that a copy gets `reorderDelay` on top of its delay.
        public var reorder: Double = 0
        public var reorderDelay: Duration = .milliseconds(20)
        /// Probability (0…1) that a datagram is sent twice.
        public var duplicate: Double = 0
        public var delay: Duration = .zero
        /// Uniform ± around `delay` (never making a copy leave before it was sent).
        public var jitter: Duration = .zero
        /// Rate cap in kbit/s (1000 bit/s); nil: none.
        public var rateKbps: Int?
        /// With a rate cap: the longest a copy may wait in the queue before it is tail-dropped.
        public var queueLimit: Duration = .milliseconds(500)
        public var seed: UInt64 = 1

        public init(loss: Double = 0, burst: Burst? = nil, reorder: Double = 0, reorderDelay: Duration = .milliseconds(20),
                    duplicate: Double = 0, delay: Duration = .zero, jitter: Duration = .zero, rateKbps: Int? = nil,
                    queueLimit: Duration = .milliseconds(500), seed: UInt64 = 1) {
            self.loss = loss
            self.burst = burst
            self.reorder = reorder
            self.reorderDelay = reorderDelay
            self.duplicate = duplicate
            self.delay = delay
            self.jitter = jitter
            self.rateKbps = rateKbps
            self.queueLimit = queueLimit
            self.seed = seed
        }

        /// The token bucket's depth: one full-size datagram, or 5 ms at the rate if more.
        public var bucketBytes: Int { max(1500, (rateKbps ?? 0) * 5 / 8) }

        /// True when it changes nothing (no datagram is dropped, duplicated or delayed).
        public var isTransparent: Bool {
            loss == 0 && burst == nil && reorder == 0 && duplicate == 0 && delay == .zero && jitter == .zero && rateKbps == nil
        }

        /// The spec string this profile parses from (canonical: only what differs from "none").
        public var description: String {
            var items: [String] = []
            if loss > 0 { items.append("loss=\(Self.percent(loss))") }
            if let burst { items.append("burst=\(Self.format(burst.length))/\(Self.format(burst.period))") }
            if reorder > 0 { items.append("reorder=\(Self.percent(reorder))/\(Self.format(reorderDelay))") }
            if duplicate > 0 { items.append("dup=\(Self.percent(duplicate))") }
            if delay > .zero { items.append("delay=\(Self.format(delay))") }
            if jitter > .zero { items.append("jitter=\(Self.format(jitter))") }
            if let rateKbps { items.append("rate=\(rateKbps)kbit,queue=\(Self.format(queueLimit))") }
            if items.isEmpty { return "none" }
            items.append("seed=\(seed)")
            return items.joined(separator: ",")
        }
    }

    /// A spec string that cannot be used, with what to write instead.
    public struct SpecError: Error, CustomStringConvertible, Equatable {
        public var description: String
    }
}

// MARK: Parsing

extension NetworkImpairment.Profile {
    static let keys = ["loss", "burst", "reorder", "dup", "delay", "jitter", "rate", "queue", "seed"]
    static let example = "loss=5%,burst=300ms/3s,reorder=10%/20ms,dup=2%,delay=20ms,jitter=50ms,rate=500kbit,queue=500ms,seed=1"

    /// Parses `key=value` items separated by commas (see `example`); "none" or "" is no impairment.
    /// Percentages need `%`; durations `us`, `ms` or `s`; rates `bit`, `kbit` or `mbit` (per second).
    public static func parse(_ spec: String) throws(NetworkImpairment.SpecError) -> Self {
        var profile = Self()
        let trimmed = spec.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty || trimmed.lowercased() == "none" { return profile }
        var seen = Set<String>()
        for item in trimmed.split(separator: ",", omittingEmptySubsequences: false) {
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = parts[0].trimmingCharacters(in: .whitespaces).lowercased()
            guard parts.count == 2, !key.isEmpty else {
                throw fail(spec, "'\(item)' is not key=value (write e.g. \(example))")
            }
            let value = parts[1].trimmingCharacters(in: .whitespaces)
            let name = key == "duplicate" ? "dup" : key
            guard keys.contains(name) else {
                throw fail(spec, "unknown impairment '\(key)' (known: \(keys.joined(separator: ", ")))")
            }
            guard seen.insert(name).inserted else { throw fail(spec, "'\(name)' is given twice") }
            switch name {
            case "loss": profile.loss = try percentage(value, key: name, spec: spec)
            case "dup": profile.duplicate = try percentage(value, key: name, spec: spec)
            case "delay": profile.delay = try duration(value, key: name, spec: spec)
            case "jitter": profile.jitter = try duration(value, key: name, spec: spec)
            case "queue":
                profile.queueLimit = try duration(value, key: name, spec: spec)
                guard profile.queueLimit > .zero else { throw fail(spec, "queue must be longer than 0 ms") }
            case "reorder":
                let pieces = value.split(separator: "/", omittingEmptySubsequences: false)
                guard pieces.count <= 2 else { throw fail(spec, "reorder=\(value): write reorder=10% or reorder=10%/20ms") }
                profile.reorder = try percentage(String(pieces[0]), key: name, spec: spec)
                if pieces.count == 2 { profile.reorderDelay = try duration(String(pieces[1]), key: "reorder's delay", spec: spec) }
                guard profile.reorderDelay > .zero else { throw fail(spec, "reorder's extra delay must be longer than 0 ms") }
            case "burst":
                let pieces = value.split(separator: "/", omittingEmptySubsequences: false)
                guard pieces.count == 2 else {
                    throw fail(spec, "burst=\(value): write burst=LENGTH/PERIOD, e.g. burst=300ms/3s (drop everything for 300 ms every 3 s)")
                }
                let burst = Burst(length: try duration(String(pieces[0]), key: "burst length", spec: spec),
                                  period: try duration(String(pieces[1]), key: "burst period", spec: spec))
                guard burst.length > .zero, burst.length < burst.period else {
                    throw fail(spec, "burst=\(value): the length must be more than 0 and less than the period")
                }
                profile.burst = burst
            case "rate": profile.rateKbps = try rate(value, spec: spec)
            case "seed":
                guard let seed = UInt64(value) else { throw fail(spec, "seed=\(value): write a whole number, e.g. seed=1") }
                profile.seed = seed
            default:
                break
            }
        }
        if seen.contains("queue") && profile.rateKbps == nil { throw fail(spec, "queue only applies with a rate cap (add e.g. rate=500kbit)") }
        return profile
    }

    private static func fail(_ spec: String, _ reason: String) -> NetworkImpairment.SpecError {
        NetworkImpairment.SpecError(description: "impairment spec '\(spec)': \(reason)")
    }

    /// "5%" → 0.05 (0…100 %).
    private static func percentage(_ text: String, key: String, spec: String) throws(NetworkImpairment.SpecError) -> Double {
        guard text.hasSuffix("%"), let value = Double(text.dropLast().trimmingCharacters(in: .whitespaces)), value.isFinite else {
            throw fail(spec, "\(key)=\(text): write a percentage with %, e.g. \(key)=5%")
        }
        guard (0...100).contains(value) else { throw fail(spec, "\(key)=\(text): a percentage is 0…100 %") }
        return value / 100
    }

    /// "300ms", "3s", "1.5s", "500us" (at most an hour).
    private static func duration(_ text: String, key: String, spec: String) throws(NetworkImpairment.SpecError) -> Duration {
        let units: [(suffix: String, nanos: Double)] = [("us", 1e3), ("ms", 1e6), ("s", 1e9)]
        for unit in units where text.hasSuffix(unit.suffix) {
            let number = text.dropLast(unit.suffix.count).trimmingCharacters(in: .whitespaces)
            guard let value = Double(number), value.isFinite, value >= 0 else { break }
            let nanos = value * unit.nanos
            guard nanos <= 3600e9 else { throw fail(spec, "\(key)=\(text): at most 3600 s") }
            return .nanoseconds(Int64(nanos.rounded()))
        }
        throw fail(spec, "\(key)=\(text): write a duration with its unit, e.g. 50ms or 3s")
    }

    /// "500kbit", "2mbit", "64000bit" → kbit/s.
    private static func rate(_ text: String, spec: String) throws(NetworkImpairment.SpecError) -> Int {
        let lowered = text.lowercased()
        let units: [(suffix: String, kbit: Double)] = [("kbit", 1), ("mbit", 1000), ("bit", 0.001)]
        for unit in units where lowered.hasSuffix(unit.suffix) {
            guard let value = Double(lowered.dropLast(unit.suffix.count).trimmingCharacters(in: .whitespaces)),
                  value.isFinite else { break }
            let kbit = (value * unit.kbit).rounded()
            guard kbit >= 8, kbit <= 10_000_000 else { throw fail(spec, "rate=\(text): must be 8 kbit … 10000 mbit") }
            return Int(kbit)
        }
        throw fail(spec, "rate=\(text): write a rate with its unit, e.g. rate=500kbit or rate=2mbit")
    }

    private static func percent(_ fraction: Double) -> String {
        let value = fraction * 100
        return value == value.rounded() ? "\(Int(value))%" : "\(value)%"
    }

    static func format(_ duration: Duration) -> String {
        let nanos = NetworkImpairment.nanos(duration)
        if nanos % 1_000_000_000 == 0 { return "\(nanos / 1_000_000_000)s" }
        if nanos % 1_000_000 == 0 { return "\(nanos / 1_000_000)ms" }
        return "\(nanos / 1000)us"
    }
}

import Histogram

/// Latencies in microseconds, kept in an HdrHistogram (3 significant digits, up to 60 s), so
/// p50/p99 come from every sample without sorting arrays of them.
struct LatencyHistogram {
    private var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)

    var count: Int { Int(histogram.totalCount) }

    mutating func record(seconds: Double) {
        _ = histogram.record(UInt64(Swift.max(0, seconds * 1e6).rounded()))
    }

    /// In milliseconds.
    func percentile(_ p: Double) -> Double { Double(histogram.valueAtPercentile(p)) / 1000 }
    var p50: Double { percentile(50) }
    var p99: Double { percentile(99) }
    var max: Double { Double(histogram.max) / 1000 }
}

import Foundation
import Prometheus

/// relayd's Prometheus metrics, served at `GET /metrics` (text exposition 0.0.4), kept in a
/// swift-prometheus `PrometheusCollectorRegistry` owned by this object — one per RelayServer,
/// not the process-global swift-metrics bootstrap, so tests and the demo can run several.
///
/// Events (WHIP requests, Calls API requests) are counted as they happen. Per-guest figures
/// are read from the relays when scraped: they are copies of counters the media and RTMP
/// threads keep anyway, so nothing is counted twice on the hot path.
public final class RelayMetrics: Sendable {
    public static let path = "/metrics"
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Every state a guest can be in, emitted even at 0 so dashboards see the series.
    static let guestStates = GuestRelayLifecycle.State.allCases.map(\.rawValue)

    public let registry = PrometheusCollectorRegistry()
    /// `relay.admin_token`: when set, a scrape needs `Authorization: Bearer <it>`.
    let adminToken: String?
    /// Serializes scrapes: each rewrites the per-guest series before emitting them.
    private let scrapeLock = NSLock()
    /// guest id → its series; touched only under `scrapeLock`.
    private let guestSeries = LockedGuestSeries()

    public init(processStart: Date = RelayMetrics.processStartTime(), adminToken: String? = nil) {
        self.adminToken = adminToken
        let start = registry.makeGauge(descriptor: Self.descriptor(
            "process_start_time_seconds", "Start time of the process since the Unix epoch, in seconds."))
        start.set(processStart.timeIntervalSince1970)
        // Created up front so the families (and their TYPE lines) exist before the first request.
        _ = registry.makeCounter(descriptor: Self.whipRequests, labels: [("method", "POST"), ("status", "201")])
        _ = registry.makeCounter(descriptor: Self.callsRequests, labels: [("operation", "new_session"), ("outcome", "ok")])
    }

    // Computed: MetricNameDescriptor is not Sendable, so it cannot be a static constant.
    static var whipRequests: MetricNameDescriptor {
        descriptor("relayd_whip_requests_total",
                   "Requests to the WHIP endpoint (/api/calls/whip, /api/calls/session), by method and response status.")
    }
    static var callsRequests: MetricNameDescriptor {
        descriptor("relayd_calls_api_requests_total",
                   "Requests relayd made to the Cloudflare Calls API, by operation and outcome (ok, client_error, server_error, timeout, transport_error).")
    }
    static var guestsByState: MetricNameDescriptor {
        descriptor("relayd_guests", "Guests known to relayd, by relay state (publishing: answered, relay not started yet).")
    }

    /// A full metric name (no namespace/unit pieces: the names are spelled out where they are defined).
    static func descriptor(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    /// One answered request under the WHIP paths.
    public func recordWHIP(method: String, status: Int) {
        registry.makeCounter(descriptor: Self.whipRequests,
                             labels: [("method", Self.knownMethod(method)), ("status", String(status))]).increment()
    }

    /// Counts `response` when `request` went to the WHIP endpoint (its POST/DELETE/PATCH/OPTIONS paths).
    public func observe(_ request: HTTPRequest, _ response: HTTPResponse) {
        if request.path.hasPrefix(WHIPEndpoint.whipPrefix) || request.path.hasPrefix(WHIPEndpoint.seedSessionPrefix) {
            recordWHIP(method: request.method, status: response.status)
        }
    }

    /// One request to the Calls API.
    public func recordCallsRequest(operation: String, outcome: String) {
        registry.makeCounter(descriptor: Self.callsRequests, labels: [("operation", operation), ("outcome", outcome)]).increment()
    }

    /// Brings the per-guest series up to date with `guests` and returns the whole exposition.
    func exposition(guests: [GuestMetricsSnapshot]) -> String {
        scrapeLock.withLock {
            var byState = Dictionary(uniqueKeysWithValues: Self.guestStates.map { ($0, 0) })
            for guest in guests { byState[guest.state, default: 0] += 1 }
            for (state, count) in byState {
                registry.makeGauge(descriptor: Self.guestsByState, labels: [("state", state)]).set(Double(count))
            }
            guestSeries.update(guests, registry: registry)
            return registry.emitToString()
        }
    }

    /// Methods outside the WHIP set are folded into one label value (bounded cardinality).
    static func knownMethod(_ method: String) -> String {
        ["GET", "POST", "DELETE", "PATCH", "OPTIONS", "HEAD"].contains(method) ? method : "other"
    }

    /// When this process started, from /proc (Linux); now where that cannot be read.
    public static func processStartTime() -> Date {
        guard let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
              let uptime = try? String(contentsOfFile: "/proc/uptime", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return Date() }
        // Field 22 (starttime, in clock ticks since boot); fields after the ")" of comm start at 3.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 19, let ticks = Double(fields[19]),
              let up = uptime.split(separator: " ").first.flatMap({ Double($0) }) else { return Date() }
        let hertz = Double(sysconf(Int32(_SC_CLK_TCK)))
        guard hertz > 0 else { return Date() }
        return Date().addingTimeInterval(ticks / hertz - up)
    }
}

/// What a scrape reads about one guest.
struct GuestMetricsSnapshot: Sendable, Equatable {
    var guestId: String
    var state: String
    var media = GuestMediaCounters()
    var rtcpReceived = 0
    var srtpAuthFailures = 0
    var videoFramesSent = 0
    var audioFramesSent = 0
    var rtmpBytesSent = 0
    var rtmpQueuedBytes = 0
    var rtmpReconnects = 0
}

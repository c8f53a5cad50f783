import FakeCalls
import Foundation
import Relay

/// What starts one guest's join in the setup-latency figure. The clock starts at the instant
/// `start` returns; everything before it (publishing the fixture guest) is preparation.
/// Today relayd is told directly; a WHIP trigger (the instant the guest's POST is received)
/// fits the same shape.
protocol JoinTrigger {
    func start(guestId: String) async throws -> StartedJoin
}

struct StartedJoin {
    var startedAt: ContinuousClock.Instant
    /// Ends the guest (relay and publisher side).
    var end: () async -> Void
}

/// `RelayServer.startRelay(for:)` on a fixture guest already published on FakeCalls: the
/// subscribe → ICE/DTLS/SRTP → first picture → RTMP connect/publish path, without WHIP.
struct DirectRelayStart: JoinTrigger {
    let relay: RelayServer
    let fakes: LoopbackFakes

    func start(guestId: String) async throws -> StartedJoin {
        let guest = LoopbackFakes.guest(guestId, session: try await fakes.publishFixtureGuest())
        let startedAt = ContinuousClock.now
        await relay.startRelay(for: guest)
        return StartedJoin(startedAt: startedAt, end: { [relay] in await relay.endRelay(for: guest) })
    }
}

/// Relay start → first RTMP video frame at FakeMediaMTX, over `joins` sequential joins on
/// loopback (plus one warm-up join not counted). Wall time: this is a latency a guest sees.
enum SetupLatencyFigure {
    static func figures(fakes: LoopbackFakes, joins: Int = 50) async throws -> [Figure] {
        let guestId = "bench-setup"
        let phases = PhaseLog()
        let relay = try RelayServer(config: LoopbackFakes.relayConfig(guests: [guestId], callsBaseURL: fakes.calls.baseURL,
                                                                      rtmpPort: fakes.rtmpPort), logger: phases.logger)
        // Per join: ms spent in each step (the milestones, then the first frame at FakeMediaMTX).
        var breakdowns: [(total: Double, steps: [Double?])] = []
        let trigger: any JoinTrigger = DirectRelayStart(relay: relay, fakes: fakes)
        var latency = LatencyHistogram()
        var samples: [Double] = []
        var failures = 0
        for join in 0...joins {
            var started: StartedJoin?
            phases.reset()
            let first = await fakes.firstVideoFrame(path: guestId, timeout: .seconds(10)) {
                started = try? await trigger.start(guestId: guestId)
            }
            if let started, let first {
                let seconds = Double((first - started.startedAt) / .microseconds(1)) / 1e6
                if join > 0 {
                    latency.record(seconds: seconds)
                    samples.append(seconds * 1000)
                    breakdowns.append((seconds * 1000, steps(from: started.startedAt, through: phases.instants() + [first])))
                }
            } else if join > 0 {
                failures += 1
            }
            await started?.end()
            _ = await fakes.mediamtx.waitUntilGone(path: guestId, timeout: .seconds(5))
        }
        await relay.shutdown()
        let labels = PhaseLog.milestones.map(\.label) + ["first frame at MediaMTX"]
        func describe(_ steps: [Double?]) -> String {
            zip(labels, steps).map { "\($0) +\($1.map { "\(rounded($0, 1))" } ?? "?")" }.joined(separator: ", ")
        }
        let medians = labels.indices.map { index -> Double? in
            let values = breakdowns.compactMap { $0.steps[index] }.sorted()
            return values.isEmpty ? nil : values[values.count / 2]
        }
        let slowest = breakdowns.max { $0.total < $1.total }
        let breakdown = "Median steps (ms): \(describe(medians)). Slowest join \(rounded(slowest?.total ?? 0, 1)) ms: \(describe(slowest?.steps ?? []))."
        let reference = "old system: fixed 2000 ms sleep"
        let note = "\(latency.count) joins on loopback (+1 warm-up), \(failures) without a first frame in 10 s; start = RelayServer.startRelay(for:) on a published fixture guest (320x240 H.264 + Opus), end = FakeMediaMTX's ingest counting the first AVC NALU tag. Wall time; \(samples.filter { $0 > 100 }.count) of \(samples.count) joins took over 100 ms, the slowest \(samples.sorted().suffix(3).reversed().map { "\(rounded($0, 1))" }.joined(separator: ", ")) ms. \(breakdown) The old system slept 2 s before it even subscribed (≈7 s to the first frame in total)."
        return [
            Figure("setup latency p50 (relay start → first RTMP video frame)", value: rounded(latency.p50, 1), unit: "ms",
                   reference: reference, goal: "—", met: failures == 0 && latency.count > 0),
            Figure("setup latency p99", value: rounded(latency.p99, 1), unit: "ms", reference: reference, goal: "< 300 ms",
                   met: failures == 0 && latency.count > 0 && latency.p99 < 300, note: note),
        ]
    }
}

/// Milliseconds between consecutive instants, starting from `start`; a missing instant makes
/// its step (and the next) unknown.
private func steps(from start: ContinuousClock.Instant, through instants: [ContinuousClock.Instant?]) -> [Double?] {
    var previous: ContinuousClock.Instant? = start
    return instants.map { instant in
        defer { previous = instant }
        guard let instant, let previous else { return nil }
        return Double((instant - previous) / .microseconds(1)) / 1000
    }
}

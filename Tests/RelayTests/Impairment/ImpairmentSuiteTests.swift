@testable import FakeCalls
import Foundation
import Testing

/// Issue 8's impairment suite: the whole chain (WHIP POST of the recorded Chromium H.264 offer →
/// relayd → FakeCalls in fixture mode playing the real recording over UDP/DTLS/SRTP →
/// FakeMediaMTX) with FakeCalls' media socket impaired in-process (`NetworkImpairment`, both
/// directions, so the relay's NACKs and PLIs can be lost too). One rig per case, all at once.
///
/// H.264 is passed through, so "decodable" is exact: ffmpeg decodes what FakeMediaMTX recorded.
/// The table goes to stdout and out/test-artifacts/impairment.txt. Linux `tc netem` inside a
/// network namespace is not part of it: this machine's kernel has no sch_netem.
@Suite struct ImpairmentSuiteTests {
    static let cases: [ImpairmentCase] = [
        ImpairmentCase("baseline", nil),
        ImpairmentCase("loss 2%", "loss=2%,seed=2"),
        // Twice as long: one loss NACKs cannot repair costs a PLI round and ~6 frames, which in
        // 8 s would be 4 % on its own.
        ImpairmentCase("loss 5%", "loss=5%,seed=5", frames: 320),
        ImpairmentCase("loss 10%", "loss=10%,seed=10"),
        // From the first frame: from the start, DTLS's retransmission backoff (1 s, 2 s, 4 s, 8 s)
        // makes the handshake alone take 15–17 s at 20 % loss each way.
        ImpairmentCase("loss 20%", "loss=20%,seed=20", onset: .fromFirstFrame),
        // Timed from the first frame relayed: windows at 1.9–2.2 s, 4.1–4.4 s, 6.3–6.6 s of 8 s.
        ImpairmentCase("burst", "burst=300ms/2200ms", onset: .fromFirstFrame),
        ImpairmentCase("reorder 10%", "reorder=10%/30ms,seed=3"),
        ImpairmentCase("dup 5%", "dup=5%,seed=4"),
        ImpairmentCase("jitter 50ms", "delay=50ms,jitter=50ms,seed=6"),
        ImpairmentCase("rate 500kbit", "rate=500kbit"),
    ]

    @Test func relayingUnderImpairment() async throws {
        let catalog = try FixtureCatalog(directory: FixturePaths.url("rtp").path)
        try #require(catalog.recordings.contains { $0.name == "chromium-h264-opus" }, "Fixtures/rtp/chromium-h264-opus is missing")
        let started = ContinuousClock.now
        // IMPAIRMENT_CASES="burst,loss 5%" runs only those (while investigating one);
        // IMPAIRMENT_KEEP=1 keeps each case's recording and prints where.
        let only = ProcessInfo.processInfo.environment["IMPAIRMENT_CASES"].map { Set($0.split(separator: ",").map(String.init)) }
        let keep = ProcessInfo.processInfo.environment["IMPAIRMENT_KEEP"] == "1"
        let rigs = try Self.cases.filter { only?.contains($0.name) ?? true }.map { try ImpairmentRig($0, catalog: catalog) }
        let outcomes = await Self.decoded(Self.runAll(rigs))
        for rig in rigs {
            if keep { print("\(rig.testCase.name): kept \(rig.directory.path)") } else { try? FileManager.default.removeItem(at: rig.directory) }
        }
        let wall = ImpairmentRig.seconds(ContinuousClock.now - started)

        let table = Self.table(outcomes, wallSeconds: wall)
        print(table)
        let artifacts = FixturePaths.root.deletingLastPathComponent().appendingPathComponent("out/test-artifacts")
        try FileManager.default.createDirectory(at: artifacts, withIntermediateDirectories: true)
        try table.write(to: artifacts.appendingPathComponent("impairment.txt"), atomically: true, encoding: .utf8)

        for outcome in outcomes {
            let name = outcome.name
            #expect(outcome.failure == nil, "\(name): \(outcome.failure ?? "")")
            guard outcome.failure == nil else { continue }
            // Never an undecodable frame out: the DecodabilityGate drops damaged pictures.
            #expect(outcome.decodeErrors.isEmpty, "\(name): ffmpeg said \(outcome.decodeErrors.prefix(5))")
            #expect(outcome.framesDecoded == outcome.framesDelivered, "\(name): decoded \(outcome.framesDecoded) of \(outcome.framesDelivered)")
            #expect(outcome.framesSent >= (Self.cases.first { $0.name == name }?.frames ?? 0))
            #expect(outcome.framesDelivered > 0, "\(name): nothing delivered")
            #expect(outcome.framesDelivered <= outcome.framesSent + 2, "\(name): more frames out than in")
            // Nothing leaks: the guest's Calls sessions are closed and relayd forgot the guest.
            #expect(outcome.callsSessionsLeft == 0, "\(name): \(outcome.callsSessionsLeft) Calls sessions left")
            #expect(outcome.relaysLeft == 0, "\(name): \(outcome.relaysLeft) relays left")
            #expect(outcome.deliveredRatio >= Self.minimumDelivered[name, default: 0.5],
                    "\(name): \(outcome.framesDelivered) of \(outcome.framesSent) frames delivered")
        }
        if let baseline = outcomes.first(where: { $0.name == "baseline" }), baseline.failure == nil {
            #expect(baseline.freezes == 0, "baseline froze \(baseline.freezes) times (longest gap \(baseline.longestGapMs) ms)")
            #expect(baseline.datagramsDropped == 0)
        }
        if let loss = outcomes.first(where: { $0.name == "loss 5%" }), loss.failure == nil {
            #expect(loss.decodableRatio >= 0.99)
            #expect(loss.nacksSent > 0, "retransmission is what keeps 5 % loss invisible")
        }
        if let burst = outcomes.first(where: { $0.name == "burst" }), burst.failure == nil {
            #expect(burst.burstsDuringMedia == 3)
            #expect(burst.recoveriesMs.count == burst.burstsDuringMedia, "one freeze per burst: \(burst.recoveriesMs)")
            #expect(burst.recoveriesMs.allSatisfy { $0 <= Self.maximumRecoveryMs }, "recovery after a burst: \(burst.recoveriesMs) ms")
        }
    }

    /// Share of the frames FakeCalls sent that must reach FakeMediaMTX, per case (calibrated from
    /// measured runs with a wide margin for a loaded 2-core machine; see the report).
    static let minimumDelivered: [String: Double] = [
        "baseline": 0.98,
        "loss 2%": 0.95,
        "loss 5%": 0.95,
        "loss 10%": 0.80,
        "loss 20%": 0.50,
        "burst": 0.80,
        "reorder 10%": 0.95,
        "dup 5%": 0.98,
        "jitter 50ms": 0.85,
        "rate 500kbit": 0.95,
    ]
    /// Burst end → next frame at FakeMediaMTX, at most. relayd NACKs the whole outage once the
    /// path is back and FakeCalls still has it cached (measured 15–94 ms); a PLI round (300 ms
    /// apart) and a keyframe's trip would take longer.
    static let maximumRecoveryMs = 1000

    /// Cases relayed at once. Each rig is real-time media (relayd's jitter buffer waits tens of
    /// milliseconds for a retransmission): more at once on two busy cores measures the CPU
    /// shortage, not the network.
    static let maximumConcurrentRigs = 5

    static func runAll(_ rigs: [ImpairmentRig]) async -> [ImpairmentOutcome] {
        await withTaskGroup(of: (Int, ImpairmentOutcome).self) { group in
            var outcomes = [ImpairmentOutcome?](repeating: nil, count: rigs.count)
            for (index, rig) in rigs.enumerated() {
                if index >= maximumConcurrentRigs, let (done, outcome) = await group.next() { outcomes[done] = outcome }
                group.addTask { (index, await rig.run(frames: rig.testCase.frames)) }
            }
            for await (index, outcome) in group { outcomes[index] = outcome }
            return outcomes.compactMap { $0 }
        }
    }

    /// ffmpeg over every recording, in parallel, off Swift's cooperative pool (it blocks).
    static func decoded(_ outcomes: [ImpairmentOutcome]) async -> [ImpairmentOutcome] {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                let results = Results(outcomes)
                DispatchQueue.concurrentPerform(iterations: outcomes.count) { index in
                    var outcome = outcomes[index]
                    if let flv = outcome.flv {
                        do { try ImpairmentRig.decode(flv: flv, into: &outcome) } catch {
                            outcome.decodeErrors.append("cannot run ffmpeg: \(error)")
                        }
                    }
                    results.set(index, outcome)
                }
                continuation.resume(returning: results.all)
            }
        }
    }

    /// `@unchecked Sendable`: `lock` guards `values`.
    final class Results: @unchecked Sendable {
        private let lock = NSLock()
        private var values: [ImpairmentOutcome]
        init(_ values: [ImpairmentOutcome]) { self.values = values }
        func set(_ index: Int, _ value: ImpairmentOutcome) { lock.withLock { values[index] = value } }
        var all: [ImpairmentOutcome] { lock.withLock { values } }
    }

    static func table(_ outcomes: [ImpairmentOutcome], wallSeconds: Double) -> String {
        func pad(_ text: String, _ width: Int) -> String {
            text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
        }
        func percent(_ value: Double) -> String { String(format: "%.1f%%", value * 100) }
        let header = ["case", "sent", "delivered", "decodable", "freezes", "longest gap", "live gap", "recovery", "NACKs", "PLIs",
                      "dropped", "dup", "delayed", "setup"]
        let widths = [14, 6, 13, 13, 8, 12, 12, 16, 6, 5, 8, 5, 8, 8]
        var lines = [
            "Impairment suite: WHIP → relayd → FakeCalls (fixture mode, chromium-h264-opus, passthrough) → FakeMediaMTX",
            "FakeCalls' media socket impaired in-process (NetworkImpairment, both directions). Linux tc netem in a network",
            "namespace: not run (this kernel has no sch_netem). Frames per case: see sent; \(maximumConcurrentRigs) cases at a time.",
            "freezes: gaps > 200 ms between output video timestamps (frames lost); longest gap: the largest of those gaps;",
            "live gap: longest wall-clock gap between frames reaching FakeMediaMTX (late frames too); recovery: burst end →",
            "next frame at FakeMediaMTX; NACKs: packets NACKed by relayd; dropped/dup/delayed: datagrams, both directions.",
            "",
            zip(header, widths).map { pad($0, $1) }.joined(separator: " "),
        ]
        for outcome in outcomes {
            if let failure = outcome.failure {
                lines.append(pad(outcome.name, widths[0]) + " FAILED: \(failure)")
                continue
            }
            let row = [
                outcome.name,
                "\(outcome.framesSent)",
                "\(outcome.framesDelivered) \(percent(outcome.deliveredRatio))",
                "\(outcome.framesDecodable) \(percent(outcome.decodableRatio))",
                "\(outcome.freezes)",
                "\(outcome.longestGapMs) ms",
                "\(outcome.longestWallGapMs) ms",
                outcome.recoveriesMs.isEmpty ? "-" : outcome.recoveriesMs.map(String.init).joined(separator: ",") + " ms",
                "\(outcome.nacksSent)",
                "\(outcome.plisSent)",
                "\(outcome.datagramsDropped)",
                "\(outcome.datagramsDuplicated)",
                "\(outcome.datagramsDelayed)",
                outcome.setupMs.map { String(format: "%.0f ms", $0) } ?? "-",
            ]
            lines.append(zip(row, widths).map { pad($0, $1) }.joined(separator: " "))
        }
        lines.append("")
        lines.append("specs: " + outcomes.map { "\($0.name): \($0.spec)" }.joined(separator: "; "))
        lines.append(String(format: "wall time %.1f s (cases run concurrently; slowest case %.1f s)", wallSeconds,
                            outcomes.map(\.wallSeconds).max() ?? 0))
        return lines.joined(separator: "\n") + "\n"
    }
}

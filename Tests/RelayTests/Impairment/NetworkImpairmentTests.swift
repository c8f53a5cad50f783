@testable import FakeCalls
import Testing

/// The netem-like model on its own: seeded runs of plain values, no sockets or clocks.
@Suite struct NetworkImpairmentTests {
    typealias Profile = NetworkImpairment.Profile
    let t0 = ContinuousClock.now

    /// Offers `count` datagrams of `bytes`, one every `interval`; returns each decision with its offer time.
    func run(_ profile: Profile, count: Int, interval: Duration = .milliseconds(1), bytes: Int = 1200)
        -> (decisions: [(at: ContinuousClock.Instant, decision: NetworkImpairment.Decision)], model: NetworkImpairment)
    {
        var model = NetworkImpairment(profile: profile, start: t0)
        var out: [(ContinuousClock.Instant, NetworkImpairment.Decision)] = []
        out.reserveCapacity(count)
        for index in 0..<count {
            let at = t0 + interval * index
            out.append((at, model.decide(bytes: bytes, now: at)))
        }
        return (out, model)
    }

    @Test(arguments: [0.02, 0.05, 0.10, 0.20])
    func measuredLossRateIsTheConfiguredOne(loss: Double) {
        let (decisions, model) = run(Profile(loss: loss, seed: 7), count: 100_000)
        let dropped = decisions.filter { $0.decision.dropped == .loss }.count
        // σ = √(p(1−p)/n) ≤ 0.13 %: ±0.5 % is more than 3.8 σ (and the run is seeded anyway).
        #expect(abs(Double(dropped) / 100_000 - loss) < 0.005, "measured \(Double(dropped) / 1000) %")
        #expect(model.counters.droppedByLoss == dropped && model.counters.offered == 100_000)
        // Delivered datagrams leave at once: no delay was asked for.
        #expect(decisions.allSatisfy { $0.decision.first == nil || $0.decision.first == $0.at })
    }

    @Test func lossIsIndependentOfTheOtherFeatures() {
        let plain = run(Profile(loss: 0.05, seed: 3), count: 5000).decisions.map { $0.decision.first == nil }
        let busy = run(Profile(loss: 0.05, reorder: 0.1, duplicate: 0.05, jitter: .milliseconds(10), seed: 3), count: 5000)
            .decisions.map { $0.decision.first == nil }
        #expect(plain == busy, "the same datagrams are lost whatever else is on")
        let other = run(Profile(loss: 0.05, seed: 4), count: 5000).decisions.map { $0.decision.first == nil }
        #expect(plain != other, "another seed loses other datagrams")
    }

    @Test func burstsDropEverythingInTheirWindowAndNothingOutside() {
        let profile = Profile(burst: .init(length: .milliseconds(300), period: .seconds(3)))
        let (decisions, model) = run(profile, count: 10_000)  // 10 s, one per ms
        let windows = model.burstWindows(through: t0 + .seconds(10))
        #expect(windows == [
            (t0 + .milliseconds(2700))..<(t0 + .seconds(3)),
            (t0 + .milliseconds(5700))..<(t0 + .seconds(6)),
            (t0 + .milliseconds(8700))..<(t0 + .seconds(9)),
        ])
        for (at, decision) in decisions {
            let inside = windows.contains { $0.contains(at) }
            #expect((decision.dropped == .burst) == inside, "at \(at - t0)")
            #expect(inside || decision.first == at)
        }
        #expect(model.counters.droppedByBurst == 900)
    }

    @Test func rateCapSpacesDatagramsAtTheRate() {
        // 500 kbit/s: a 1250-byte datagram (10 kbit) takes 20 ms on the wire.
        var model = NetworkImpairment(profile: Profile(rateKbps: 500, queueLimit: .seconds(1)), start: t0)
        let releases = (0..<20).compactMap { _ in model.decide(bytes: 1250, now: t0).first }
        #expect(releases.count == 20)
        // The first fits in the bucket (1500 bytes); each further one waits for 1250 bytes of tokens.
        #expect(releases[0] == t0)
        for index in 1..<20 {
            let gap = releases[index] - releases[index - 1]
            let expected: Duration = index == 1 ? .milliseconds(16) : .milliseconds(20)  // 250 bytes were left over
            #expect(abs(NetworkImpairment.nanos(gap - expected)) < 1000, "gap \(index): \(gap)")
        }
        // Once idle, the bucket refills: the next datagram goes at once.
        let later = releases[19] + .seconds(1)
        #expect(model.decide(bytes: 1250, now: later).first == later)
    }

    @Test func rateCapTailDropsWhenTheQueueIsFull() {
        var model = NetworkImpairment(profile: Profile(rateKbps: 500, queueLimit: .milliseconds(100)), start: t0)
        let decisions = (0..<20).map { _ in model.decide(bytes: 1250, now: t0) }
        let passed = decisions.compactMap(\.first)
        // 0, 16, 36, 56, 76, 96 ms fit in a 100 ms queue; the rest are tail-dropped.
        #expect(passed.count == 6)
        #expect(passed.allSatisfy { $0 - t0 <= .milliseconds(100) })
        #expect(decisions.dropFirst(6).allSatisfy { $0.dropped == .queue })
        #expect(model.counters.droppedByQueue == 14)
        // A sender under the rate never queues for long and loses nothing.
        var steady = NetworkImpairment(profile: Profile(rateKbps: 500, queueLimit: .milliseconds(100)), start: t0)
        for index in 0..<1000 {
            let at = t0 + .milliseconds(25 * index)  // 1250 bytes / 25 ms = 400 kbit/s
            #expect(steady.decide(bytes: 1250, now: at).first == at)
        }
    }

    @Test func jitterStaysWithinItsBounds() {
        let (decisions, model) = run(Profile(delay: .milliseconds(50), jitter: .milliseconds(50), seed: 11), count: 20_000)
        let delays = decisions.compactMap { pair in pair.decision.first.map { NetworkImpairment.nanos($0 - pair.at) } }
        #expect(delays.count == 20_000)
        #expect(delays.allSatisfy { (0...100_000_000).contains($0) })
        // Uniform over the whole range: both ends are reached, the mean is the delay.
        #expect(delays.min()! < 2_000_000 && delays.max()! > 98_000_000)
        let mean = Double(delays.reduce(0, +)) / Double(delays.count)
        #expect(abs(mean - 50e6) < 1.5e6)
        #expect(model.counters.delayed > 19_900)
        // Jitter wider than the delay never makes a datagram leave before it was sent.
        let clamped = run(Profile(delay: .milliseconds(10), jitter: .milliseconds(50)), count: 2000).decisions
        #expect(clamped.allSatisfy { pair in pair.decision.first.map { $0 >= pair.at && $0 <= pair.at + .milliseconds(60) } ?? false })
    }

    @Test func reorderingDelaysSomeDatagramsPastLaterOnes() {
        let (decisions, model) = run(Profile(reorder: 0.1, reorderDelay: .milliseconds(30), seed: 5), count: 10_000,
                                     interval: .milliseconds(5))
        let releases = decisions.map { $0.decision.first! }
        let reordered = zip(decisions, releases).filter { $1 > $0.at }
        #expect(abs(Double(reordered.count) / 10_000 - 0.1) < 0.01)
        #expect(reordered.allSatisfy { $1 - $0.at == .milliseconds(30) })
        #expect(model.counters.reordered == reordered.count)
        // In order of release, the sequence is no longer sorted: later datagrams overtook.
        let order = releases.indices.sorted { (releases[$0], $0) < (releases[$1], $1) }
        let inversions = zip(order, order.dropFirst()).filter { $0 > $1 }.count
        #expect(inversions > 500)
    }

    @Test func duplicationSendsSecondCopies() {
        let (decisions, model) = run(Profile(duplicate: 0.02, seed: 9), count: 50_000)
        let copies = decisions.filter { $0.decision.second != nil }.count
        #expect(abs(Double(copies) / 50_000 - 0.02) < 0.003)
        #expect(model.counters.duplicated == copies)
        #expect(decisions.allSatisfy { $0.decision.first == $0.at })
    }

    @Test func aSeededRunRepeatsExactly() {
        let profile = Profile(loss: 0.1, burst: .init(length: .milliseconds(100), period: .seconds(1)), reorder: 0.05,
                              duplicate: 0.05, delay: .milliseconds(20), jitter: .milliseconds(10), rateKbps: 2000, seed: 42)
        let a = run(profile, count: 5000).decisions.map(\.decision)
        let b = run(profile, count: 5000).decisions.map(\.decision)
        #expect(a == b)
    }

    @Test func heldDatagramsLeaveInTimeOrderTiesFirstInFirstOut() {
        var queue = NetworkImpairmentQueue<Int>()
        var random = SeededRandom(seed: 1)
        var expected: [(ContinuousClock.Instant, Int)] = []
        for index in 0..<500 {
            let at = t0 + .milliseconds(Int.random(in: 0..<50, using: &random))
            queue.push(index, at: at)
            expected.append((at, index))
        }
        expected.sort { ($0.0, $0.1) < ($1.0, $1.1) }
        #expect(queue.nextDeadline == expected.first?.0)
        #expect(queue.popDue(now: t0 - .milliseconds(1)) == nil)
        var popped: [Int] = []
        while let next = queue.popDue(now: t0 + .seconds(1)) { popped.append(next) }
        #expect(popped == expected.map(\.1))
        #expect(queue.isEmpty && queue.nextDeadline == nil)
    }

    // MARK: Spec strings

    @Test func aFullSpecParses() throws {
        let profile = try Profile.parse("loss=5%,burst=300ms/3s,reorder=10%/30ms,dup=2%,delay=20ms,jitter=50ms,rate=500kbit,queue=200ms,seed=17")
        #expect(profile == Profile(loss: 0.05, burst: .init(length: .milliseconds(300), period: .seconds(3)), reorder: 0.1,
                                   reorderDelay: .milliseconds(30), duplicate: 0.02, delay: .milliseconds(20), jitter: .milliseconds(50),
                                   rateKbps: 500, queueLimit: .milliseconds(200), seed: 17))
        #expect(try Profile.parse(profile.description) == profile, "\(profile)")
        #expect(try Profile.parse(" loss = 0.5% , rate=2mbit ").rateKbps == 2000)
        #expect(try Profile.parse("loss=0.5%").loss == 0.005)
        #expect(try Profile.parse("reorder=10%").reorderDelay == .milliseconds(20))
        #expect(try Profile.parse("delay=1.5s").delay == .milliseconds(1500))
        #expect(try Profile.parse("jitter=500us").jitter == .microseconds(500))
        #expect(try Profile.parse("duplicate=1%").duplicate == 0.01)
        #expect(try Profile.parse("none").isTransparent)
        #expect(try Profile.parse("").isTransparent)
        #expect(Profile().description == "none")
        #expect(try Profile.parse(Profile.example).rateKbps == 500)
    }

    @Test(arguments: [
        ("loss=5", "write a percentage with %"),
        ("loss=150%", "0…100 %"),
        ("loss=-1%", "0…100 %"),
        ("burst=300ms", "burst=LENGTH/PERIOD"),
        ("burst=3s/300ms", "less than the period"),
        ("burst=0ms/1s", "more than 0"),
        ("rate=500", "rate=500kbit"),
        ("rate=1bit", "8 kbit"),
        ("delay=abc", "a duration with its unit"),
        ("delay=5", "a duration with its unit"),
        ("delay=2h", "a duration with its unit"),
        ("delay=4000s", "at most 3600 s"),
        ("lss=5%", "unknown impairment 'lss'"),
        ("loss=5%,loss=6%", "given twice"),
        ("loss=5%,", "is not key=value"),
        ("loss", "is not key=value"),
        ("queue=100ms", "only applies with a rate cap"),
        ("rate=1mbit,queue=0ms", "longer than 0"),
        ("seed=-1", "whole number"),
        ("reorder=10%/0ms", "longer than 0"),
        ("reorder=1%/2ms/3ms", "reorder=10%/20ms"),
    ])
    func aBadSpecSaysWhatToWrite(spec: String, hint: String) {
        let error = #expect(throws: NetworkImpairment.SpecError.self) { try Profile.parse(spec) }
        #expect(error?.description.contains(hint) == true, "\(error.map(String.init(describing:)) ?? "no error")")
        #expect(error?.description.contains("impairment spec '\(spec)'") == true)
    }

    @Test func randomSpecsNeverCrash() {
        var random = SeededRandom(seed: 99)
        let alphabet = Array("loss=burst/reorder,dup%delay jitter rate kbit mbit queue seed 0123456789.ms-")
        var parsed = 0
        for _ in 0..<5000 {
            let length = Int.random(in: 0..<40, using: &random)
            let text = String((0..<length).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &random)] })
            if (try? Profile.parse(text)) != nil { parsed += 1 }
        }
        #expect(parsed < 5000)
    }
}

import Testing
@testable import Relay

@Suite struct JitterBufferTests {
    let start = ContinuousClock.now

    func at(_ ms: Int) -> ContinuousClock.Instant { start + .milliseconds(ms) }

    /// Inserts sequence numbers at times, returns what drains at each step.
    func released(_ buffer: inout JitterBuffer, now: ContinuousClock.Instant) -> [UInt64] {
        var out: [UInt64] = []
        buffer.drain(now: now) { out.append($0.sequence) }
        return out
    }

    func insert(_ buffer: inout JitterBuffer, _ sequence: UInt64, at time: ContinuousClock.Instant,
                payload: [UInt8] = [1, 2, 3]) -> JitterBuffer.InsertOutcome {
        buffer.insert(payload: payload, sequence: sequence, timestamp: UInt32(sequence * 3000), marker: true, arrival: time)
    }

    @Test func inOrderPacketsLeaveAtOnceWithTheirBytes() {
        var buffer = JitterBuffer(now: start)
        for n in UInt64(100)..<110 {
            #expect(insert(&buffer, n, at: at(Int(n)), payload: [UInt8(n)]) == .accepted)
            var seen: [(UInt64, [UInt8])] = []
            buffer.drain(now: at(Int(n))) { seen.append(($0.sequence, Array($0.payload))) }
            #expect(seen.map(\.0) == [n])
            #expect(seen.first?.1 == [UInt8(n)])
        }
        #expect(buffer.nextDeadline() == nil)
        #expect(buffer.bufferedCount == 0)
    }

    @Test func reorderedPacketsAreReleasedInOrder() {
        var buffer = JitterBuffer(now: start)
        _ = insert(&buffer, 1, at: at(0))
        _ = insert(&buffer, 3, at: at(1))
        #expect(released(&buffer, now: at(1)) == [1])
        _ = insert(&buffer, 2, at: at(3))
        #expect(released(&buffer, now: at(3)) == [2, 3])
        #expect(buffer.stats.lost == 0)
    }

    @Test func duplicatesAndLatePacketsAreDroppedAndCounted() {
        var buffer = JitterBuffer(now: start)
        _ = insert(&buffer, 1, at: at(0))
        _ = insert(&buffer, 3, at: at(0))
        #expect(insert(&buffer, 3, at: at(1)) == .duplicate)
        _ = released(&buffer, now: at(1))
        #expect(insert(&buffer, 1, at: at(2)) == .tooLate)
        #expect(buffer.stats.duplicates == 1)
        #expect(buffer.stats.late == 1)
    }

    @Test func aHoleIsWaitedForThenGivenUp() {
        var buffer = JitterBuffer(now: start)
        _ = insert(&buffer, 1, at: at(0))
        _ = insert(&buffer, 3, at: at(10))
        _ = insert(&buffer, 4, at: at(11))
        #expect(released(&buffer, now: at(11)) == [1])
        let wait = buffer.targetWait
        #expect(wait >= .milliseconds(20) && wait <= .milliseconds(200))
        let deadline = buffer.nextDeadline()
        #expect(deadline == at(10) + wait)
        #expect(released(&buffer, now: at(10) + wait - .milliseconds(1)).isEmpty)
        #expect(released(&buffer, now: at(10) + wait) == [3, 4])
        #expect(buffer.stats.lost == 1)
        #expect(buffer.nextDeadline() == nil)
    }

    @Test func missingPacketsAreNackedAtMostOncePerRoundTripAndAlwaysBounded() {
        var configuration = JitterBuffer.Configuration()
        configuration.maxNacksPerPacket = 3
        configuration.maximumWait = .seconds(2)
        var buffer = JitterBuffer(configuration: configuration, now: start)
        buffer.roundTripTime = .milliseconds(100)
        _ = insert(&buffer, 10, at: at(0))
        _ = released(&buffer, now: at(0))
        _ = insert(&buffer, 13, at: at(5))
        #expect(buffer.nackList(now: at(6)).isEmpty)  // within the reorder grace
        #expect(buffer.nackList(now: at(10)) == [11, 12])
        #expect(buffer.nackList(now: at(50)).isEmpty)  // not again before a round trip
        _ = insert(&buffer, 11, at: at(60))  // the retransmission of 11 arrives
        #expect(released(&buffer, now: at(60)) == [11])
        #expect(buffer.nackList(now: at(111)) == [12])
        #expect(buffer.nackList(now: at(212)) == [12])
        #expect(buffer.nackList(now: at(313)).isEmpty)  // three times is the limit
        #expect(buffer.stats.nacksSent == 4)
    }

    @Test func aHugeJumpRestartsTheSequence() {
        var buffer = JitterBuffer(now: start)
        _ = insert(&buffer, 5, at: at(0))
        _ = insert(&buffer, 7, at: at(0))
        #expect(released(&buffer, now: at(0)) == [5])
        #expect(insert(&buffer, 30_007, at: at(1)) == .restarted)
        #expect(released(&buffer, now: at(1)) == [30_007])
        #expect(buffer.stats.restarts == 1)
        #expect(buffer.stats.lost == 1)
    }

    @Test func theWaitFollowsJitterWithinBounds() {
        var steady = JitterBuffer(now: start)
        steady.roundTripTime = .zero
        for n in UInt64(0)..<200 { _ = insert(&steady, n, at: at(Int(n) * 33 + 0)) }
        #expect(steady.targetWait == .milliseconds(20))  // no jitter: the minimum

        var shaky = JitterBuffer(now: start)
        shaky.roundTripTime = .zero
        var rng = SeededRandom(seed: 7)
        for n in UInt64(0)..<200 {
            let jitter = Int(rng.next() % 50)
            // timestamps advance 3000 per packet at 90 kHz = 33.3 ms
            _ = shaky.insert(payload: [0], sequence: n, timestamp: UInt32(n * 3000), marker: true,
                             arrival: start + .microseconds(Int(n) * 33_333 + jitter * 1000))
        }
        #expect(shaky.targetWait > .milliseconds(20))
        #expect(shaky.targetWait <= .milliseconds(200))
        #expect(shaky.jitter > 0)
    }

    /// After a loss burst, latency goes back to zero instead of accumulating.
    @Test func latencyRecoversAfterALossBurst() {
        var buffer = JitterBuffer(now: start)
        var latencies: [Duration] = []
        var now = start
        for n in UInt64(0)..<300 {
            now = at(Int(n) * 10)
            if (100..<120).contains(n) { continue }  // a burst of 20 lost packets
            _ = insert(&buffer, n, at: now)
            buffer.drain(now: now) { latencies.append(now - $0.arrival) }
            if let deadline = buffer.nextDeadline(), deadline <= now + .milliseconds(10) {
                buffer.drain(now: deadline) { latencies.append(deadline - $0.arrival) }
            }
        }
        #expect(buffer.stats.lost == 20)
        #expect(latencies.count == 280)
        #expect(latencies.suffix(100).allSatisfy { $0 == .zero })
        #expect(latencies.max()! <= buffer.configuration.maximumWait)
    }

    @Test func memoryIsBoundedWhateverArrives() {
        var configuration = JitterBuffer.Configuration()
        configuration.capacity = 64
        var buffer = JitterBuffer(configuration: configuration, now: start)
        var rng = SeededRandom(seed: 99)
        for n in 0..<20_000 {
            let sequence = rng.next() % 5 == 0 ? rng.next() % 100_000 : UInt64(n)
            _ = buffer.insert(payload: [UInt8](repeating: 0, count: Int(rng.next() % 1400)), sequence: sequence,
                              timestamp: UInt32(truncatingIfNeeded: rng.next()), marker: false, arrival: at(n))
            buffer.drain(now: at(n)) { _ in }
            _ = buffer.nackList(now: at(n))
            #expect(buffer.bufferedCount <= 64)
        }
    }
}

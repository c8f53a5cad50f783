import Foundation
import Testing
@testable import Relay

/// RFC 3550 receive statistics on known sequences: every figure is worked out by hand.
@Suite struct ReceiveStatisticsTests {
    let start = ContinuousClock.now

    func statistics(clockRate: Int = 90000) -> ReceiveStatistics {
        ReceiveStatistics(configuration: .init(clockRate: clockRate))
    }

    @Test func anUnbrokenStreamAcrossTheWrapLosesNothing() {
        var stats = statistics()
        for n in 0..<20 {
            let verdict = stats.record(sequence: 65530 &+ UInt16(n), timestamp: UInt32(n * 3000), arrival: start + .milliseconds(33 * n))
            #expect(verdict == .inOrder)
        }
        // 65530 + 19 = 65549: one cycle, highest 13.
        #expect(stats.extendedHighestSequence == 0x1_000D)
        #expect(stats.expected == 20)
        #expect(stats.cumulativeLost == 0)
        let block = stats.reportBlock(ssrc: 7, now: start + .seconds(1))
        #expect(block.ssrc == 7 && block.fractionLost == 0 && block.cumulativeLost == 0)
        #expect(block.extendedHighestSequence == 0x1_000D)
    }

    @Test func lossIsCumulativeAndTheFractionCoversOneInterval() {
        var stats = statistics()
        let lost: Set<Int> = [3, 17, 18, 40, 41, 42, 60, 77, 90, 98]
        for n in 0..<100 where !lost.contains(n) {
            stats.record(sequence: UInt16(1000 + n), timestamp: UInt32(n * 3000), arrival: start + .milliseconds(33 * n))
        }
        var block = stats.reportBlock(ssrc: 1, now: start + .seconds(4))
        #expect(block.cumulativeLost == 10)
        #expect(block.fractionLost == 25)  // 10 × 256 / 100 = 25.6, truncated
        #expect(block.extendedHighestSequence == 1099)
        // Next interval: 50 expected, 5 lost → 25.6 again; 15 lost in all.
        for n in 100..<150 where n % 10 != 0 {
            stats.record(sequence: UInt16(1000 + n), timestamp: UInt32(n * 3000), arrival: start + .milliseconds(33 * n))
        }
        block = stats.reportBlock(ssrc: 1, now: start + .seconds(5))
        #expect(block.cumulativeLost == 15)
        #expect(block.fractionLost == 25)
        // An interval with nothing lost reports 0 again.
        for n in 150..<160 {
            stats.record(sequence: UInt16(1000 + n), timestamp: UInt32(n * 3000), arrival: start + .milliseconds(33 * n))
        }
        block = stats.reportBlock(ssrc: 1, now: start + .seconds(6))
        #expect(block.fractionLost == 0 && block.cumulativeLost == 15)
    }

    @Test func reorderedPacketsAreNotLossAndRepairsReduceIt() {
        var stats = statistics()
        // Pairs swapped: 1 0 3 2 5 4 …
        for n in 0..<50 {
            let sequence = n % 2 == 0 ? n + 1 : n - 1
            stats.record(sequence: UInt16(sequence), timestamp: UInt32(sequence * 3000), arrival: start + .milliseconds(10 * n))
        }
        #expect(stats.cumulativeLost == 0)
        #expect(stats.reportBlock(ssrc: 1, now: start + .seconds(1)).fractionLost == 0)
        // 50…59 with 55 missing, then 55 repaired by RTX: lost goes 1 → 0.
        for n in 50..<60 where n != 55 {
            stats.record(sequence: UInt16(n), timestamp: UInt32(n * 3000), arrival: start + .milliseconds(10 * n))
        }
        #expect(stats.cumulativeLost == 1)
        #expect(stats.record(sequence: 55, timestamp: 55 * 3000, arrival: start + .seconds(1), retransmission: true) == .old)
        #expect(stats.cumulativeLost == 0)
        // A duplicate makes it negative, as RFC 3550 allows; the fraction stays 0.
        stats.record(sequence: 59, timestamp: 59 * 3000, arrival: start + .seconds(1))
        #expect(stats.cumulativeLost == -1)
        let block = stats.reportBlock(ssrc: 1, now: start + .seconds(2))
        #expect(block.cumulativeLost == -1 && block.fractionLost == 0)
    }

    @Test func aLoneWildJumpIsDroppedAndTwoInARowRestart() {
        var stats = statistics()
        for n in 0..<10 { stats.record(sequence: UInt16(n), timestamp: UInt32(n * 3000), arrival: start) }
        // A stray packet 30000 ahead: dropped, counted, nothing else moves.
        #expect(stats.record(sequence: 30009, timestamp: 0, arrival: start) == .suspectJump)
        #expect(stats.suspectJumps == 1)
        #expect(stats.extendedHighestSequence == 9)
        #expect(stats.record(sequence: 10, timestamp: 30000, arrival: start) == .inOrder)
        #expect(stats.cumulativeLost == 0)
        // A backward jump of 30000 (wrapping) is suspect too.
        #expect(stats.record(sequence: 10 &- 30000, timestamp: 0, arrival: start) == .suspectJump)
        // The sender restarted its numbering: 40000, 40001 → counts start again at 40000.
        #expect(stats.record(sequence: 40000, timestamp: 0, arrival: start) == .suspectJump)
        #expect(stats.record(sequence: 40001, timestamp: 3000, arrival: start) == .restarted)
        #expect(stats.restarts == 1)
        #expect(stats.expected == 1 && stats.received == 1)
        stats.record(sequence: 40002, timestamp: 6000, arrival: start)
        #expect(stats.extendedHighestSequence == 40002 && stats.cumulativeLost == 0)
    }

    @Test func jitterFollowsTheRFCFormulaForAKnownTransitVariation() {
        // Opus: 20 ms packets; every other one arrives 10 ms late → |D| = 480 units each step.
        var stats = statistics(clockRate: 48000)
        let base: UInt32 = 0xFFFF_F000  // the timestamps wrap on the way: no effect on jitter
        var expected = 0.0
        for n in 0..<40 {
            let late = n % 2 == 1 ? 10 : 0
            stats.record(sequence: UInt16(n), timestamp: base &+ UInt32(n * 960), arrival: start + .milliseconds(20 * n + late))
            if n > 0 { expected += (480 - expected) / 16 }
            #expect(abs(stats.jitter - expected) < 1e-6, "packet \(n): \(stats.jitter) vs \(expected)")
        }
        #expect(abs(stats.jitterMilliseconds - expected / 48) < 1e-9)
        #expect(stats.jitterMilliseconds > 9 && stats.jitterMilliseconds < 10)
        #expect(stats.reportBlock(ssrc: 1, now: start).jitter == UInt32(expected.rounded()))
    }

    @Test func steadyTransitIsNoJitterAndRetransmissionsDoNotCount() {
        var stats = statistics()
        for n in 0..<30 where n != 12 {
            stats.record(sequence: UInt16(n), timestamp: 5000 &+ UInt32(n * 3000), arrival: start + .nanoseconds(33_333_333 * n))
        }
        #expect(stats.jitter < 1)
        // The repair comes 200 ms late: counted, but not as jitter.
        stats.record(sequence: 12, timestamp: 5000 + 36000, arrival: start + .seconds(2), retransmission: true)
        #expect(stats.jitter < 1)
        #expect(stats.cumulativeLost == 0)
    }

    @Test func theLastSenderReportIsEchoedWithItsDelay() {
        var stats = statistics()
        var block = stats.reportBlock(ssrc: 1, now: start)
        #expect(block.lastSenderReport == 0 && block.delaySinceLastSenderReport == 0)
        stats.record(sequence: 1, timestamp: 0, arrival: start)
        stats.senderReport(ntpTimestamp: 0xE1B2_C3D4_5678_9ABC, arrival: start + .milliseconds(500))
        block = stats.reportBlock(ssrc: 1, now: start + .milliseconds(2000))
        #expect(block.lastSenderReport == 0xC3D4_5678)
        #expect(block.delaySinceLastSenderReport == 98304)  // 1.5 s in 1/65536 s
    }

    @Test func randomInputNeverTrapsAndFiguresStayInRange() {
        var rng = SeededRandom(seed: 99)
        var stats = statistics()
        for n in 0..<20000 {
            let sequence = UInt16.random(in: 0...UInt16.max, using: &rng)
            stats.record(sequence: sequence, timestamp: UInt32.random(in: 0...UInt32.max, using: &rng),
                         arrival: start + .milliseconds(n), retransmission: rng.next() % 5 == 0)
            if n % 1000 == 0 { _ = stats.reportBlock(ssrc: 1, now: start + .milliseconds(n)) }
        }
        let block = stats.reportBlock(ssrc: 1, now: start + .seconds(30))
        #expect(block.cumulativeLost >= -0x80_0000 && block.cumulativeLost <= 0x7F_FFFF)
    }
}

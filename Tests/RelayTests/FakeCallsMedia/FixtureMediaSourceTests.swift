@testable import FakeCalls
import Foundation
import Relay
import Testing

/// The fixture player without sockets: time is passed in.
@Suite struct FixtureMediaSourceTests {
    static let video = FixturePaths.url("media/testsrc2-320x240-60f.h264").path
    static let vp8 = FixturePaths.url("media/testsrc2-320x240-60f.ivf").path
    static let audio = FixturePaths.url("audio/tone-440-mono-2s.opus.ogg").path

    @Test func framesComeOnTheirDeadlinesWithContinuousSequenceAndTimestamps() throws {
        let start = ContinuousClock.now
        var source = try FixtureMediaSource(path: Self.video, mid: "0", ssrc: 42, start: start)
        var out: [[UInt8]] = []
        source.packets(dueBy: start, into: &out)
        let first = try RTPPacketView.parse(try #require(out.last))
        #expect(out.count >= 1)
        // 2.5 s of a 2 s loop, polled every 100 ms like the driver: 75 more frames, timestamps
        // 3000 apart, one marker per frame, sequence numbers without a gap across the loop.
        out.removeAll()
        for step in 1...25 { source.packets(dueBy: start + .milliseconds(100 * step), into: &out) }
        let headers = try out.map { try RTPPacketView.parse($0) }
        #expect(headers.filter(\.marker).count == 75)
        #expect(headers.allSatisfy { $0.ssrc == 42 && $0.payloadType == 125 })
        var expected = first.sequenceNumber
        for header in headers {
            expected &+= 1
            #expect(header.sequenceNumber == expected)
        }
        let last = try #require(headers.last)
        #expect(last.timestamp &- first.timestamp == 75 * 3000)
        #expect(source.nextDeadline > start + .milliseconds(2500))
        // The SR mapping agrees with the packets: at the last frame's send time, the same timestamp.
        #expect(abs(Int32(bitPattern: source.rtpTimestamp(at: start + .nanoseconds(33_333_333 * 75)) &- last.timestamp)) < 2)
    }

    @Test func aDriverThatFellBehindSkipsAheadInsteadOfBursting() throws {
        let start = ContinuousClock.now
        var source = try FixtureMediaSource(path: Self.video, mid: "0", ssrc: 1, start: start)
        var out: [[UInt8]] = []
        source.packets(dueBy: start + .seconds(10), into: &out)
        #expect(try out.map { try RTPPacketView.parse($0) }.filter(\.marker).count <= 31)
        #expect(source.nextDeadline > start + .seconds(10))
    }

    @Test func aPLIJumpsToTheNextKeyframe() throws {
        let start = ContinuousClock.now
        var source = try FixtureMediaSource(path: Self.video, mid: "0", ssrc: 1, start: start)
        var out: [[UInt8]] = []
        source.packets(dueBy: start + .milliseconds(500), into: &out)
        source.restartFromKeyframe()
        #expect(source.keyframeRestarts == 1)
        out.removeAll()
        source.packets(dueBy: source.nextDeadline, into: &out)
        var depacketizer = H264Depacketizer()
        var unit: H264AccessUnit?
        for (index, packet) in out.enumerated() {
            let header = try RTPPacketView.parse(packet)
            unit = depacketizer.push(payload: Array(packet[header.payloadRange]), timestamp: header.timestamp,
                                     sequence: UInt64(index), marker: header.marker) ?? unit
        }
        #expect(unit?.isKeyframe == true)
    }

    @Test func vp8AndOpusFixturesLoadWithTheSFUsPayloadTypes() throws {
        let start = ContinuousClock.now
        let vp8 = try FixtureMediaSource(path: Self.vp8, mid: "0", ssrc: 1, start: start)
        let opus = try FixtureMediaSource(path: Self.audio, mid: "1", ssrc: 2, start: start)
        #expect(vp8.payloadType == 96 && vp8.kind == "video")
        #expect(opus.payloadType == 111 && opus.kind == "audio" && opus.ticksPerFrame == 960)
    }

    @Test func garbageFilesAreRefusedWithoutCrashing() throws {
        var random = SeededRandom(seed: 7)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fixture-garbage-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        for round in 0..<60 {
            let bytes = (0..<Int(random.next() % 4096)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            for suffix in ["h264", "ivf", "ogg"] {
                let url = directory.appendingPathComponent("\(round).\(suffix)")
                try Data(bytes).write(to: url)
                // Random bytes may hold no frame (refused) or happen to parse; neither may crash.
                _ = try? FixtureMediaSource(path: url.path, mid: "0", ssrc: 1, start: .now)
            }
        }
        #expect(throws: FixtureMediaSource.LoadError.self) {
            try FixtureMediaSource(path: directory.appendingPathComponent("missing.h264").path, mid: "0", ssrc: 1, start: .now)
        }
    }

    @Test func theRetransmissionCacheKeepsOneSecond() {
        var cache = RetransmissionCache()
        let now = ContinuousClock.now
        cache.store([1, 2, 3], sequenceNumber: 65535, now: now)
        #expect(cache.packet(sequenceNumber: 65535, now: now + .milliseconds(900)) == [1, 2, 3])
        #expect(cache.packet(sequenceNumber: 65535, now: now + .milliseconds(1100)) == nil)
        #expect(cache.packet(sequenceNumber: 65535 &- 1024, now: now) == nil)
        cache.store([4], sequenceNumber: 65535 &+ 1024, now: now)  // same slot, newer packet
        #expect(cache.packet(sequenceNumber: 65535, now: now) == nil)
    }
}

import Testing
@testable import Relay

@Suite("RTMP send queue")
struct RTMPSendQueueTests {
    static func video(_ i: Int, key: Bool, disposable: Bool = false) -> RTMPSendQueue.Item {
        .video(accessUnit: [UInt8](repeating: UInt8(i & 0xFF), count: 100), pts: .milliseconds(i * 33), dts: .milliseconds(i * 33),
               isKeyframe: key, disposable: disposable)
    }

    @Test func dropsVideoUntilTheFirstKeyframe() {
        var q = RTMPSendQueue()
        q.push(Self.video(0, key: false))
        q.push(Self.video(1, key: true))
        #expect(q.count == 1)
        #expect(q.counters.gopFramesDropped == 1)
    }

    @Test func dropsNonReferenceFramesFirst() {
        var q = RTMPSendQueue()
        for i in 0..<30 { q.push(Self.video(i, key: i == 0, disposable: i % 2 == 1)) }
        #expect(q.counters.nonReferenceFramesDropped > 0)
        #expect(q.counters.gopsDropped == 0)
        var popped: [RTMPSendQueue.Item] = []
        while let item = q.pop() { popped.append(item) }
        #expect(popped.allSatisfy { !$0.isDisposable })
        #expect(popped.first?.isKeyframe == true)
    }

    @Test func dropsWholeGOPsAndWaitsForTheNextKeyframe() {
        var q = RTMPSendQueue()
        var askedForKeyframe = false
        for i in 0..<60 {
            q.push(.audio(frame: [1, 2, 3], pts: .milliseconds(i * 33)))
            askedForKeyframe = q.push(Self.video(i, key: i % 15 == 0)) || askedForKeyframe
        }
        #expect(q.counters.gopsDropped > 0)
        #expect(q.counters.audioFramesDropped == 0)
        var videos: [RTMPSendQueue.Item] = []
        while let item = q.pop() { if item.isVideo { videos.append(item) } }
        #expect(videos.first?.isKeyframe == true, "after a GOP drop the queue restarts at a keyframe")
        // Span stays bounded.
        if let first = videos.first?.dts, let last = videos.last?.dts { #expect(last - first <= .milliseconds(1200)) }
        // With no later keyframe queued, all video goes and new frames wait for a keyframe.
        var q2 = RTMPSendQueue()
        for i in 0..<40 { askedForKeyframe = q2.push(Self.video(i, key: i == 0)) || askedForKeyframe }
        #expect(askedForKeyframe)
        #expect(q2.waitingForKeyframe)
        q2.push(Self.video(41, key: false))
        #expect(q2.pop() == nil || q2.pop()?.isKeyframe == true)
    }
}

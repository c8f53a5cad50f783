/// The bounded queue between the media path and the socket. The media path never waits:
/// when the queue backs up, non-reference video goes first, then whole GOPs (everything up to
/// the next queued keyframe, or all queued video and every frame until a new keyframe arrives),
/// audio only when even that is not enough. A value: the publisher guards it with its lock.
public struct RTMPSendQueue: Sendable {
    public struct Limits: Sendable {
        /// Queued video longer than this loses its non-reference frames (OBS: ~700 ms).
        public var nonReferenceDropSpan: Duration = .milliseconds(700)
        /// Queued video longer than this loses whole GOPs.
        public var gopDropSpan: Duration = .milliseconds(1200)
        public var maxBytes = 8 << 20
        public init() {}
    }

    public enum Item: Sendable {
        case video(accessUnit: [UInt8], pts: Duration, dts: Duration, isKeyframe: Bool, disposable: Bool)
        case audio(frame: [UInt8], pts: Duration)

        var size: Int {
            switch self {
            case .video(let au, _, _, _, _): au.count
            case .audio(let frame, _): frame.count
            }
        }
        var isVideo: Bool { if case .video = self { true } else { false } }
        var isKeyframe: Bool { if case .video(_, _, _, let k, _) = self { k } else { false } }
        var isDisposable: Bool { if case .video(_, _, _, _, let d) = self { d } else { false } }
        var dts: Duration? { if case .video(_, _, let dts, _, _) = self { dts } else { nil } }
    }

    public struct Counters: Sendable, Equatable {
        public var nonReferenceFramesDropped = 0
        /// Video frames dropped as part of whole GOPs (queued, or arriving before the next keyframe).
        public var gopFramesDropped = 0
        public var gopsDropped = 0
        public var audioFramesDropped = 0
    }

    public let limits: Limits
    public private(set) var items: [Item] = []
    private var head = 0
    public private(set) var bytes = 0
    public private(set) var counters = Counters()
    /// Video is discarded until the next keyframe: at the start (a decoder can only begin at
    /// one), after a GOP drop and after `reset()`.
    public private(set) var waitingForKeyframe = true

    public init(limits: Limits = Limits()) { self.limits = limits }

    public var count: Int { items.count - head }
    public var isEmpty: Bool { count == 0 }

    /// Adds an item; returns true when a keyframe should be requested from the source.
    @discardableResult
    public mutating func push(_ item: Item) -> Bool {
        if item.isVideo {
            if waitingForKeyframe {
                guard item.isKeyframe else { counters.gopFramesDropped += 1; return false }
                waitingForKeyframe = false
            }
        }
        items.append(item)
        bytes += item.size
        return enforceLimits()
    }

    public mutating func pop() -> Item? {
        guard head < items.count else { return nil }
        let item = items[head]
        head += 1
        bytes -= item.size
        if head > 64 && head * 2 > items.count { items.removeFirst(head); head = 0 }
        return item
    }

    /// Empties the queue (after a disconnect) and waits for a keyframe.
    public mutating func reset() {
        items.removeAll(keepingCapacity: true)
        head = 0
        bytes = 0
        waitingForKeyframe = true
    }

    private var videoSpan: Duration {
        guard let first = items[head...].first(where: { $0.isVideo })?.dts,
              let last = items[head...].last(where: { $0.isVideo })?.dts else { return .zero }
        return last - first
    }

    private var overLimit: Bool { videoSpan > limits.gopDropSpan || bytes > limits.maxBytes }

    private mutating func enforceLimits() -> Bool {
        // 1. Frames nothing refers to: fewer bytes, so the socket catches up sooner.
        if videoSpan > limits.nonReferenceDropSpan || bytes > limits.maxBytes {
            removeAll(where: { $0.isDisposable }) { $0.counters.nonReferenceFramesDropped += 1 }
        }
        guard overLimit else { return false }
        // 2. Whole GOPs: the oldest video up to the next queued keyframe after the first item.
        var requestKeyframe = false
        while overLimit, items[head...].contains(where: { $0.isVideo }) {
            let live = Array(items[head...])
            let firstVideo = live.firstIndex(where: { $0.isVideo }) ?? 0
            let nextKey = live.indices.first { $0 > firstVideo && live[$0].isKeyframe }
            var dropped = 0
            var kept: [Item] = []
            for (i, item) in live.enumerated() {
                if item.isVideo && (nextKey.map { i < $0 } ?? true) { dropped += 1 } else { kept.append(item) }
            }
            replace(with: kept)
            counters.gopFramesDropped += dropped
            counters.gopsDropped += 1
            if nextKey == nil { waitingForKeyframe = true; requestKeyframe = true }
        }
        // 3. Audio, oldest first, only if bytes are still over.
        while bytes > limits.maxBytes, let index = items[head...].firstIndex(where: { !$0.isVideo }) {
            bytes -= items[index].size
            items.remove(at: index)
            counters.audioFramesDropped += 1
        }
        return requestKeyframe
    }

    private mutating func removeAll(where predicate: (Item) -> Bool, counting: (inout RTMPSendQueue) -> Void) {
        let live = Array(items[head...])
        var kept: [Item] = []
        var removed = 0
        for item in live { if predicate(item) { removed += 1 } else { kept.append(item) } }
        replace(with: kept)
        for _ in 0..<removed { counting(&self) }
    }

    private mutating func replace(with kept: [Item]) {
        items = kept
        head = 0
        bytes = kept.reduce(0) { $0 + $1.size }
    }
}

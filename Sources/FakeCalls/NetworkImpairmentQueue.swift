/// Datagrams a `NetworkImpairment` holds back, released in the order of their times (ties in
/// the order they were added). A binary min-heap whose storage is reused, so once warm a delayed
/// datagram costs no allocation beyond its own bytes.
struct NetworkImpairmentQueue<Element> {
    private struct Entry {
        var release: ContinuousClock.Instant
        var order: UInt64
        var element: Element

        func precedes(_ other: Entry) -> Bool {
            release < other.release || (release == other.release && order < other.order)
        }
    }

    private var heap: [Entry] = []
    private var added: UInt64 = 0

    var count: Int { heap.count }
    var isEmpty: Bool { heap.isEmpty }
    /// When the next element is due (the driver's poll timeout includes it).
    var nextDeadline: ContinuousClock.Instant? { heap.first?.release }

    mutating func push(_ element: Element, at release: ContinuousClock.Instant) {
        heap.append(Entry(release: release, order: added, element: element))
        added &+= 1
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].precedes(heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    /// The earliest element due by `now`, removed; nil when none is.
    mutating func popDue(now: ContinuousClock.Instant) -> Element? {
        guard let first = heap.first, first.release <= now else { return nil }
        let last = heap.removeLast()
        guard !heap.isEmpty else { return first.element }
        heap[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < heap.count, heap[left].precedes(heap[smallest]) { smallest = left }
            if right < heap.count, heap[right].precedes(heap[smallest]) { smallest = right }
            guard smallest != parent else { break }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
        return first.element
    }

    mutating func removeAll() { heap.removeAll(keepingCapacity: true) }
}

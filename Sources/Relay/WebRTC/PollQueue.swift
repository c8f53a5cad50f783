/// The FIFO a sans-IO core fills and its driver drains through `poll…()`: pops without
/// shifting the elements behind, and keeps its storage once drained (no allocation per
/// packet in steady state).
struct PollQueue<Element> {
    private var items: [Element] = []
    private var head = 0

    var isEmpty: Bool { head == items.count }

    mutating func reserveCapacity(_ capacity: Int) { items.reserveCapacity(capacity) }

    mutating func append(_ item: Element) { items.append(item) }

    mutating func append(contentsOf more: some Sequence<Element>) { items.append(contentsOf: more) }

    mutating func pop() -> Element? {
        guard head < items.count else { return nil }
        let item = items[head]
        head += 1
        if head == items.count {
            items.removeAll(keepingCapacity: true)
            head = 0
        }
        return item
    }
}

extension PollQueue: Sendable where Element: Sendable {}

extension PollQueue {
    /// Drops everything queued (a core that closes sends nothing more).
    mutating func removeAll() {
        items.removeAll(keepingCapacity: true)
        head = 0
    }
}

@testable import Relay
import Testing

@Suite("SessionMutationQueue")
struct SessionMutationQueueTests {
    /// Records the order operations ran in.
    actor Order {
        var events: [String] = []
        func add(_ event: String) { events.append(event) }
    }

    @Test func runsOneSessionInArrivalOrderAndFreesTheLane() async throws {
        let queue = SessionMutationQueue()
        let gate = CallsTestGate()
        let order = Order()
        async let first: Void = queue.run(session: "a") {
            await order.add("first start")
            await gate.pass()
            await order.add("first end")
        }
        try await callsWaitUntil("first running") { await gate.waiting == 1 }
        async let second: Void = queue.run(session: "a") { await order.add("second") }
        try await callsWaitUntil("second queued") { await queue.occupancy(of: "a") == 2 }
        async let third: Void = queue.run(session: "a") { await order.add("third") }
        try await callsWaitUntil("third queued") { await queue.occupancy(of: "a") == 3 }
        // Another session runs while "a" is held.
        try await queue.run(session: "b") { await order.add("b") }
        await gate.open()
        _ = try await (first, second, third)
        #expect(await order.events == ["first start", "b", "first end", "second", "third"])
        #expect(await queue.activeSessions == 0)
    }

    @Test func aThrowingOperationReleasesTheLane() async throws {
        struct Boom: Error {}
        let queue = SessionMutationQueue()
        await #expect(throws: Boom.self) { try await queue.run(session: "a") { throw Boom() } }
        let seven = try await queue.run(session: "a") { 7 }
        #expect(seven == 7)
        #expect(await queue.activeSessions == 0)
    }

    @Test func aCancelledWaiterLeavesTheQueue() async throws {
        let queue = SessionMutationQueue()
        let gate = CallsTestGate()
        async let holder: Void = queue.run(session: "a") { await gate.pass() }
        try await callsWaitUntil("holder running") { await gate.waiting == 1 }
        let waiter = Task { try await queue.run(session: "a") { "ran" } }
        try await callsWaitUntil("waiter queued") { await queue.occupancy(of: "a") == 2 }
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        #expect(await queue.occupancy(of: "a") == 1)
        await gate.open()
        try await holder
        #expect(await queue.activeSessions == 0)
    }
}

/// One FIFO per Calls session: Calls rejects overlapping mutations of a session with 406, so
/// every tracks/new, renegotiate and tracks/close for one session runs strictly after the one
/// before it, in arrival order. Different sessions never wait for each other. A session's lane
/// is dropped as soon as nothing holds or waits for it, so the table does not grow.
actor SessionMutationQueue {
    private struct Waiter {
        var id: UInt64
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct Lane {
        var waiters: [Waiter] = []
    }

    /// A session has a lane while one mutation holds it; queued callers wait in `waiters`.
    private var lanes: [String: Lane] = [:]
    private var nextWaiterId: UInt64 = 0

    /// Runs `operation` once every earlier mutation of `session` has finished.
    func run<T: Sendable>(session: String, _ operation: @Sendable () async throws -> T) async throws -> T {
        try await acquire(session)
        do {
            let value = try await operation()
            release(session)
            return value
        } catch {
            release(session)
            throw error
        }
    }

    /// How many callers hold or wait for `session` (0 when idle); for diagnostics and tests.
    func occupancy(of session: String) -> Int {
        guard let lane = lanes[session] else { return 0 }
        return 1 + lane.waiters.count
    }

    var activeSessions: Int { lanes.count }

    private func acquire(_ session: String) async throws {
        try Task.checkCancellation()
        guard lanes[session] != nil else {
            lanes[session] = Lane()
            return
        }
        nextWaiterId += 1
        let id = nextWaiterId
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                // Cancellation may have landed before we got here; its handler then found nothing.
                if Task.isCancelled {
                    continuation.resume(throwing: CancellationError())
                } else {
                    lanes[session, default: Lane()].waiters.append(Waiter(id: id, continuation: continuation))
                }
            }
        } onCancel: {
            Task { await self.cancelWaiter(id, session: session) }
        }
    }

    /// Hands the lane to the next waiter (who then owns it) or drops the lane.
    private func release(_ session: String) {
        guard var lane = lanes[session] else { return }
        if lane.waiters.isEmpty {
            lanes[session] = nil
            return
        }
        let next = lane.waiters.removeFirst()
        lanes[session] = lane
        next.continuation.resume()
    }

    private func cancelWaiter(_ id: UInt64, session: String) {
        guard var lane = lanes[session], let index = lane.waiters.firstIndex(where: { $0.id == id }) else { return }
        let waiter = lane.waiters.remove(at: index)
        lanes[session] = lane
        waiter.continuation.resume(throwing: CancellationError())
    }
}

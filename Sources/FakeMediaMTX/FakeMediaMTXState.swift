import Foundation
import Relay
import Synchronization

/// One path as MediaMTX's API shows it, plus what FakeMediaMTX measured.
public struct PathState: Sendable, Equatable {
    public var name: String
    /// The publishing connection's id (`source.id` in the API).
    public var sourceID: String
    public var remoteAddr: String
    public var publishStarted: Date
    /// Set when every announced track's config arrived (MediaMTX's `ready`).
    public var readyTime: Date?
    public var ready: Bool { readyTime != nil }
    /// MediaMTX track names, e.g. ["H264", "MPEG-4 Audio"].
    public var tracks: [String]
    public var bytesReceived: UInt64
    public var streamCheck: StreamCheck
    public var recording: URL?
    /// Why the recording of this publish stopped early (a write failed, e.g. the disk is full);
    /// the publish itself goes on.
    public var recordingError: String? = nil
}

/// A connection as `/v3/rtmpconns/list` shows it.
public struct RTMPConnectionState: Sendable, Equatable {
    public var id: String
    public var created: Date
    public var remoteAddr: String
    /// "idle" until it publishes, then "publish" (MediaMTX's words).
    public var state: String
    public var path: String
    public var bytesReceived: UInt64
    public var bytesSent: UInt64
}

/// Why a connection went away, as logged.
public struct ClosedConnection: Sendable, Equatable {
    public var id: String
    public var remoteAddr: String
    public var path: String?
    public var reason: String
}

/// Running totals, for tests and the demo.
public struct FakeMediaMTXCounters: Sendable, Equatable {
    public var connectionsAccepted = 0
    /// Refused because `maxConnections` were open.
    public var connectionsRefused = 0
    /// Closed because of a protocol error (bad handshake, bad chunk size, bad AMF0, unknown type…).
    public var protocolErrors = 0
    public var handshakeTimeouts = 0
    public var readTimeouts = 0
    public var publishes = 0
    /// Publishers kicked because a new one took their path.
    public var replacedPublishers = 0
    public var recordingsStarted = 0
    /// Recordings stopped early because a write failed (disk full…); their publishes went on.
    public var recordingsFailed = 0
}

/// Everything the API and the test waits read, as one value.
public struct FakeMediaMTXSnapshot: Sendable {
    public var paths: [String: PathState] = [:]
    public var connections: [String: RTMPConnectionState] = [:]
    /// Every closed connection, oldest first (bounded to the last 1000).
    public var closed: [ClosedConnection] = []
    /// The stream check of each path's latest publish, kept after it ends.
    public var lastStreamCheck: [String: StreamCheck] = [:]
    /// Every recording made per path, oldest first.
    public var recordings: [String: [URL]] = [:]
    public var counters = FakeMediaMTXCounters()
}

/// The shared state between the ingest thread (writer) and the API and tests (readers).
/// Waiters are continuations resumed when their predicate over the snapshot holds.
final class FakeMediaMTXState: Sendable {
    private struct Waiter {
        let predicate: @Sendable (FakeMediaMTXSnapshot) -> Bool
        let continuation: CheckedContinuation<Bool, Never>
    }
    private struct Guarded {
        var snapshot = FakeMediaMTXSnapshot()
        var waiters: [UInt64: Waiter] = [:]
        var nextWaiter: UInt64 = 0
    }
    private let guarded = Mutex(Guarded())

    var snapshot: FakeMediaMTXSnapshot { guarded.withLock { $0.snapshot } }

    /// Applies a change and resumes the waiters it satisfied (outside the lock).
    @discardableResult
    func update<T>(_ change: (inout FakeMediaMTXSnapshot) -> T) -> T {
        let (result, satisfied) = guarded.withLock { g -> (T, [CheckedContinuation<Bool, Never>]) in
            let result = change(&g.snapshot)
            guard !g.waiters.isEmpty else { return (result, []) }
            var done: [CheckedContinuation<Bool, Never>] = []
            for (id, waiter) in g.waiters where waiter.predicate(g.snapshot) {
                done.append(waiter.continuation)
                g.waiters[id] = nil
            }
            return (result, done)
        }
        for c in satisfied { c.resume(returning: true) }
        return result
    }

    /// Waits until `predicate` holds (true) or `timeout` passes (false). Event-driven: the
    /// predicate is checked on every state change, not on a timer.
    func wait(timeout: Duration, until predicate: @escaping @Sendable (FakeMediaMTXSnapshot) -> Bool) async -> Bool {
        await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let id: UInt64? = guarded.withLock { g in
                if predicate(g.snapshot) { return nil }
                g.nextWaiter += 1
                g.waiters[g.nextWaiter] = Waiter(predicate: predicate, continuation: continuation)
                return g.nextWaiter
            }
            guard let id else { continuation.resume(returning: true); return }
            Task { [self] in
                try? await Task.sleep(for: timeout)
                let expired = guarded.withLock { $0.waiters.removeValue(forKey: id) }
                expired?.continuation.resume(returning: false)
            }
        }
    }

    /// Resumes every waiter with false (at stop).
    func cancelWaiters() {
        let all = guarded.withLock { g -> [Waiter] in defer { g.waiters = [:] }; return Array(g.waiters.values) }
        for w in all { w.continuation.resume(returning: w.predicate(snapshot)) }
    }
}

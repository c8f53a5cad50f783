/// Bookkeeping for requests whose connection is suspended while their async handler runs.
///
/// Three parties touch a suspended request: the server's polling thread (parks it, later
/// collects the answer), the handler's task (answers it and resumes the connection) and
/// `stop()` (answers every parked request at once, because libmicrohttpd must not be stopped
/// while a connection is still suspended). This value decides, under one lock held by its
/// owner, which of them resumes each connection: exactly one, exactly once.
/// It never calls libmicrohttpd itself, so the lock is never held across a C call.
struct SuspendedRequests<Connection> {
    private(set) var stopping = false
    private var nextID: UInt64 = 0
    private var parked: [UInt64: Connection] = [:]
    private var answers: [UInt64: HTTPResponse] = [:]
    /// Connections handed out by `answer` whose resume call has not returned yet. The daemon
    /// must not be stopped while one is pending: the connection would still be suspended
    /// (libmicrohttpd aborts) or already freed when the resume lands.
    private(set) var resumesInProgress = 0

    /// Requests parked or answered but not yet collected.
    var count: Int { parked.count + answers.count }

    mutating func reserveID() -> UInt64 {
        nextID &+= 1
        return nextID
    }

    /// Records a connection that has just been suspended. Returns false when the server is
    /// stopping: then nobody else will resume it, the caller must answer `response` and resume
    /// it itself.
    mutating func park(_ id: UInt64, connection: Connection, orAnswer response: HTTPResponse) -> Bool {
        if stopping {
            answers[id] = response
            return false
        }
        parked[id] = connection
        return true
    }

    /// The handler finished. Returns the connection to resume, or nil when `stop()` (or the
    /// connection's end) got there first and the answer is no longer wanted. A caller that gets
    /// a connection must call `resumeDone()` once its resume call has returned.
    mutating func answer(_ id: UInt64, with response: HTTPResponse) -> Connection? {
        guard let connection = parked.removeValue(forKey: id) else { return nil }
        answers[id] = response
        resumesInProgress += 1
        return connection
    }

    mutating func resumeDone() {
        resumesInProgress -= 1
    }

    /// Stopping: every parked request gets `response`; returns the connections to resume.
    /// Requests parked later are refused by `park`.
    mutating func stopAndReleaseAll(answering response: HTTPResponse) -> [Connection] {
        stopping = true
        let released = parked
        parked = [:]
        for id in released.keys { answers[id] = response }
        return Array(released.values)
    }

    /// The resumed connection asks for its answer (once).
    mutating func takeAnswer(_ id: UInt64) -> HTTPResponse? {
        answers.removeValue(forKey: id)
    }

    /// The request ended (sent, client gone, daemon shut down): drop whatever is left of it.
    mutating func forget(_ id: UInt64) {
        parked.removeValue(forKey: id)
        answers.removeValue(forKey: id)
    }
}

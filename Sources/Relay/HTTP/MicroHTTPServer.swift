import CMicroHTTPD
import CRelayShim
import Foundation
import Logging
import Synchronization

/// The HTTP server seam on libmicrohttpd: one daemon with its own polling thread, every
/// complete request handed to an async `HTTPHandler`.
///
/// Threading (why this is safe):
/// - libmicrohttpd runs every callback (access handler, request-completed, logger) on its one
///   internal polling thread. The per-request `Exchange` object is only touched there.
/// - A complete request suspends its connection (`MHD_suspend_connection`, legal only from the
///   access handler, so it happens on the polling thread) and then starts the handler in a
///   detached Task. The Task's answer goes through `SuspendedRequests` under a Mutex and the
///   Task calls `MHD_resume_connection`, which libmicrohttpd documents as safe from any thread.
///   With an internal polling thread the resume must wake that thread: that needs MHD_USE_ITC,
///   and `MHD_ALLOW_SUSPEND_RESUME` is defined as `8192 | MHD_USE_ITC` in 0.9.75, so it is on.
///   The polling thread then calls the access handler again, which collects the answer and
///   queues it.
/// - Suspending happens before the Task exists, so a resume can never precede its suspend.
/// - `MHD_stop_daemon` with a suspended connection is an API violation (MHD panics). `stop()`
///   therefore first marks the server stopping and resumes every parked connection with a
///   503, and requests that complete afterwards are answered 503 without parking (the check
///   sits under the same lock, after the suspend, so no request slips between the two).
///   A handler Task that already took its connection out of the bookkeeping may be just
///   about to resume it; `stop()` waits for such in-progress resumes before stopping the
///   daemon, so no resume ever lands on a freed connection.
///   `MHD_stop_daemon` then joins the polling thread and closes every connection, calling the
///   completed callback, which frees each Exchange.
/// - Lock order: the request bookkeeping lock is never held across a libmicrohttpd call. The
///   daemon lock is held across the shutdown calls in `stop()`, but no callback ever takes
///   it, so libmicrohttpd's internal locks and ours can never wait on each other in a cycle.
public final class MicroHTTPServer: Sendable {
    /// The port the listener is bound to (the real one when the configuration asked for 0).
    public let port: Int
    private let core: MicroHTTPServerCore
    private let daemon: Mutex<OwnedDaemon?>

    public init(configuration: HTTPServerConfiguration, handler: @escaping HTTPHandler) throws {
        try Self.validate(configuration)
        let core = MicroHTTPServerCore(handler: handler, maxBodyBytes: configuration.maxBodyBytes,
                                       logger: configuration.logger)
        let owned = try OwnedDaemon.start(configuration: configuration, core: core)
        self.core = core
        self.port = Int(relay_mhd_bound_port(owned.daemon))
        self.daemon = Mutex(owned)
    }

    deinit { stop(gracePeriod: .zero) }

    /// Requests received and not yet finished (parked in a handler or being sent).
    public var requestsInFlight: Int { core.exchangesAlive.load(ordering: .relaxed) }

    /// Stops accepting connections, answers requests still in their handler with 503
    /// (`Retry-After: 1`), lets requests already answered finish sending for up to
    /// `gracePeriod`, then closes every connection. Idempotent; handlers still running finish
    /// into the void. Blocks the calling thread for at most `gracePeriod` (plus joining the
    /// polling thread): call it at shutdown, not per request.
    public func stop(gracePeriod: Duration = .seconds(1)) {
        daemon.withLock { owned in
            guard let current = owned.take() else { return }
            for connection in core.stopAndReleaseParked() {
                MHD_resume_connection(connection.pointer)
            }
            core.waitForResumesInProgress()
            // Refuse new connections while the last answers go out. The listening socket is
            // ours to close, but only after MHD_stop_daemon (its thread may still use it).
            let listener = MHD_quiesce_daemon(current.daemon)
            let deadline = ContinuousClock.now + gracePeriod
            while core.exchangesAlive.load(ordering: .relaxed) > 0, ContinuousClock.now < deadline {
                usleep(2_000)
            }
            MHD_stop_daemon(current.daemon)
            if listener >= 0 { close(listener) }
            current.free()
        }
    }

    private static func validate(_ c: HTTPServerConfiguration) throws {
        func invalid(_ detail: String) -> HTTPServerError { HTTPServerError(kind: .invalidConfiguration, detail: detail) }
        guard (0...65535).contains(c.port) else { throw invalid("port \(c.port) is outside 0...65535") }
        guard (0...(1 << 30)).contains(c.maxBodyBytes) else { throw invalid("maxBodyBytes \(c.maxBodyBytes) must be within 0...1 GiB") }
        guard (1...65536).contains(c.connectionLimit) else {
            throw invalid("connectionLimit \(c.connectionLimit) must be within 1...65536")
        }
        guard (1...86400).contains(c.connectionTimeoutSeconds) else {
            throw invalid("connectionTimeoutSeconds \(c.connectionTimeoutSeconds) must be within 1...86400")
        }
        if let tls = c.tls, tls.certificatePEM.isEmpty || tls.privateKeyPEM.isEmpty {
            throw invalid("TLS needs both a certificate and a private key (PEM)")
        }
    }
}

/// A suspended MHD connection as the parking bookkeeping holds it. Only the polling thread
/// creates one, and only the party `SuspendedRequests` picks resumes it.
struct SuspendedConnection: @unchecked Sendable {
    // Sendable by protocol, not by lock: libmicrohttpd allows MHD_resume_connection from any
    // thread, and SuspendedRequests (under MicroHTTPServerCore's Mutex) hands each one out once.
    let pointer: OpaquePointer
}

/// The daemon pointer and the C memory that must live exactly as long as it.
private struct OwnedDaemon: ~Copyable {
    let daemon: OpaquePointer
    let logSink: UnsafeMutablePointer<relay_mhd_log_sink>
    let certificate: UnsafeMutablePointer<CChar>?
    let key: UnsafeMutablePointer<CChar>?

    static func start(configuration: HTTPServerConfiguration, core: MicroHTTPServerCore) throws -> OwnedDaemon {
        let coreRef = Unmanaged.passUnretained(core).toOpaque()
        let logSink = UnsafeMutablePointer<relay_mhd_log_sink>.allocate(capacity: 1)
        logSink.initialize(to: relay_mhd_log_sink(log: { cls, message in
            guard let cls, let message else { return }
            Unmanaged<MicroHTTPServerCore>.fromOpaque(cls).takeUnretainedValue().log(String(cString: message))
        }, cls: coreRef))
        let certificate = configuration.tls.map { strdup($0.certificatePEM) } ?? nil
        let key = configuration.tls.map { strdup($0.privateKeyPEM) } ?? nil
        var failure = RELAY_MHD_START_OK
        let started = relay_mhd_start(
            configuration.host, UInt16(configuration.port),
            UInt32(configuration.connectionLimit), UInt32(configuration.connectionTimeoutSeconds),
            certificate, key,
            { cls, connection, url, method, _, uploadData, uploadSize, context in
                guard let cls, let connection, let url, let method, let uploadSize, let context else { return .NO }
                return Unmanaged<MicroHTTPServerCore>.fromOpaque(cls).takeUnretainedValue()
                    .access(connection: connection, url: url, method: method, uploadData: uploadData,
                            uploadSize: uploadSize, context: context)
            }, coreRef,
            { cls, _, context, _ in
                guard let cls, let context, let raw = context.pointee else { return }
                context.pointee = nil
                Unmanaged<MicroHTTPServerCore>.fromOpaque(cls).takeUnretainedValue().completed(exchange: raw)
            }, coreRef,
            logSink, &failure)
        guard let started else {
            Foundation.free(certificate)
            Foundation.free(key)
            logSink.deallocate()
            let reason = core.lastLogLine() ?? "no reason logged"
            switch failure {
            case RELAY_MHD_START_BAD_HOST:
                throw HTTPServerError(kind: .badHost, detail: "cannot listen on '\(configuration.host)': not a local address (use e.g. 127.0.0.1, 0.0.0.0 or ::1)")
            case RELAY_MHD_START_NO_TLS:
                throw HTTPServerError(kind: .startFailed, detail: "this libmicrohttpd has no TLS support; terminate TLS in a reverse proxy instead")
            default:
                let scheme = configuration.tls == nil ? "http" : "https"
                throw HTTPServerError(kind: .startFailed, detail: "cannot start \(scheme) listener on \(configuration.host):\(configuration.port): \(reason) (port in use? certificate/key valid and matching?)")
            }
        }
        return OwnedDaemon(daemon: started, logSink: logSink, certificate: certificate, key: key)
    }

    consuming func free() {
        Foundation.free(certificate)
        Foundation.free(key)
        logSink.deallocate()
    }
}

/// What the C callbacks reach through their `cls` pointer. The server keeps it alive for the
/// daemon's lifetime; handler Tasks keep it alive until they have delivered their answer.
final class MicroHTTPServerCore: Sendable {
    let handler: HTTPHandler
    let maxBodyBytes: Int
    let logger: Logger
    let exchangesAlive = Atomic<Int>(0)
    private let suspended = Mutex(SuspendedRequests<SuspendedConnection>())
    private let recentLog = Mutex<String?>(nil)

    /// A chunked upload over the cap is read and thrown away up to this many bytes, so the
    /// client still gets its 413; past that the connection is dropped.
    private var discardLimit: Int { maxBodyBytes + 1 << 20 }

    init(handler: @escaping HTTPHandler, maxBodyBytes: Int, logger: Logger) {
        self.handler = handler
        self.maxBodyBytes = maxBodyBytes
        self.logger = logger
    }

    func log(_ message: String) {
        recentLog.withLock { $0 = message }
        logger.info("libmicrohttpd: \(message)")
    }

    func lastLogLine() -> String? { recentLog.withLock { $0 } }

    func stopAndReleaseParked() -> [SuspendedConnection] {
        suspended.withLock { $0.stopAndReleaseAll(answering: Self.shuttingDown) }
    }

    /// After `stopAndReleaseParked`: waits out handler tasks that are inside their
    /// MHD_resume_connection call right now (a few instructions; no new ones can start).
    func waitForResumesInProgress() {
        while suspended.withLock({ $0.resumesInProgress }) > 0 { sched_yield() }
    }

    // MARK: Polling-thread callbacks

    func access(connection: OpaquePointer, url: UnsafePointer<CChar>, method: UnsafePointer<CChar>,
                uploadData: UnsafePointer<CChar>?, uploadSize: UnsafeMutablePointer<Int>,
                context: UnsafeMutablePointer<UnsafeMutableRawPointer?>) -> MHD_Result {
        guard let raw = context.pointee else {
            // First call: the headers are in, no body yet.
            let exchange = Exchange(owner: self)
            context.pointee = Unmanaged.passRetained(exchange).toOpaque()
            if let declared = Self.lookup(connection, .HEADER_KIND, "Content-Length").flatMap({ Int($0) }) {
                if declared > maxBodyBytes {
                    exchange.phase = .answered
                    return Self.queue(tooLarge, on: connection)
                }
                if declared > 0 { exchange.body.reserveCapacity(declared) }
            }
            return .YES
        }
        let exchange = Unmanaged<Exchange>.fromOpaque(raw).takeUnretainedValue()

        let size = uploadSize.pointee
        if size > 0 {
            uploadSize.pointee = 0
            switch exchange.phase {
            case .receiving:
                if exchange.body.count + size > maxBodyBytes {
                    exchange.phase = .discarding(bytes: exchange.body.count + size)
                    exchange.body = Data()
                } else if let uploadData {
                    exchange.body.append(UnsafeRawPointer(uploadData).assumingMemoryBound(to: UInt8.self), count: size)
                }
            case .discarding(let bytes):
                guard bytes + size <= discardLimit else { return .NO }
                exchange.phase = .discarding(bytes: bytes + size)
            case .parked, .answered:
                break
            }
            return .YES
        }

        switch exchange.phase {
        case .receiving:
            return startHandler(exchange, connection: connection, url: url, method: method)
        case .discarding:
            exchange.phase = .answered
            return Self.queue(tooLarge, on: connection)
        case .parked(let id):
            exchange.phase = .answered
            let answer = suspended.withLock { $0.takeAnswer(id) }
            return Self.queue(answer ?? Self.lostAnswer, on: connection)
        case .answered:
            return .NO
        }
    }

    func completed(exchange raw: UnsafeMutableRawPointer) {
        let exchange = Unmanaged<Exchange>.fromOpaque(raw).takeRetainedValue()
        if case .parked(let id) = exchange.phase {
            suspended.withLock { $0.forget(id) }
        }
    }

    private func startHandler(_ exchange: Exchange, connection: OpaquePointer,
                              url: UnsafePointer<CChar>, method: UnsafePointer<CChar>) -> MHD_Result {
        if suspended.withLock({ $0.stopping }) {
            exchange.phase = .answered
            return Self.queue(Self.shuttingDown, on: connection)
        }
        var address = [CChar](repeating: 0, count: 64)
        let remote = relay_mhd_client_address(connection, &address, address.count) == 1
            ? String(decoding: address.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : nil
        var query: [String: String] = [:]
        for (name, value) in Self.values(connection, .GET_ARGUMENT_KIND) where query[name] == nil {
            query[name] = value
        }
        var headers = HTTPHeaders()
        for (name, value) in Self.values(connection, .HEADER_KIND) { headers.add(name, value) }
        let request = HTTPRequest(method: String(cString: method), path: String(cString: url), query: query,
                                  headers: headers, body: exchange.body, remoteAddress: remote)
        exchange.body = Data()

        let id = suspended.withLock { $0.reserveID() }
        exchange.phase = .parked(id)
        MHD_suspend_connection(connection)
        let parked = suspended.withLock {
            $0.park(id, connection: SuspendedConnection(pointer: connection), orAnswer: Self.shuttingDown)
        }
        guard parked else {
            // stop() began between the check above and the suspend: nobody else resumes it.
            MHD_resume_connection(connection)
            return .YES
        }
        let handler = self.handler
        Task.detached { [self] in
            let response = await handler(request)
            if let connection = suspended.withLock({ $0.answer(id, with: response) }) {
                MHD_resume_connection(connection.pointer)
                suspended.withLock { $0.resumeDone() }
            }
        }
        return .YES
    }

    // MARK: Helpers (polling thread)

    private var tooLarge: HTTPResponse {
        HTTPResponse(status: 413, contentType: "text/plain; charset=utf-8",
                     text: "request body larger than \(maxBodyBytes) bytes\n", headers: ["Connection": "close"])
    }

    private static let shuttingDown = HTTPResponse(
        status: 503, contentType: "text/plain; charset=utf-8", text: "server is shutting down\n",
        headers: ["Connection": "close", "Retry-After": "1"])

    private static let lostAnswer = HTTPResponse(
        status: 500, contentType: "text/plain; charset=utf-8", text: "handler answer lost\n")

    private static func queue(_ response: HTTPResponse, on connection: OpaquePointer) -> MHD_Result {
        let made = response.body.withUnsafeBytes { bytes -> OpaquePointer? in
            // MUST_COPY: libmicrohttpd takes its own copy, the Data can go away.
            MHD_create_response_from_buffer(bytes.count, UnsafeMutableRawPointer(mutating: bytes.baseAddress),
                                            .RESPMEM_MUST_COPY)
        }
        guard let made else { return .NO }
        defer { MHD_destroy_response(made) }
        for (name, value) in response.headers {
            // libmicrohttpd computes Content-Length itself and refuses a second one.
            if name.caseInsensitiveCompare("Content-Length") == .orderedSame { continue }
            _ = MHD_add_response_header(made, name, value)
        }
        let status = (100...599).contains(response.status) ? UInt32(response.status) : 500
        return MHD_queue_response(connection, status, made)
    }

    private static func lookup(_ connection: OpaquePointer, _ kind: MHD_ValueKind, _ name: String) -> String? {
        MHD_lookup_connection_value(connection, kind, name).map { String(cString: $0) }
    }

    private static func values(_ connection: OpaquePointer, _ kind: MHD_ValueKind) -> [(String, String)] {
        var collected: [(String, String)] = []
        withUnsafeMutablePointer(to: &collected) { sink in
            _ = MHD_get_connection_values(connection, kind, { cls, _, key, value in
                guard let cls, let key else { return .YES }
                cls.assumingMemoryBound(to: [(String, String)].self).pointee
                    .append((String(cString: key), value.map { String(cString: $0) } ?? ""))
                return .YES
            }, sink)
        }
        return collected
    }
}

/// One request's state between libmicrohttpd callbacks; lives in `con_cls`, touched only on the
/// polling thread, freed by the request-completed callback.
private final class Exchange {
    enum Phase {
        case receiving
        /// Over the cap: the rest of the body is read and dropped, the answer will be 413.
        case discarding(bytes: Int)
        /// The handler runs; the connection is suspended.
        case parked(UInt64)
        case answered
    }

    var phase = Phase.receiving
    var body = Data()
    /// Counts live exchanges so tests (and metrics) can see none leak.
    private let owner: MicroHTTPServerCore

    init(owner: MicroHTTPServerCore) {
        self.owner = owner
        owner.exchangesAlive.add(1, ordering: .relaxed)
    }

    deinit { owner.exchangesAlive.subtract(1, ordering: .relaxed) }
}

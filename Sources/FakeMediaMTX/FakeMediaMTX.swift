import Foundation
import Logging
import Relay
import Synchronization

/// A MediaMTX stand-in: RTMP ingest with MediaMTX's path rules, its v3 API, one FLV
/// recording per publish and a stream check per path. For tests, the demo and
/// `relayd fake-mediamtx`.
///
///     let mtx = FakeMediaMTX(configuration: .init(rtmpPort: 0, apiPort: 0, recordDirectory: dir))
///     try mtx.start()
///     // publish to rtmp://127.0.0.1:\(mtx.rtmpPort)/guest1
///     let ok = await mtx.waitUntilReady(path: "guest1", timeout: .seconds(5))
public final class FakeMediaMTX: Sendable {
    public struct Configuration: Sendable {
        /// IPv4 address both listeners bind.
        public var host = "127.0.0.1"
        /// 0 picks a free port (read `rtmpPort` after `start()`).
        public var rtmpPort = 1935
        /// 0 picks a free port; nil runs without the HTTP API.
        public var apiPort: Int? = 9997
        /// Where recordings go; nil records nothing.
        public var recordDirectory: URL?
        /// A connection that sends nothing for this long is dropped (MediaMTX's `readTimeout`).
        public var readTimeout: Duration = .seconds(10)
        /// A client that has not finished the handshake and `connect` by then is dropped.
        public var handshakeTimeout: Duration = .seconds(10)
        /// Connections beyond this are refused at accept.
        public var maxConnections = 64
        public var session = RTMPServerSession.Configuration()

        public init(host: String = "127.0.0.1", rtmpPort: Int = 1935, apiPort: Int? = 9997, recordDirectory: URL? = nil,
                    readTimeout: Duration = .seconds(10), handshakeTimeout: Duration = .seconds(10)) {
            self.host = host
            self.rtmpPort = rtmpPort
            self.apiPort = apiPort
            self.recordDirectory = recordDirectory
            self.readTimeout = readTimeout
            self.handshakeTimeout = handshakeTimeout
        }
    }

    public enum Event: Sendable {
        case publishStarted(path: String, connectionID: String)
        case pathReady(PathState)
        case publishStopped(path: String, connectionID: String, reason: String, streamCheck: StreamCheck)
        case connectionClosed(ClosedConnection)
    }

    public struct StartError: Error, CustomStringConvertible {
        public let description: String
    }

    public let configuration: Configuration
    private let logger: Logger
    private let onEvent: @Sendable (Event) -> Void
    private let state = FakeMediaMTXState()
    private struct Running {
        var ingest: RTMPIngest
        var api: MicroHTTPServer?
    }
    private let running = Mutex<Running?>(nil)

    public init(configuration: Configuration = Configuration(), logger: Logger = Logger(label: "fake-mediamtx"),
                onEvent: @escaping @Sendable (Event) -> Void = { _ in }) {
        self.configuration = configuration
        self.logger = logger
        self.onEvent = onEvent
    }

    deinit { stop() }

    /// Binds both listeners and starts serving. Throws when a port is taken or bad.
    public func start() throws {
        try running.withLock { running in
            guard running == nil else { return }
            let ingest: RTMPIngest
            do {
                ingest = try RTMPIngest(configuration: configuration, logger: logger, state: state, onEvent: onEvent)
            } catch {
                throw StartError(description: "\(error)")
            }
            var api: MicroHTTPServer?
            if let apiPort = configuration.apiPort {
                let handler = MediaMTXAPI(state: state).handler
                api = try MicroHTTPServer(configuration: HTTPServerConfiguration(host: configuration.host, port: apiPort, logger: logger),
                                          handler: handler)
            }
            ingest.start()
            running = Running(ingest: ingest, api: api)
            logger.info("fake-mediamtx listening: RTMP \(configuration.host):\(ingest.port), API \(api.map { "http://\(configuration.host):\($0.port)" } ?? "off")")
        }
    }

    /// Closes every connection (finishing recordings) and both listeners. Idempotent.
    public func stop() {
        let current = running.withLock { r -> Running? in defer { r = nil }; return r }
        guard let current else { return }
        current.api?.stop(gracePeriod: .milliseconds(200))
        current.ingest.stop()
        state.cancelWaiters()
        logger.info("fake-mediamtx stopped (RTMP port \(current.ingest.port) released)")
    }

    /// The RTMP port (the real one when 0 was asked); nil before `start()`.
    public var rtmpPort: Int? { running.withLock { $0?.ingest.port } }
    /// The API port; nil before `start()` or when the API is off.
    public var apiPort: Int? { running.withLock { $0?.api?.port } }
    /// `http://host:apiPort`, for an HTTP client.
    public var apiBaseURL: String? { apiPort.map { "http://\(configuration.host):\($0)" } }

    /// Everything at once, consistent.
    public var snapshot: FakeMediaMTXSnapshot { state.snapshot }
    /// The path while it is published (ready or not), nil otherwise.
    public func path(named name: String) -> PathState? { state.snapshot.paths[name] }
    /// The live stream check of the path, or the last one after it ended.
    public func streamCheck(path name: String) -> StreamCheck? {
        let s = state.snapshot
        return s.paths[name]?.streamCheck ?? s.lastStreamCheck[name]
    }
    /// Every recording made for the path, oldest first.
    public func recordings(path name: String) -> [URL] { state.snapshot.recordings[name] ?? [] }
    public var counters: FakeMediaMTXCounters { state.snapshot.counters }
    public var closedConnections: [ClosedConnection] { state.snapshot.closed }

    /// True once the path is ready (resumed by the ingest when it happens), false on timeout.
    public func waitUntilReady(path name: String, timeout: Duration) async -> Bool {
        await state.wait(timeout: timeout) { $0.paths[name]?.ready == true }
    }

    /// True once the path is no longer published, false on timeout.
    public func waitUntilGone(path name: String, timeout: Duration) async -> Bool {
        await state.wait(timeout: timeout) { $0.paths[name] == nil }
    }

    /// True once `predicate` holds for the state, false on timeout (checked on every change).
    public func wait(timeout: Duration, until predicate: @escaping @Sendable (FakeMediaMTXSnapshot) -> Bool) async -> Bool {
        await state.wait(timeout: timeout, until: predicate)
    }
}

import Foundation
import Logging
import Relay

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One accepted RTMP connection; touched only by the ingest thread.
final class IngestConnection {
    let socket: OwnedFD
    let id: String
    let remote: String
    let created = ContinuousClock.now
    var lastInput = ContinuousClock.now
    var session: RTMPServerSession
    var pendingOutput: [UInt8] = []
    var bytesSent: UInt64 = 0
    /// Set while this connection publishes a path.
    var publishedPath: String?
    var check = StreamCheck()
    var recorder: FLVRecorder?
    var isClosed = false

    init(socket: OwnedFD, remote: String, session: RTMPServerSession) {
        self.socket = socket
        self.remote = remote
        self.session = session
        self.id = UUID().uuidString.lowercased()
    }
}

/// The RTMP side of FakeMediaMTX: one thread runs a poll loop over the listener, a wake pipe
/// and every connection (bounded by `maxConnections`); each connection runs an
/// `RTMPServerSession`. Publish results go into `FakeMediaMTXState` for the API and tests.
final class RTMPIngest: @unchecked Sendable {
    // @unchecked: `connections`, `recordingSequence` and the session values are touched only by
    // the ingest thread; `stopRequested` is guarded by `stopLock`; the fds are immutable.
    private let configuration: FakeMediaMTX.Configuration
    private let logger: Logger
    private let state: FakeMediaMTXState
    private let onEvent: @Sendable (FakeMediaMTX.Event) -> Void
    private let listener: OwnedFD
    private let wake: WakePipe
    let port: Int
    private var connections: [IngestConnection] = []
    private var recordingSequence = 0
    private let stopLock = NSLock()
    private var stopRequested = false
    private let finished = DispatchSemaphore(value: 0)

    init(configuration: FakeMediaMTX.Configuration, logger: Logger, state: FakeMediaMTXState,
         onEvent: @escaping @Sendable (FakeMediaMTX.Event) -> Void) throws {
        (listener, port) = try PosixSocket.makeListener(host: configuration.host, port: configuration.rtmpPort)
        wake = try WakePipe()
        self.configuration = configuration
        self.logger = logger
        self.state = state
        self.onEvent = onEvent
    }

    func start() {
        let thread = Thread { [self] in
            run()
            finished.signal()
        }
        thread.name = "fake-mediamtx-rtmp"
        thread.start()
    }

    /// Closes every connection (recordings are finished) and the listener; blocks until done.
    func stop() {
        let first = stopLock.withLock { () -> Bool in defer { stopRequested = true }; return !stopRequested }
        guard first else { return }
        wake.wake()
        finished.wait()
    }

    private var shouldStop: Bool { stopLock.withLock { stopRequested } }

    private func run() {
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while !shouldStop {
            var fds = [pollfd(fd: listener.fd, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: wake.readDescriptor, events: Int16(POLLIN), revents: 0)]
            for c in connections {
                fds.append(pollfd(fd: c.socket.fd, events: Int16(POLLIN) | (c.pendingOutput.isEmpty ? 0 : Int16(POLLOUT)), revents: 0))
            }
            let ready = poll(&fds, nfds_t(fds.count), pollTimeoutMs())
            if ready < 0 && errno != EINTR { logger.error("RTMP poll failed: \(String(cString: strerror(errno)))"); break }
            if fds[1].revents != 0 { wake.drain() }
            let polled = connections
            for (i, c) in polled.enumerated() where fds[i + 2].revents != 0 && !c.isClosed {
                service(c, revents: fds[i + 2].revents, buffer: &buffer)
            }
            expireTimeouts()
            connections.removeAll { $0.isClosed }
            if fds[0].revents != 0 { acceptAll() }
        }
        listener.close()
        for c in connections { close(c, reason: "server stopping") }
        connections.removeAll()
    }

    /// Until the nearest handshake or read deadline (at least 1 ms, at most 1 s).
    private func pollTimeoutMs() -> Int32 {
        let now = ContinuousClock.now
        var next = now + .seconds(1)
        for c in connections {
            next = min(next, c.lastInput + configuration.readTimeout)
            if !c.session.isPastConnect { next = min(next, c.created + configuration.handshakeTimeout) }
        }
        let ms = (next - now).components.seconds * 1000 + (next - now).components.attoseconds / 1_000_000_000_000_000
        return Int32(max(1, min(1000, ms + 1)))
    }

    private func acceptAll() {
        while let (socket, remote) = PosixSocket.acceptOne(listener.fd) {
            guard connections.count < configuration.maxConnections else {
                logger.warning("RTMP connection from \(remote) refused: \(configuration.maxConnections) connections already open")
                state.update { $0.counters.connectionsRefused += 1 }
                continue  // `socket` closes here
            }
            let c = IngestConnection(socket: socket, remote: remote, session: RTMPServerSession(configuration: configuration.session))
            connections.append(c)
            logger.info("RTMP conn \(c.id) opened from \(remote)")
            let info = RTMPConnectionState(id: c.id, created: Date(), remoteAddr: remote, state: "idle", path: "", bytesReceived: 0, bytesSent: 0)
            state.update {
                $0.counters.connectionsAccepted += 1
                $0.connections[c.id] = info
            }
        }
    }

    private func service(_ c: IngestConnection, revents: Int16, buffer: inout [UInt8]) {
        if revents & Int16(POLLOUT) != 0 { flush(c) }
        guard revents & (Int16(POLLIN) | Int16(POLLHUP) | Int16(POLLERR)) != 0 else { return }
        // Read what is there now (bounded per wake so one busy client cannot starve others).
        for _ in 0..<8 where !c.isClosed {
            switch PosixSocket.receive(c.socket.fd, into: &buffer) {
            case .done(let n):
                c.lastInput = ContinuousClock.now
                handle(c.session.receive(buffer[0..<n]), on: c)
                if n < buffer.count { return }
            case .wouldBlock: return
            case .closed: close(c, reason: c.publishedPath == nil ? "client closed the connection" : "publisher closed the connection"); return
            case .failed(let why): close(c, reason: "read failed: \(why)"); return
            }
        }
    }

    private func handle(_ actions: [RTMPServerSession.Action], on c: IngestConnection) {
        for action in actions {
            guard !c.isClosed || isCloseEvent(action) else { return }
            switch action {
            case .send(let bytes): send(bytes, to: c)
            case .event(let event): handle(event, on: c)
            }
        }
        if !c.isClosed {
            let received = c.session.bytesReceived
            let sent = c.bytesSent
            state.update {
                $0.connections[c.id]?.bytesReceived = received
                $0.connections[c.id]?.bytesSent = sent
            }
        }
    }

    private func isCloseEvent(_ action: RTMPServerSession.Action) -> Bool {
        if case .event(.closed) = action { return true }
        return false
    }

    private func handle(_ event: RTMPServerSession.Event, on c: IngestConnection) {
        switch event {
        case .connected(let app, let tcUrl):
            logger.debug("RTMP conn \(c.id) connect app='\(app)' tcUrl=\(tcUrl ?? "-")")
        case .publishRequested:
            startPublish(c)
        case .media(let tag):
            guard let path = c.publishedPath else { return }
            media(tag, path: path, on: c)
        case .unpublished:
            if let path = c.publishedPath { endPublish(c, path: path, reason: "publisher unpublished") }
        case .closed(let error):
            let reason = error.map { "protocol error: \($0)" } ?? "session closed"
            if error != nil { state.update { $0.counters.protocolErrors += 1 } }
            close(c, reason: reason)
        }
    }

    private func startPublish(_ c: IngestConnection) {
        let path = c.session.path
        guard !path.isEmpty else {
            send(c.session.rejectPublish(description: "an empty path cannot be published"), to: c)
            close(c, reason: "publish with an empty path")
            return
        }
        // MediaMTX's overridePublisher: the newcomer wins, the old publisher is closed.
        for old in connections where old !== c && old.publishedPath == path && !old.isClosed {
            state.update { $0.counters.replacedPublishers += 1 }
            close(old, reason: "replaced by a new publisher on '\(path)' (conn \(c.id))")
        }
        send(c.session.acceptPublish(), to: c)
        c.publishedPath = path
        c.check = StreamCheck()
        var recording: URL?
        if let dir = configuration.recordDirectory {
            recordingSequence += 1
            let url = FLVRecorder.fileURL(directory: dir, path: path, date: Date(), sequence: recordingSequence)
            do {
                c.recorder = try FLVRecorder(url: url)
                recording = url
            } catch {
                logger.error("RTMP conn \(c.id): cannot record '\(path)' to \(url.path): \(error)")
            }
        }
        let pathState = PathState(name: path, sourceID: c.id, remoteAddr: c.remote, publishStarted: Date(), readyTime: nil,
                                  tracks: [], bytesReceived: c.session.bytesReceived, streamCheck: c.check, recording: recording)
        state.update { s in
            s.counters.publishes += 1
            if recording != nil { s.counters.recordingsStarted += 1 }
            s.paths[path] = pathState
            s.connections[c.id]?.state = "publish"
            s.connections[c.id]?.path = path
            if let recording { s.recordings[path, default: []].append(recording) }
        }
        logger.info("RTMP conn \(c.id) from \(c.remote) is publishing to path '\(path)'\(recording.map { ", recording to \($0.path)" } ?? "")")
        onEvent(.publishStarted(path: path, connectionID: c.id))
    }

    private func media(_ tag: FLVTag, path: String, on c: IngestConnection) {
        let wasReady = c.check.isReady
        c.check.observe(tag)
        if let failure = c.recorder?.append(tag) {
            // The recording stops; the publish goes on (MediaMTX logs recorder errors the same way).
            c.recorder = nil
            logger.error("RTMP conn \(c.id): \(failure); path '\(path)' keeps being published without a recording")
            state.update { s in
                s.counters.recordingsFailed += 1
                if s.paths[path]?.sourceID == c.id { s.paths[path]?.recordingError = failure }
            }
        }
        let check = c.check
        let bytes = c.session.bytesReceived
        let becameReady = !wasReady && check.isReady
        let snapshot: PathState? = state.update { s in
            guard s.paths[path]?.sourceID == c.id else { return nil }
            s.paths[path]?.streamCheck = check
            s.paths[path]?.bytesReceived = bytes
            s.paths[path]?.tracks = check.trackNames
            if becameReady { s.paths[path]?.readyTime = Date() }
            return becameReady ? s.paths[path] : nil
        }
        if let snapshot {
            logger.info("path '\(path)' is ready with tracks \(snapshot.tracks)")
            onEvent(.pathReady(snapshot))
        }
    }

    /// Ends the publish; `closing` records the connection's end in the same state change, and the
    /// log line goes out before it, so whoever sees the path gone also sees why.
    private func endPublish(_ c: IngestConnection, path: String, reason: String, closing: ClosedConnection? = nil) {
        c.publishedPath = nil
        c.recorder?.close()
        c.recorder = nil
        let check = c.check
        logger.info("path '\(path)' unpublished by conn \(c.id) (\(reason)); stream check: \(check)")
        state.update { s in
            if s.paths[path]?.sourceID == c.id { s.paths[path] = nil }
            s.lastStreamCheck[path] = check
            s.connections[c.id]?.state = "idle"
            if let closing { s.recordClosed(closing) }
        }
        onEvent(.publishStopped(path: path, connectionID: c.id, reason: reason, streamCheck: check))
    }

    private func send(_ bytes: [UInt8], to c: IngestConnection) {
        guard !bytes.isEmpty else { return }
        c.pendingOutput.append(contentsOf: bytes)
        flush(c)
    }

    private func flush(_ c: IngestConnection) {
        while !c.pendingOutput.isEmpty {
            switch PosixSocket.transmit(c.socket.fd, c.pendingOutput[...]) {
            case .done(let n):
                c.pendingOutput.removeFirst(n)
                c.bytesSent += UInt64(n)
            case .wouldBlock:
                // A client that never reads its replies is not a publisher we need to keep.
                if c.pendingOutput.count > 1 << 20 { close(c, reason: "client does not read the server's replies") }
                return
            case .closed, .failed:
                close(c, reason: "write failed: the client went away")
                return
            }
        }
    }

    private func expireTimeouts() {
        let now = ContinuousClock.now
        for c in connections where !c.isClosed {
            if !c.session.isPastConnect && now - c.created > configuration.handshakeTimeout {
                state.update { $0.counters.handshakeTimeouts += 1 }
                close(c, reason: "handshake/connect not finished within \(configuration.handshakeTimeout)")
            } else if now - c.lastInput > configuration.readTimeout {
                state.update { $0.counters.readTimeouts += 1 }
                close(c, reason: "read timeout: nothing received for \(configuration.readTimeout)")
            }
        }
    }

    /// Ends the publish (if any), logs why, and marks the connection closed; the fd closes
    /// when the loop drops the connection.
    private func close(_ c: IngestConnection, reason: String) {
        guard !c.isClosed else { return }
        c.isClosed = true
        let path = c.publishedPath
        let closed = ClosedConnection(id: c.id, remoteAddr: c.remote, path: path, reason: reason)
        shutdown(c.socket.fd, Int32(SHUT_RDWR))
        logger.notice("RTMP conn \(c.id) from \(c.remote) closed: \(reason)")
        if let path {
            endPublish(c, path: path, reason: reason, closing: closed)
        } else {
            state.update { $0.recordClosed(closed) }
        }
        onEvent(.connectionClosed(closed))
    }
}

extension RTMPServerSession {
    /// Past the handshake and `connect`: the client has shown it speaks RTMP.
    var isPastConnect: Bool {
        switch state {
        case .connected, .publishRequested, .publishing: true
        case .handshaking, .connecting, .closed: false
        }
    }
}

extension FakeMediaMTXSnapshot {
    mutating func recordClosed(_ closed: ClosedConnection) {
        connections[closed.id] = nil
        self.closed.append(closed)
        if self.closed.count > 1000 { self.closed.removeFirst(self.closed.count - 1000) }
    }
}

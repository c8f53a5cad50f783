import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Publishes H.264 + AAC to an RTMP server over TCP: runs `RTMPPublisherSession` on its own
/// thread with a poll loop. The media path calls `send(video:…)` / `send(audio:…)`, which only
/// enqueue (never block); the bounded `RTMPSendQueue` drops under backpressure. When the
/// connection fails it reconnects with backoff (250 ms doubling to 5 s), and each new publish
/// starts with metadata, sequence headers and a keyframe (asked for through `onKeyframeRequest`).
///
/// `onEvent` and `onKeyframeRequest` run on the publisher's thread (keyframe requests may
/// also come from the thread calling `send(video:…)`): keep them short and non-blocking.
/// The worker thread holds the publisher until `stop()`; call it to release everything.
///
/// `@unchecked Sendable`: every mutable property below `lock` is read and written only while
/// holding `lock`; the socket and session live in the worker thread's stack frame.
public final class RTMPPublisher: @unchecked Sendable {
    public struct Configuration: Sendable {
        public var session = RTMPPublisherSession.Configuration()
        public var queue = RTMPSendQueue.Limits()
        public var connectTimeout: Duration = .seconds(3)
        /// From TCP connect to `NetStream.Publish.Start`.
        public var publishTimeout: Duration = .seconds(5)
        public var reconnect = true
        public var backoffInitial: Duration = .milliseconds(250)
        public var backoffMax: Duration = .seconds(5)
        /// Encoded bytes waiting for the socket before the worker stops taking from the queue.
        public var socketHighWater = 256 << 10
        /// SO_SNDBUF; nil keeps the kernel's (auto-tuned, can hold seconds of video on loopback).
        /// Smaller makes backpressure, and so dropping, start sooner.
        public var socketSendBufferSize: Int? = nil
        public init() {}
    }

    public enum Event: Sendable, Equatable {
        case connecting(attempt: Int)
        case publishing(attempt: Int)
        /// The connection ended with an error; a reconnect follows if configured.
        case disconnected(RTMPError)
        case stopped
    }

    public struct Counters: Sendable, Equatable {
        public var queue = RTMPSendQueue.Counters()
        public var session = RTMPPublisherSession.Counters()
        public var videoFramesSent = 0
        public var audioFramesSent = 0
        public var bytesWritten = 0
        public var connects = 0
        public var keyframeRequests = 0
        /// When the first video frame was written for the socket (setup time ends there).
        public var firstVideoFrameAt: Date?
    }

    public let url: RTMPURL
    public let configuration: Configuration
    private let onEvent: @Sendable (Event) -> Void
    private let onKeyframeRequest: @Sendable () -> Void
    /// nil only when the process is out of descriptors: the worker then wakes on its poll timeouts.
    private let wake = try? WakePipe()

    private let lock = NSLock()
    private var queue: RTMPSendQueue
    private var stopRequested = false
    private var started = false
    private var finished = false
    private var stats = Counters()
    private let finishedCondition = NSCondition()

    public init(url: RTMPURL, configuration: Configuration = Configuration(),
                onEvent: @escaping @Sendable (Event) -> Void = { _ in },
                onKeyframeRequest: @escaping @Sendable () -> Void = {}) {
        self.url = url
        self.configuration = configuration
        self.onEvent = onEvent
        self.onKeyframeRequest = onKeyframeRequest
        self.queue = RTMPSendQueue(limits: configuration.queue)
    }

    public var counters: Counters { lock.withLock { stats.queue = queue.counters; return stats } }

    /// Bytes of media waiting in the queue (bounded by `configuration.queue.maxBytes`).
    public var queuedBytes: Int { lock.withLock { queue.bytes } }

    /// Starts the worker thread. The thread keeps the publisher alive until `stop()`.
    public func start() {
        let shouldStart = lock.withLock { () -> Bool in
            defer { started = true }
            return !started
        }
        guard shouldStart else { return }
        let thread = Thread { [self] in run() }
        thread.name = "rtmp-publisher"
        thread.start()
    }

    /// Enqueues one H.264 access unit (Annex-B or AVCC). Never blocks.
    public func send(video accessUnit: [UInt8], pts: Duration, dts: Duration, isKeyframe: Bool) {
        let disposable = !isKeyframe && Self.isDisposable(accessUnit)
        let askKeyframe = lock.withLock {
            queue.push(.video(accessUnit: accessUnit, pts: pts, dts: dts, isKeyframe: isKeyframe, disposable: disposable))
        }
        if askKeyframe { requestKeyframe() }
        wake?.wake()
    }

    /// Enqueues one AAC frame (raw or ADTS). Never blocks.
    public func send(audio frame: [UInt8], pts: Duration) {
        lock.withLock { _ = queue.push(.audio(frame: frame, pts: pts)) }
        wake?.wake()
    }

    /// Stops: drains what is queued (up to `flushTimeout`), sends FCUnpublish + deleteStream,
    /// closes the socket and waits for the worker to end.
    public func stop(flushTimeout: Duration = .seconds(2)) {
        let wasStarted = lock.withLock { () -> Bool in
            stopRequested = true
            flushDeadline = ContinuousClock.now + flushTimeout
            return started
        }
        wake?.wake()
        guard wasStarted else { return }
        finishedCondition.lock()
        while !finished { _ = finishedCondition.wait(until: Date().addingTimeInterval(0.5)) }
        finishedCondition.unlock()
    }

    private var flushDeadline: ContinuousClock.Instant = .now

    private func requestKeyframe() {
        lock.withLock { stats.keyframeRequests += 1 }
        onKeyframeRequest()
    }

    static func isDisposable(_ accessUnit: [UInt8]) -> Bool {
        let nals = H264Bitstream.isAnnexB(accessUnit) ? H264Bitstream.splitAnnexB(accessUnit) : RTMPPublisherSession.splitAVCC(accessUnit)
        let slices = nals.filter { [1, 5].contains(H264Bitstream.nalType($0)) }
        return !slices.isEmpty && slices.allSatisfy(H264Bitstream.isDisposable)
    }

    // MARK: worker thread

    private func run() {
        var attempt = 0
        var backoff = configuration.backoffInitial
        var nextAttempt = ContinuousClock.now
        while !lock.withLock({ stopRequested }) {
            let now = ContinuousClock.now
            if now < nextAttempt {
                waitForWake(until: nextAttempt)
                continue
            }
            attempt += 1
            onEvent(.connecting(attempt: attempt))
            let result = runConnection(attempt: attempt)
            switch result {
            case .stopped:
                break
            case .failed(let error, let published):
                onEvent(.disconnected(error))
                if published { backoff = configuration.backoffInitial }
                lock.withLock { queue.reset() }
                guard configuration.reconnect else {
                    lock.withLock { stopRequested = true }
                    break
                }
                nextAttempt = ContinuousClock.now + backoff
                backoff = min(backoff * 2, configuration.backoffMax)
            }
        }
        onEvent(.stopped)
        finishedCondition.lock()
        finished = true
        finishedCondition.broadcast()
        finishedCondition.unlock()
    }

    private func waitForWake(until deadline: ContinuousClock.Instant) {
        let ms = max(1, RTMPTimestampMapper.milliseconds(deadline - ContinuousClock.now))
        var pfd = pollfd(fd: wake?.readDescriptor ?? -1, events: Int16(POLLIN), revents: 0)
        _ = poll(&pfd, 1, Int32(min(ms, 1000)))
        wake?.drain()
    }

    private enum ConnectionResult { case stopped, failed(RTMPError, published: Bool) }

    private func runConnection(attempt: Int) -> ConnectionResult {
        let socket: TCPSocket
        do {
            socket = try TCPSocket.connect(host: url.host, port: url.port, timeout: configuration.connectTimeout,
                                           sendBufferSize: configuration.socketSendBufferSize)
        } catch {
            return .failed(error, published: false)
        }
        lock.withLock { stats.connects += 1 }
        var session = RTMPPublisherSession(url: url, configuration: configuration.session)
        var outbound = session.start()
        var sent = 0  // bytes of `outbound` already written
        let publishDeadline = ContinuousClock.now + configuration.publishTimeout
        var published = false
        var closing = false
        var readBuffer = [UInt8](repeating: 0, count: 64 << 10)

        func fail(_ error: RTMPError) -> ConnectionResult { .failed(error, published: published) }

        while true {
            let (stop, deadline) = lock.withLock { (stopRequested, flushDeadline) }
            if stop && !closing {
                // Drain the queue first (bounded by the flush deadline), then say goodbye.
                let queueEmpty = lock.withLock { queue.isEmpty }
                if !published || queueEmpty || ContinuousClock.now >= deadline {
                    outbound.append(contentsOf: session.close())
                    closing = true
                }
            }
            if closing && (sent >= outbound.count || ContinuousClock.now >= deadline) { return .stopped }
            if !published && ContinuousClock.now >= publishDeadline {
                return fail(RTMPError(.timeout, "no NetStream.Publish.Start from \(url.host):\(url.port) within \(configuration.publishTimeout) (server up but not answering RTMP commands?)"))
            }

            // Encode queued media while the socket keeps up.
            if published && !closing {
                while outbound.count - sent < configuration.socketHighWater, let item = lock.withLock({ queue.pop() }) {
                    switch item {
                    case .video(let au, let pts, let dts, let key, _):
                        outbound.append(contentsOf: session.sendVideo(accessUnit: au, pts: pts, dts: dts, isKeyframe: key))
                    case .audio(let frame, let pts):
                        outbound.append(contentsOf: session.sendAudio(frame: frame, pts: pts))
                    }
                }
                let c = session.counters
                lock.withLock {
                    if stats.firstVideoFrameAt == nil, c.videoFramesSent > 0 { stats.firstVideoFrameAt = Date() }
                    stats.session = c
                    stats.videoFramesSent = c.videoFramesSent
                    stats.audioFramesSent = c.audioFramesSent
                }
            }

            var fds = [
                pollfd(fd: socket.fd, events: Int16(POLLIN) | (sent < outbound.count ? Int16(POLLOUT) : 0), revents: 0),
                pollfd(fd: wake?.readDescriptor ?? -1, events: Int16(POLLIN), revents: 0),
            ]
            _ = poll(&fds, 2, 50)
            if fds[1].revents != 0 { wake?.drain() }

            if fds[0].revents & (Int16(POLLIN) | Int16(POLLHUP) | Int16(POLLERR)) != 0 {
                switch socket.read(into: &readBuffer) {
                case .done(let n):
                    for action in session.receive(readBuffer[0..<n]) {
                        switch action {
                        case .send(let bytes): outbound.append(contentsOf: bytes)
                        case .event(.publishing):
                            published = true
                            onEvent(.publishing(attempt: attempt))
                            // The queue has held video back since the last reset until a
                            // keyframe; ask for one now so the wait is short.
                            requestKeyframe()
                        case .event(.rejected(let error)): return fail(error)
                        case .event(.closed(let error)):
                            return fail(error ?? RTMPError(.closedByPeer, "session closed"))
                        case .event(.connected): break
                        }
                    }
                case .wouldBlock: break
                case .closed:
                    if closing { return .stopped }
                    return fail(RTMPError(.closedByPeer, "RTMP server \(url.host):\(url.port) closed the connection"))
                case .failed(let reason):
                    return fail(RTMPError(.connectionFailed, "reading from RTMP server failed: \(reason)"))
                }
            }

            while sent < outbound.count {
                switch socket.write(outbound[sent...]) {
                case .done(let n):
                    sent += n
                    lock.withLock { stats.bytesWritten += n }
                    continue
                case .wouldBlock: break
                case .closed: return fail(RTMPError(.closedByPeer, "RTMP server closed the connection"))
                case .failed(let reason):
                    return fail(RTMPError(.connectionFailed, "writing to RTMP server failed: \(reason)"))
                }
                break
            }
            if sent == outbound.count { outbound.removeAll(keepingCapacity: true); sent = 0 }
            else if sent > 1 << 20 { outbound.removeFirst(sent); sent = 0 }
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Relay

/// FakeCalls' SFU media side: ONE UDP socket for every Calls session, served by one dedicated
/// thread running a poll() loop (deadlines, never sleeps).
///
/// Datagrams are demultiplexed first by ICE username (the USERNAME of a STUN request names the
/// SFU's local ufrag, so the session), then by source address (learned from that check and from
/// the pair ICE selects). Each session gets one `PeerConnection(.sfu)` (ICE-lite, DTLS, SRTP)
/// when its offer/answer completes (`negotiated(_:)`, called by `SDPFakeMediaSide`), freed by
/// `sessionClosed(_:)`.
///
/// Forward mode: RTP from a publisher goes to every subscriber of that track with the
/// subscriber's payload types and SSRCs from the SFU's offer (sequence numbers and timestamps
/// kept); PLI/FIR from a subscriber go to the publisher, NACKs are answered from a one-second
/// cache or forwarded. Fixture publishers: `addFixturePublisher` plays files as a published
/// session. Fixture mode (`mediaMode = .fixtures`): a session that publishes with an SDP offer
/// gets recorded RTP (`RecordedRTPPlayer`) on its mids at once, routed like a browser's.
///
/// `@unchecked Sendable`: `lock` guards `commands`, `stopRequested`, `snapshot`, `flowing`,
/// `mode`, `impairmentProfile` and `thread`; the engine (connections, routes) lives on the
/// driver thread only; the wake-up pipe is closed after the thread was joined.
public final class FakeSFUMedia: @unchecked Sendable {
    /// The bound address (the candidate every session's SDP announces).
    public let localAddress: SocketAddress

    private enum Command {
        case negotiated(SFUNegotiation)
        /// Signalled once every command before it was applied.
        case applied(DispatchSemaphore)
        case closed(String)
        case fixture(session: String, sources: [FixtureMediaSource])
        case record(RecordCommand)
        case playRecorded(SFUNegotiation, FixtureCatalog)
        case impair(NetworkImpairment.Profile?)
        case pausePlayback
    }

    private let lock = NSLock()
    private var commands: [Command] = []
    private var stopRequested = false
    private var snapshot = FakeSFUMediaStatistics()
    private var flowing = Set<String>()
    private var mode: FakeCallsOptions.MediaMode = .forward
    private var impairmentProfile: NetworkImpairment.Profile?
    private var thread: Thread?
    private let finished = DispatchSemaphore(value: 0)
    private let wakeup: WakePipe
    /// Used by the driver thread only (closed by it on the way out).
    private let socket: UDPSocket

    /// Binds the media socket (port 0 picks one) and starts the driver thread.
    /// - Parameter onPublisherFlowing: called once per publisher session, on the driver thread,
    ///   when its first RTP arrives (FakeCallsServer marks the session flowing with it).
    /// - Parameter recordDirectory: record mode (see `FakeCallsOptions.recordDirectory`); nil: off.
    /// - Parameter recordKeyframeInterval: see `FakeCallsOptions.recordKeyframeInterval`.
    public init(bindTo address: SocketAddress, recordDirectory: String? = nil, recordKeyframeInterval: Duration? = nil,
                onPublisherFlowing: @escaping @Sendable (String) -> Void = { _ in }) throws {
        let socket = try UDPSocket(bindTo: address)
        do {
            wakeup = try WakePipe()
        } catch {
            throw FixtureMediaSource.LoadError(description: "the SFU media thread: \(error)")
        }
        localAddress = socket.localAddress
        self.socket = socket
        let thread = Thread { [self] in
            let engine = SFUMediaEngine(socket: self.socket, now: .now, onPublisherFlowing: onPublisherFlowing)
            engine.recorder = recordDirectory.map {
                PublisherRecorder(directory: $0, keyframeInterval: recordKeyframeInterval, now: .now)
            }
            self.run(engine)
        }
        thread.name = "fakecalls-sfu-media"
        self.thread = thread
        thread.start()
    }

    deinit {
        stop()
    }

    /// The thread holds this object until `stop()` (FakeCallsServer's stop/deinit calls it).
    /// Stops the thread (closing every connection with close_notify) and closes the socket.
    /// Idempotent.
    public func stop() {
        let running = lock.withLock {
            defer { stopRequested = true }
            return thread != nil && !stopRequested
        }
        guard running else { return }
        wake()
        finished.wait()
        lock.withLock { thread = nil }
        wakeup.close()
    }

    /// A session's offer/answer completed: create (or update) its connection and routes. In
    /// fixture mode a publisher's tracks start playing from recordings at once.
    public func negotiated(_ negotiation: SFUNegotiation) {
        enqueue(.negotiated(negotiation))
        if case .fixtures(let catalog) = mediaMode, !negotiation.published.isEmpty {
            enqueue(.playRecorded(negotiation, catalog))
        }
        // Real Calls answers once its SFU knows the session. Without this wait the answer could
        // reach the subscriber before the media thread did, its first ICE check would be dropped
        // as unrouted, and the retransmission (250 ms later) would show up as join time.
        let applied = DispatchSemaphore(value: 0)
        enqueue(.applied(applied))
        if !lock.withLock({ stopRequested }) { _ = applied.wait(timeout: .now() + .seconds(1)) }
    }

    /// Where publishers' media comes from for sessions negotiated from now on (sessions already
    /// playing recordings keep playing until they close).
    public var mediaMode: FakeCallsOptions.MediaMode {
        get { lock.withLock { mode } }
        set { lock.withLock { mode = newValue } }
    }

    /// A netem-like impairment of every datagram the SFU media side sends and receives
    /// (`FakeCallsOptions.impairment`); setting it starts its burst schedule anew, nil turns it
    /// off (datagrams it held back are dropped).
    public var impairment: NetworkImpairment.Profile? {
        get { lock.withLock { impairmentProfile } }
        set {
            lock.withLock { impairmentProfile = newValue }
            enqueue(.impair(newValue))
        }
    }

    /// Fixture mode: every recording stops sending (sessions and connections stay), so a test
    /// can let what is in flight arrive before it compares frames sent with frames relayed.
    public func pauseRecordedPlayback() { enqueue(.pausePlayback) }

    /// The session ended: close and free its connection, stop its fixture.
    public func sessionClosed(_ session: String) { enqueue(.closed(session)) }

    /// Starts playing files as the published tracks of `session` (mid "0" video, "1" audio when
    /// both are given). Returns the tracks to list in the Calls API and the SFU codecs per mid.
    func addFixture(session: String, video: String?, audio: String?) throws
        -> (tracks: [FakeLocalTrack], codecs: [String: SDPCodec])
    {
        var sources: [FixtureMediaSource] = []
        let start = ContinuousClock.now + .milliseconds(20)
        if let video {
            sources.append(try FixtureMediaSource(path: video, mid: String(sources.count),
                                                  ssrc: UInt32.random(in: 1...UInt32.max), start: start))
        }
        if let audio {
            let source = try FixtureMediaSource(path: audio, mid: String(sources.count),
                                                ssrc: UInt32.random(in: 1...UInt32.max), start: start)
            guard source.kind == "audio" else {
                throw FixtureMediaSource.LoadError(description: "\(audio) is not an Ogg Opus file")
            }
            sources.append(source)
        }
        if let first = sources.first, video != nil, first.kind != "video" {
            throw FixtureMediaSource.LoadError(description: "\(video ?? "") is not H.264 Annex-B or VP8 IVF")
        }
        enqueue(.fixture(session: session, sources: sources))
        return (sources.map { FakeLocalTrack(trackName: $0.kind, mid: $0.mid, kind: $0.kind) },
                Dictionary(uniqueKeysWithValues: sources.map { ($0.mid, $0.sdpCodec) }))
    }

    /// Counters as of the driver thread's last loop turn.
    public var statistics: FakeSFUMediaStatistics { lock.withLock { snapshot } }

    /// True while media of the published track (publisher session, its mid) arrived in the last
    /// two seconds.
    public func isFlowing(session: String, mid: String) -> Bool { lock.withLock { flowing.contains("\(session)/\(mid)") } }

    func enqueueRecord(_ command: RecordCommand) { enqueue(.record(command)) }

    private func enqueue(_ command: Command) {
        lock.withLock { commands.append(command) }
        wake()
    }

    private func wake() { wakeup.wake() }

    // MARK: The driver thread

    private func run(_ engine: SFUMediaEngine) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 16)
        defer {
            buffer.deallocate()
            engine.closeAll()
            engine.socket.close()
            finished.signal()
        }
        var pending: [Command] = []
        var fds = [pollfd(fd: engine.socket.fd, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: wakeup.readDescriptor, events: Int16(POLLIN), revents: 0)]
        var lastFlowingUpdate = ContinuousClock.now
        while true {
            let stopping = lock.withLock {
                swap(&pending, &commands)
                return stopRequested
            }
            if stopping { return }
            for command in pending {
                switch command {
                case .negotiated(let negotiation): engine.negotiated(negotiation, now: .now)
                case .applied(let semaphore): semaphore.signal()
                case .closed(let session): engine.closed(session)
                case .fixture(let session, let sources): engine.addFixture(session: session, sources: sources)
                case .record(let command): command.apply(to: engine.recorder)
                case .playRecorded(let negotiation, let catalog): engine.playRecorded(negotiation, catalog: catalog, now: .now)
                case .impair(let profile): engine.setImpairment(profile, now: .now)
                case .pausePlayback: engine.pauseRecordedPlayback()
                }
            }
            pending.removeAll(keepingCapacity: true)

            let now = ContinuousClock.now
            let timeout = Self.pollMilliseconds(until: engine.nextDeadline(), now: now)
            fds[0].revents = 0
            fds[1].revents = 0
            if poll(&fds, 2, timeout) > 0 {
                if fds[1].revents != 0 { wakeup.drain() }
                if fds[0].revents != 0 {
                    // A bounded batch, so timers and fixtures get their turn under a flood.
                    for _ in 0..<256 {
                        guard let (count, from) = engine.socket.receive(into: buffer) else { break }
                        engine.handle(datagram: UnsafeRawBufferPointer(rebasing: buffer[0..<count]), from: from, now: .now)
                    }
                }
            }
            let after = ContinuousClock.now
            engine.handleTimers(now: after)
            let statistics = engine.statistics
            // The flowing set walks every track: refresh it a few times a second, not per turn.
            let refreshFlowing = after - lastFlowingUpdate > .milliseconds(200)
            let tracks = refreshFlowing ? engine.flowingTracks(now: after) : nil
            if refreshFlowing { lastFlowingUpdate = after }
            lock.withLock {
                snapshot = statistics
                if let tracks { flowing = tracks }
            }
        }
    }

    /// poll()'s timeout: -1 for none, rounded up to whole milliseconds, capped at 200 ms (so the
    /// flowing snapshot stays fresh).
    static func pollMilliseconds(until deadline: ContinuousClock.Instant?, now: ContinuousClock.Instant) -> Int32 {
        guard let deadline else { return 200 }
        guard deadline > now else { return 0 }
        let (seconds, attoseconds) = (deadline - now).components
        let milliseconds = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(min(milliseconds, 200))
    }
}

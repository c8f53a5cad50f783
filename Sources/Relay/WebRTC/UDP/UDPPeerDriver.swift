#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import Foundation

/// Runs one `PeerConnection` over one UDP socket on a dedicated thread.
///
/// Life: `init(bindTo:)` binds the socket (port 0 → ephemeral) so `hostCandidates` can go into
/// the local SDP; `start(configuration:onEvent:)` creates the connection on the driver thread
/// and runs a poll() loop: datagrams are read into one reusable buffer and fed to the
/// connection, its transmits are sent with sendto, and the thread sleeps until the next
/// datagram, command or `pollTimeout()`. Events — media included — are handed to `onEvent` on
/// the driver thread, synchronously and in order (no actor hop per packet): keep it short and
/// never block in it. `sendRTP`/`sendRTCP`/`close` may be called from any thread (including
/// inside `onEvent`): they go through a locked queue and a self-pipe wakeup.
/// `shutdown()` closes the connection (close_notify), joins the thread and closes every
/// descriptor; call it exactly when done (deinit only closes descriptors of a driver never
/// started or already shut down).
///
/// `@unchecked Sendable`: `lock` guards `commands`, `stopRequested`, `snapshot`, `phase` and
/// `thread`; the socket is used by the driver thread only while it runs and closed only after
/// it was joined; everything else is immutable.
public final class UDPPeerDriver: @unchecked Sendable {
    /// The bound address, with the real port.
    public let localAddress: SocketAddress
    /// Host candidates for the local SDP and `PeerConnectionConfiguration.localCandidates`.
    public let hostCandidates: [ICECandidate]

    private enum Command {
        case rtp([UInt8])
        case rtcp([UInt8])
        case close
    }

    private enum Phase {
        case bound, running, stopped
        /// `shutdown()` was called from `onEvent` on the driver thread: the thread cannot join
        /// itself, so it detaches and closes the descriptors on its way out.
        case stoppingOnDriverThread
    }

    private let socket: UDPSocket
    private let wakeup: WakePipe
    private let lock = NSLock()
    private var commands: [Command] = []
    private var stopRequested = false
    private var snapshot = Snapshot()
    private var phase = Phase.bound
    private var thread: pthread_t?

    private struct Snapshot {
        var statistics = PeerConnectionStatistics()
        var state = PeerConnectionState.connecting
        var sendFailures = 0
    }

    /// Binds a UDP socket to `address` (IPv4 or IPv6; port 0 picks an ephemeral port).
    public init(bindTo address: SocketAddress) throws(UDPDriverError) {
        socket = try UDPSocket(bindTo: address)
        do {
            wakeup = try WakePipe()
        } catch {
            socket.close()
            throw UDPDriverError(operation: "pipe for the driver wakeup", code: error.code)
        }
        localAddress = socket.localAddress
        hostCandidates = HostCandidates.candidates(for: socket.localAddress)
    }

    deinit {
        // A running thread retains the driver, so only bound or stopped drivers get here.
        if phase == .bound || phase == .stopped {
            socket.close()
            if phase == .bound { wakeup.close() }
        }
    }

    /// Creates the `PeerConnection` on a new driver thread and starts it (ICE begins at once).
    /// Throws when the connection cannot be made (DTLS setup) or the thread cannot start.
    public func start(configuration: PeerConnectionConfiguration,
                      onEvent: @escaping @Sendable (PeerConnectionEvent) -> Void) throws(UDPDriverError) {
        lock.lock()
        guard phase == .bound else {
            lock.unlock()
            throw UDPDriverError(operation: "start", detail: "the driver was already started")
        }
        phase = .running
        lock.unlock()

        let context = LoopContext(driver: self, configuration: configuration, onEvent: onEvent)
        let unmanaged = Unmanaged.passRetained(context)
        #if canImport(Darwin)
        var handle: pthread_t?
        #else
        var handle = pthread_t()
        #endif
        let created = pthread_create(&handle, nil, { raw in
            #if canImport(Darwin)
            let context = Unmanaged<LoopContext>.fromOpaque(raw).takeRetainedValue()
            #else
            guard let raw else { return nil }
            let context = Unmanaged<LoopContext>.fromOpaque(raw).takeRetainedValue()
            #endif
            context.driver.threadMain(context)
            return nil
        }, unmanaged.toOpaque())
        guard created == 0 else {
            unmanaged.release()
            lock.lock()
            phase = .bound
            lock.unlock()
            throw UDPDriverError(operation: "start the driver thread", code: created)
        }
        lock.lock()
        thread = handle
        lock.unlock()
        context.ready.wait()
        if let failure = context.startupFailure {
            pthread_join(handle, nil)
            lock.lock()
            thread = nil
            phase = .stopped
            lock.unlock()
            socket.close()
            wakeup.close()
            throw failure
        }
    }

    /// Queues one plain RTP packet to protect and send. Dropped (and counted by the connection's
    /// refusal) when not connected.
    public func sendRTP(_ packet: [UInt8]) { enqueue(.rtp(packet)) }

    /// Queues one plain RTCP compound packet to protect and send.
    public func sendRTCP(_ compound: [UInt8]) { enqueue(.rtcp(compound)) }

    public func sendRTCP(_ packets: [RTCPPacket]) { enqueue(.rtcp(RTCPCompound.serialize(packets))) }

    /// Sends DTLS close_notify and ends the connection (`.disconnected(.localClose)` follows);
    /// the thread keeps running until `shutdown()`.
    public func close() { enqueue(.close) }

    /// Closes the connection if still open, joins the driver thread, closes the socket and the
    /// wakeup pipe. Idempotent. Called from `onEvent` (the driver thread) it only asks the
    /// thread to stop; the thread then closes the descriptors itself as it exits.
    public func shutdown() {
        lock.lock()
        switch phase {
        case .bound:
            phase = .stopped
            lock.unlock()
            socket.close()
            wakeup.close()
            return
        case .stopped, .stoppingOnDriverThread:
            lock.unlock()
            return
        case .running:
            stopRequested = true
            let handle = thread
            if let handle, pthread_equal(handle, pthread_self()) != 0 {
                phase = .stoppingOnDriverThread
                lock.unlock()
                wakeup.wake()  // the loop re-reads `stopRequested` on its next turn
                return
            }
            lock.unlock()
            wakeup.wake()
            if let handle { pthread_join(handle, nil) }
            lock.lock()
            thread = nil
            phase = .stopped
            lock.unlock()
            socket.close()
            wakeup.close()
        }
    }

    /// The connection's counters as of the driver's last loop turn.
    public var statistics: PeerConnectionStatistics {
        lock.lock()
        defer { lock.unlock() }
        return snapshot.statistics
    }

    /// The connection's state as of the driver's last loop turn.
    public var state: PeerConnectionState {
        lock.lock()
        defer { lock.unlock() }
        return snapshot.state
    }

    /// Media the caller queued that the connection refused (not connected, protect failed).
    public var sendFailures: Int {
        lock.lock()
        defer { lock.unlock() }
        return snapshot.sendFailures
    }

    /// True once the thread has exited and every descriptor is closed (for tests).
    var isStopped: Bool {
        lock.lock()
        defer { lock.unlock() }
        return phase == .stopped
    }

    /// The socket and wakeup-pipe descriptors (for leak tests).
    var descriptors: [Int32] { [socket.fd, wakeup.readDescriptor, wakeup.writeDescriptor] }

    private func enqueue(_ command: Command) {
        lock.lock()
        commands.append(command)
        lock.unlock()
        wakeup.wake()
    }

    // MARK: The driver thread

    /// What the new thread needs; the thread owns it (retained across pthread_create).
    private final class LoopContext: @unchecked Sendable {
        // @unchecked: `startupFailure` is written by the driver thread before `ready.signal()`
        // and read by the starting thread after `ready.wait()`; the semaphore orders them.
        let driver: UDPPeerDriver
        let configuration: PeerConnectionConfiguration
        let onEvent: @Sendable (PeerConnectionEvent) -> Void
        let ready = DispatchSemaphore(value: 0)
        var startupFailure: UDPDriverError?

        init(driver: UDPPeerDriver, configuration: PeerConnectionConfiguration,
             onEvent: @escaping @Sendable (PeerConnectionEvent) -> Void) {
            self.driver = driver
            self.configuration = configuration
            self.onEvent = onEvent
        }
    }

    private func threadMain(_ context: LoopContext) {
        let connection: PeerConnection
        do {
            connection = try PeerConnection(configuration: context.configuration)
        } catch {
            context.startupFailure = UDPDriverError(operation: "create the peer connection", detail: error.description)
            context.ready.signal()
            return
        }
        context.ready.signal()
        run(connection, onEvent: context.onEvent)
        lock.lock()
        let selfStopped = phase == .stoppingOnDriverThread
        if selfStopped {
            phase = .stopped
            thread = nil
        }
        lock.unlock()
        if selfStopped {
            pthread_detach(pthread_self())
            socket.close()
            wakeup.close()
        }
    }

    private func run(_ connection: PeerConnection, onEvent: (PeerConnectionEvent) -> Void) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 16)
        defer { buffer.deallocate() }
        var pending: [Command] = []
        pending.reserveCapacity(64)
        var sendFailures = 0
        var fds = [pollfd(fd: socket.fd, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: wakeup.readDescriptor, events: Int16(POLLIN), revents: 0)]
        connection.start(now: .now)

        while true {
            lock.lock()
            swap(&pending, &commands)
            let stopping = stopRequested
            lock.unlock()
            for command in pending {
                do throws(PeerSendError) {
                    switch command {
                    case .rtp(let packet): try connection.sendRTP(packet)
                    case .rtcp(let compound): try connection.sendRTCP(compound)
                    case .close: connection.close()
                    }
                } catch {
                    sendFailures += 1
                }
            }
            pending.removeAll(keepingCapacity: true)
            if stopping { connection.close() }
            flush(connection, onEvent: onEvent)

            lock.lock()
            snapshot.statistics = connection.statistics
            snapshot.state = connection.state
            snapshot.sendFailures = sendFailures
            lock.unlock()
            if stopping { return }

            let timeout = Self.pollMilliseconds(until: connection.pollTimeout(), now: .now)
            fds[0].revents = 0
            fds[1].revents = 0
            let ready = poll(&fds, 2, timeout)
            if ready > 0 {
                if fds[1].revents != 0 { wakeup.drain() }
                if fds[0].revents != 0 {
                    // A bounded batch, so commands and timers get their turn under a flood.
                    for _ in 0..<256 {
                        guard let (count, from) = socket.receive(into: buffer) else { break }
                        connection.handle(datagram: UnsafeRawBufferPointer(rebasing: buffer[0..<count]), from: from,
                                          to: socket.localAddress, now: .now)
                        flush(connection, onEvent: onEvent)
                    }
                }
            }
            let now = ContinuousClock.now
            if let deadline = connection.pollTimeout(), deadline <= now {
                connection.handleTimeout(now: now)
            }
        }
    }

    private func flush(_ connection: PeerConnection, onEvent: (PeerConnectionEvent) -> Void) {
        while let transmit = connection.pollTransmit() {
            socket.send(transmit.bytes, to: transmit.destination)
        }
        while let event = connection.pollEvent() {
            onEvent(event)
        }
    }

    /// poll()'s timeout: -1 for none, rounded up to whole milliseconds so the loop never spins
    /// just short of a deadline, capped at a minute.
    static func pollMilliseconds(until deadline: ContinuousClock.Instant?, now: ContinuousClock.Instant) -> Int32 {
        guard let deadline else { return -1 }
        guard deadline > now else { return 0 }
        let (seconds, attoseconds) = (deadline - now).components
        let milliseconds = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(min(milliseconds, 60_000))
    }
}

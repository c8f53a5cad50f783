/// One WebRTC media leg, sans-IO (str0m style): ICE, DTLS and SRTP tied together behind one
/// socket's worth of datagrams.
///
/// Inputs: `handle(datagram:from:to:now:)` for every datagram the socket receives (demultiplexed
/// here by first byte, RFC 7983), `handleTimeout(now:)` when `pollTimeout()` passes,
/// `sendRTP`/`sendRTCP` for media, `close()`. Outputs: `pollTransmit()`, `pollEvent()`,
/// `pollTimeout()`. No sockets, clocks or threads; `UDPPeerDriver` is the real-socket driver,
/// tests move datagrams by hand.
///
/// ICE starts on `start(now:)` (or the first input). DTLS starts once ICE has selected a pair;
/// its records go to that pair. SRTP contexts are keyed from the DTLS exporter. Anything that
/// fails ends the connection with one `.disconnected(reason)` event.
///
/// Not thread-safe: one owner (a driver thread or a test) uses it.
public final class PeerConnection {
    /// The largest packet `sendRTP`/`sendRTCP` take, and the largest datagram handled.
    public static let maximumPacketSize = 1500

    public let configuration: PeerConnectionConfiguration
    public private(set) var state: PeerConnectionState = .connecting
    public private(set) var statistics = PeerConnectionStatistics()
    /// The DTLS-exported SRTP keys once DTLS connected (`local*` protects what this side sends).
    public private(set) var srtpKeys: DTLSSRTPKeys?
    /// The pair media uses, once ICE selected one.
    public private(set) var selectedPair: (local: SocketAddress, remote: SocketAddress)?

    public var iceState: ICEConnectionState { ice.state }
    public var iceStatistics: ICEStatistics { ice.statistics }
    public var dtlsState: DTLSConnectionState { dtls.state }
    public var dtlsRole: DTLSRole { dtls.role }
    /// libsrtp's own counters for the inbound context (nil before keys).
    public var inboundSRTPCounters: SRTPCounters? { inbound?.counters }

    private var ice: ICEAgent
    private let dtls: DTLSConnection
    private var inbound: SRTPContext?
    private var outbound: SRTPContext?
    private var started = false
    /// Where DTLS records go before ICE selected a pair (a DTLS server answering a client whose
    /// nomination we have not seen): the last address a DTLS datagram came from.
    private var lastDTLSPath: (local: SocketAddress, remote: SocketAddress)?

    private var transmits = PollQueue<PeerTransmit>()
    private var events = PollQueue<PeerConnectionEvent>()
    /// Inbound SRTP is copied here and unprotected in place, so the caller's buffer stays intact
    /// and nothing is allocated before the decrypted packet is handed out.
    private let scratch: UnsafeMutableRawBufferPointer

    public init(configuration: PeerConnectionConfiguration) throws(DTLSError) {
        self.configuration = configuration
        dtls = try DTLSConnection(certificate: configuration.certificate, configuration: configuration.dtls)
        var agent = ICEAgent(configuration: configuration.ice)
        for candidate in configuration.localCandidates { agent.addLocalCandidate(candidate) }
        agent.setRemoteCredentials(configuration.remoteCredentials)
        for candidate in configuration.remoteCandidates { agent.addRemoteCandidate(candidate) }
        ice = agent
        scratch = .allocate(byteCount: 65_536 + SRTPContext.protectOverhead, alignment: 16)
        transmits.reserveCapacity(64)
        events.reserveCapacity(64)
    }

    deinit {
        scratch.deallocate()
    }

    // MARK: Configuration after creation

    /// A candidate the peer trickled (or learned late). Ignored once closed.
    public func addRemoteCandidate(_ candidate: ICECandidate) {
        guard state != .closed else { return }
        ice.addRemoteCandidate(candidate)
    }

    // MARK: Inputs

    /// Starts ICE (a controlling agent begins its checks). Called implicitly by the first input.
    public func start(now: ContinuousClock.Instant) {
        guard !started, state != .closed else { return }
        started = true
        ice.handleTimeout(now: now)
        pump(now: now)
    }

    /// One datagram received on `to` (the local socket address) from `from`.
    public func handle(datagram: [UInt8], from remote: SocketAddress, to local: SocketAddress,
                       now: ContinuousClock.Instant) {
        datagram.withUnsafeBytes { handle(datagram: $0, from: remote, to: local, now: now) }
    }

    /// The same, for a driver's reusable receive buffer (not retained).
    public func handle(datagram: UnsafeRawBufferPointer, from remote: SocketAddress, to local: SocketAddress,
                       now: ContinuousClock.Instant) {
        guard state != .closed, datagram.count <= 65_535 else { return }
        if !started { start(now: now) }
        switch PacketDemux.classify(datagram) {
        case .stun:
            ice.handle(datagram: Array(datagram), from: remote, to: local, now: now)
        case .dtls:
            if selectedPair == nil { lastDTLSPath = (local, remote) }
            dtls.handle(datagram: datagram, now: now)
        case .rtp:
            receiveSRTP(datagram, isRTCP: false)
            return  // media changes no ICE/DTLS state: skip the pump on the hot path
        case .rtcp:
            receiveSRTP(datagram, isRTCP: true)
            return
        case .unknown:
            statistics.unknownDatagrams += 1
            return
        }
        pump(now: now)
    }

    /// Call when `now` reached `pollTimeout()`. Harmless early or often.
    public func handleTimeout(now: ContinuousClock.Instant) {
        guard state != .closed else { return }
        if !started { start(now: now) }
        ice.handleTimeout(now: now)
        dtls.handleTimeout(now: now)
        pump(now: now)
    }

    /// Protects one plain RTP packet with this side's key and queues it on the selected pair.
    public func sendRTP(_ packet: [UInt8]) throws(PeerSendError) {
        try sendMedia(packet, isRTCP: false)
    }

    /// Protects one plain RTCP compound packet and queues it on the selected pair.
    public func sendRTCP(_ compound: [UInt8]) throws(PeerSendError) {
        try sendMedia(compound, isRTCP: true)
    }

    /// Serializes `packets` as one compound packet, then `sendRTCP(_:)`.
    public func sendRTCP(_ packets: [RTCPPacket]) throws(PeerSendError) {
        try sendMedia(RTCPCompound.serialize(packets), isRTCP: true)
    }

    /// Leaves: DTLS close_notify to the peer (when connected), ICE stops. Reports
    /// `.disconnected(.localClose)`; `pollTransmit()` still returns the close_notify.
    public func close() {
        guard state != .closed else { return }
        dtls.close()
        drainDTLSTransmits()
        finish(.localClose)
    }

    // MARK: Outputs

    public func pollTransmit() -> PeerTransmit? { transmits.pop() }

    public func pollEvent() -> PeerConnectionEvent? { events.pop() }

    /// The earliest ICE or DTLS deadline; nil when nothing is scheduled (closed, or idle).
    public func pollTimeout() -> ContinuousClock.Instant? {
        guard state != .closed else { return nil }
        switch (ice.pollTimeout(), dtls.nextTimeout) {
        case (let a?, let b?): return min(a, b)
        case (let a?, nil): return a
        case (nil, let b?): return b
        case (nil, nil): return nil
        }
    }

    // MARK: ICE and DTLS

    private func pump(now: ContinuousClock.Instant) {
        while let event = ice.pollEvent() {
            handle(iceEvent: event, now: now)
        }
        while let transmit = ice.pollTransmit() {
            transmits.append(PeerTransmit(bytes: transmit.bytes, source: transmit.source, destination: transmit.destination))
        }
        while let event = dtls.pollEvent() {
            handle(dtlsEvent: event)
        }
        drainDTLSTransmits()
    }

    private func handle(iceEvent: ICEEvent, now: ContinuousClock.Instant) {
        guard state != .closed else { return }
        switch iceEvent {
        case .selectedPair(let local, let remote):
            selectedPair = (local, remote)
        case .connected:
            guard state == .connecting, let pair = selectedPair ?? ice.selectedPair else { return }
            selectedPair = pair
            state = .securing
            events.append(.iceConnected(local: pair.local, remote: pair.remote))
            dtls.start(now: now)
        case .disconnected:
            finish(.consentLost)
        case .failed(let failure):
            finish(.iceFailed(failure))
        }
    }

    private func handle(dtlsEvent: DTLSEvent) {
        guard state != .closed else { return }
        switch dtlsEvent {
        case .connected(let keys):
            do {
                let sessionKeys = try SRTPKeyingMaterial.SessionKeys(keys)
                inbound = try SRTPContext(key: sessionKeys.remote, direction: .inbound)
                outbound = try SRTPContext(key: sessionKeys.local, direction: .outbound)
            } catch {
                finish(.srtpFailed(error))
                return
            }
            srtpKeys = keys
            state = .connected
            events.append(.dtlsConnected(SRTPProfile(keys.profile)))
            events.append(.connected)
        case .applicationData:
            statistics.dtlsApplicationData += 1
        case .closed:
            finish(.closeNotify)
        case .failed(let error):
            finish(.dtlsFailed(error))
        }
    }

    /// DTLS records go to the selected pair (or back where the peer's DTLS came from).
    private func drainDTLSTransmits() {
        while let bytes = dtls.pollTransmit() {
            guard let path = selectedPair ?? lastDTLSPath else { continue }
            transmits.append(PeerTransmit(bytes: bytes, source: path.local, destination: path.remote))
        }
    }

    private func finish(_ reason: PeerDisconnectReason) {
        guard state != .closed else { return }
        state = .closed
        ice.close()
        events.append(.disconnected(reason))
    }

    // MARK: SRTP

    private func receiveSRTP(_ datagram: UnsafeRawBufferPointer, isRTCP: Bool) {
        guard let inbound else {
            statistics.mediaBeforeKeys += 1
            return
        }
        guard datagram.count <= 65_536 else { return }
        scratch.copyMemory(from: datagram)
        var length = datagram.count
        let outcome = isRTCP
            ? inbound.unprotectRTCP(scratch, length: &length)
            : inbound.unprotectRTP(scratch, length: &length)
        switch outcome {
        case .ok:
            break
        case .replay:
            statistics.srtpReplays += 1
            return
        case .authFailure:
            statistics.srtpAuthFailures += 1
            return
        case .failed:
            statistics.srtpOtherFailures += 1
            return
        }
        let plain = UnsafeRawBufferPointer(rebasing: scratch[0..<length])
        if isRTCP {
            guard let packets = try? RTCPCompound.parse(plain) else {
                statistics.malformedMedia += 1
                return
            }
            statistics.rtcpReceived += 1
            events.append(.rtcp(packets))
        } else {
            guard let header = try? RTPPacketView.parse(plain) else {
                statistics.malformedMedia += 1
                return
            }
            statistics.rtpReceived += 1
            events.append(.rtp(ReceivedRTP(bytes: Array(plain), header: header)))
        }
    }

    private func sendMedia(_ packet: [UInt8], isRTCP: Bool) throws(PeerSendError) {
        guard state == .connected, let outbound, let pair = selectedPair else { throw .notConnected(state) }
        guard packet.count <= Self.maximumPacketSize else { throw .tooLarge(packet.count) }
        var bytes = [UInt8]()
        bytes.reserveCapacity(packet.count + SRTPContext.protectOverhead)
        bytes.append(contentsOf: packet)
        let outcome = isRTCP ? outbound.protectRTCP(&bytes) : outbound.protectRTP(&bytes)
        guard outcome == .ok else { throw .protectFailed(outcome) }
        if isRTCP { statistics.rtcpSent += 1 } else { statistics.rtpSent += 1 }
        transmits.append(PeerTransmit(bytes: bytes, source: pair.local, destination: pair.remote))
    }
}

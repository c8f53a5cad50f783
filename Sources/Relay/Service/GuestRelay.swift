import Foundation
import Logging

/// One guest's relay, from the moment its publish is answered: subscribe at once (retrying
/// while Calls says the tracks are not flowing yet — no fixed sleep), answer the SFU's offer,
/// connect ICE/DTLS/SRTP, run the media pipelines on the UDP thread and publish by RTMP.
/// Logs lines 7–16 of the deployment's expected sequence.
///
/// Its life is `GuestRelayLifecycle` (publishing → subscribing → connecting → relaying →
/// reconnecting → closing → closed); this class is the driver: one supervision task performs
/// the lifecycle's actions (open a leg, end a leg, ask Calls about the publisher, close) and
/// feeds it what happens (peer events from the UDP thread, ticks, check results). A leg is one
/// subscriber session with its peer connection, UDP socket, media session and RTMP publish;
/// every leg's resources are freed when it ends, and the relay's when it closes.
final class GuestRelay: @unchecked Sendable {
    typealias State = GuestRelayLifecycle.State

    struct Options: Sendable {
        var lifecycle = GuestRelayLifecycle.Tuning()
        var rtmp = RTMPPublisher.Configuration()
        /// How long a subscribe is retried while Calls says the guest's tracks are not flowing
        /// yet (`not_found_track_error`); nil: the Calls client's policy (~15 s).
        var subscribeRetry: RetryPolicy?
        /// The retry policy of the Calls client RelayServer builds (tests shorten its budget).
        var callsRetry = RetryPolicy.default
        init() {}
    }

    struct Dependencies: Sendable {
        var calls: CallsClient
        var certificate: DTLSCertificate
        var rtmpURL: String
        var video: VideoConfig
        var audio: AudioConfig
        var bindAddress: SocketAddress
        var logger: Logger
        var options = Options()
        /// Where this guest's thumbnails go (the operator page), if anywhere.
        var snapshot: GuestSnapshot? = nil
    }

    /// What the supervision task reacts to.
    enum Input: Sendable {
        case tick
        case connected(leg: Int)
        case legEnded(leg: Int, GuestRelayLifecycle.LegEnd)
    }

    /// The codecs of the current leg, for the status.
    struct LegCodecs: Sendable, Equatable {
        var videoIn: String?
        var videoOut: String?
        var audioIn: String?
        var audioOut: String?
    }

    let guest: PublishedGuest
    let dependencies: Dependencies
    private var logger: Logger
    /// Guards everything below: the supervision task, the driver's and the RTMP thread's events,
    /// `stop` and `status` touch it (never per packet).
    let lock = NSLock()
    var lifecycle: GuestRelayLifecycle
    var subscriberSession: String?
    private var subscribedMids: [String] = []
    var driver: UDPPeerDriver?
    var publisher: RTMPPublisher?
    var media: GuestMediaSession?
    var meter: GuestMediaMeter?
    var codecs = LegCodecs()
    /// connecting / publishing / reconnecting; nil while no RTMP publish runs.
    var rtmpState: String?
    var rtmpError: String?
    /// Times the RTMP publish started (over all legs).
    var publishes = 0
    var rtmpReconnects = 0
    private var legNumber = 0
    /// Failures already logged since the relay last worked (each is logged once, not per retry).
    /// Touched by the supervision task only.
    private var loggedFailures: Set<String> = []
    private var task: Task<Void, Never>?
    private let tickQueued = TickLatch()
    private var closedItself: (@Sendable (GuestRelay, String) -> Void)?

    init(guest: PublishedGuest, dependencies: Dependencies) {
        self.guest = guest
        self.dependencies = dependencies
        var logger = dependencies.logger
        logger[metadataKey: "guest"] = "\(guest.guestId)"
        logger[metadataKey: "session"] = "\(guest.sessionId)"
        self.logger = logger
        lifecycle = GuestRelayLifecycle(now: .now, tuning: dependencies.options.lifecycle)
    }

    var currentState: State { lock.withLock { lifecycle.state } }
    var error: String? { lock.withLock { lifecycle.lastError ?? rtmpError } }

    /// Starts the supervision task. `onClosedItself` runs once if the relay ends on its own
    /// (the guest's publish ended at Calls), not when `stop` ends it.
    func start(onClosedItself: (@Sendable (GuestRelay, String) -> Void)? = nil) {
        // Unbounded, so no peer event is ever dropped; ticks cannot pile up (one queued at most).
        let (inputs, continuation) = AsyncStream<Input>.makeStream()
        lock.withLock { closedItself = onClosedItself }
        let task = Task { [self] in
            await supervise(inputs: inputs, continuation: continuation)
            continuation.finish()
        }
        lock.withLock { self.task = task }
    }

    /// Tears everything down: the Calls subscriber tracks, the peer connection, the RTMP publish.
    func stop(reason: String = "stopped") async {
        let task = lock.withLock {
            lifecycle.stop(reason: reason, now: .now)
            return self.task
        }
        task?.cancel()
        _ = await task?.value
        await closeLeg(flush: .seconds(2))
        lock.withLock { lifecycle.finished(now: .now) }
        logger.info("Relay stopped for \(guest.guestId)")
    }

    // MARK: Supervision

    private func supervise(inputs: AsyncStream<Input>, continuation: AsyncStream<Input>.Continuation) async {
        let interval = dependencies.options.lifecycle.tickInterval
        let tickQueued = tickQueued
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                // While the loop waits on Calls, one tick waits for it, not one per interval.
                if !tickQueued.testAndSet() { continuation.yield(.tick) }
            }
        }
        defer { ticker.cancel() }
        var pending: [GuestRelayLifecycle.Action] = [.subscribe(after: .zero)]
        var iterator = inputs.makeAsyncIterator()
        while !Task.isCancelled {
            guard !pending.isEmpty else {
                guard let input = await iterator.next() else { return }
                pending = react(to: input)
                continue
            }
            switch pending.removeFirst() {
            case .subscribe(let wait):
                if wait > .zero {
                    do { try await Task.sleep(for: wait) } catch { return }
                }
                let leg = lock.withLock { () -> Int? in
                    lifecycle.subscribing(now: .now)
                    guard !lifecycle.isOver else { return nil }
                    legNumber += 1
                    return legNumber
                }
                guard let leg else { return }
                do {
                    try await openLeg(leg, events: continuation)
                } catch is CancellationError {
                    return
                } catch {
                    pending += legEnded(.setupFailed(RelayErrorAdvice.subscribe(error, guest: guest)))
                }
            case .endLeg:
                await closeLeg(flush: .milliseconds(200))
            case .checkPublisher:
                let result: Result<SessionStateResponse, any Error>
                do {
                    result = .success(try await dependencies.calls.sessionState(session: guest.sessionId))
                } catch is CancellationError {
                    return
                } catch {
                    result = .failure(error)
                }
                let check = RelayErrorAdvice.publisherCheck(result, guest: guest)
                if case .unknown(let reason) = check {
                    // While reconnecting, the leg's failure was logged and the status carries this
                    // too; logged it would say the same thing (token, network) a second time.
                    if lock.withLock({ lifecycle.state }) == .relaying {
                        logOnce("Cannot ask Calls whether \(guest.guestId) still publishes: \(reason)")
                    } else {
                        logger.debug("Cannot ask Calls whether \(guest.guestId) still publishes: \(reason)")
                    }
                }
                pending += lock.withLock { lifecycle.publisherChecked(check, now: .now) }
            case .close(let reason):
                logger.notice("Ending relay for \(guest.guestId): \(reason)")
                await closeLeg(flush: .milliseconds(200))
                let notify = lock.withLock {
                    lifecycle.finished(now: .now)
                    defer { closedItself = nil }
                    return closedItself
                }
                logger.info("Relay stopped for \(guest.guestId)")
                notify?(self, reason)
                return
            }
        }
    }

    private func react(to input: Input) -> [GuestRelayLifecycle.Action] {
        switch input {
        case .tick:
            tickQueued.clear()
            let lastMedia = lock.withLock { meter }?.lastMedia
            let (actions, error) = lock.withLock { (lifecycle.tick(now: .now, lastMedia: lastMedia), lifecycle.lastError) }
            if actions.contains(.endLeg), let error { announceLegEnd(error) }  // a stalled leg
            return actions
        case .connected(let leg):
            let (recovered, reconnects) = lock.withLock { () -> (Bool, Int) in
                guard leg == legNumber else { return (false, 0) }
                lifecycle.mediaConnected(now: .now)
                return (lifecycle.reconnects > 0, lifecycle.reconnects)
            }
            if recovered {
                logger.notice("Relay for \(guest.guestId) is connected to the SFU again (reconnect \(reconnects))")
                loggedFailures.removeAll()
            }
            return []
        case .legEnded(let leg, let end):
            guard lock.withLock({ leg == legNumber }) else { return [] }
            return legEnded(end)
        }
    }

    private func legEnded(_ end: GuestRelayLifecycle.LegEnd) -> [GuestRelayLifecycle.Action] {
        let actions = lock.withLock { lifecycle.legEnded(end, now: .now) }
        if !actions.isEmpty { announceLegEnd(end.text) }
        return actions
    }

    private func announceLegEnd(_ text: String) {
        let most = GuestRelayLifecycle.seconds(dependencies.options.lifecycle.backoffMax)
        logOnce("Relay for \(guest.guestId) lost its SFU leg: \(text); resubscribing while the guest still publishes "
            + "(retrying every \(most) s at most)", key: text)
    }

    /// Logs a failure once per occurrence: the same failure repeating while retrying stays quiet.
    private func logOnce(_ message: String, key: String? = nil) {
        guard loggedFailures.insert(Self.failureKey(key ?? message)).inserted else {
            logger.debug("\(message)")
            return
        }
        logger.error("\(message)")
    }

    /// The same failure on another leg names another subscriber session: ids (16+ hex digits)
    /// do not make a failure new.
    static func failureKey(_ message: String) -> String {
        var key = ""
        var run = ""
        for character in message {
            if character.isHexDigit {
                run.append(character)
                continue
            }
            key += run.count >= 16 ? "<id>" : run
            run = ""
            key.append(character)
        }
        return key + (run.count >= 16 ? "<id>" : run)
    }

    // MARK: One leg

    private func openLeg(_ leg: Int, events: AsyncStream<Input>.Continuation) async throws {
        let calls = dependencies.calls
        if leg == 1 {
            logger.info("Starting relay for \(guest.guestId): session \(guest.sessionId) -> \(dependencies.rtmpURL)")
        } else {
            logger.info("Resubscribing to \(guest.guestId) (attempt \(leg - 1))")
        }
        let subscriber = try await calls.newSession()
        lock.withLock { subscriberSession = subscriber }
        // Written before the driver and RTMP threads of this leg that read `logger` exist
        // (creating a thread orders this write before their reads); older legs' threads were
        // joined in `closeLeg`, and `stop` reads it only after awaiting the supervision task.
        logger[metadataKey: "subSession"] = "\(subscriber)"
        logger.info("Created subscriber session: \(subscriber)")
        let names = GuestPublisher.pythonList(guest.trackNames)
        logger.info("Subscribing to tracks \(names) from session \(guest.sessionId)")
        let response = try await calls.subscribeWhenFlowing(
            session: subscriber,
            tracks: guest.tracks.map { TrackObject.remote($0.name, session: guest.sessionId) },
            policy: dependencies.options.subscribeRetry)
        guard let offerText = response.sessionDescription, offerText.type == .offer else {
            throw RelayFailure("Calls accepted the subscription but sent no SDP offer to answer")
        }
        let offer = try SDP.parse(offerText.sdp)
        lock.withLock { subscribedMids = offer.mediaSections.compactMap(\.mid) }
        let driver = try UDPPeerDriver(bindTo: dependencies.bindAddress)
        lock.withLock {
            self.driver = driver
            lifecycle.connecting(now: .now)
        }
        let local = LocalTransportParameters(certificate: dependencies.certificate, candidates: driver.hostCandidates)
        let answer = SessionSetup.relayAnswer(toSFUOffer: offer, local: local)
        try await calls.renegotiate(session: subscriber, answer: answer.serialized)
        logger.info("Successfully subscribed to tracks from \(guest.sessionId)")

        var (configuration, remote) = try SessionSetup.configuration(side: .relay, local: local, localSDP: answer, remoteSDP: offer)
        if let consent = dependencies.options.lifecycle.consentTimeout { configuration.ice.consentTimeout = consent }
        if let interval = dependencies.options.lifecycle.consentInterval { configuration.ice.consentInterval = interval }
        let media = try makeMedia(remote: remote, answer: answer)
        let meter = GuestMediaMeter()
        lock.withLock {
            self.media = media
            self.meter = meter
        }
        // The callback holds the media session, the meter and the driver itself: no lock per packet.
        try driver.start(configuration: configuration) { [weak self, media, meter, driver] event in
            self?.handle(event, media: media, meter: meter, driver: driver, leg: leg, events: events)
        }
        logger.info("Relay established for \(guest.guestId)")
    }

    /// Frees the current leg: the peer connection (close_notify) and its UDP socket, the RTMP
    /// publish, and the subscriber's Calls tracks. Not cancellable: a relay being stopped still
    /// closes what it opened.
    private func closeLeg(flush: Duration) async {
        let (driver, publisher, media, session, mids) = lock.withLock {
            defer {
                self.driver = nil; self.publisher = nil; self.media = nil; self.meter = nil
                subscriberSession = nil; subscribedMids = []; rtmpState = nil
            }
            return (self.driver, self.publisher, self.media, subscriberSession, subscribedMids)
        }
        let calls = dependencies.calls
        let logger = logger
        let guestId = guest.guestId
        await Task {
            driver?.shutdown()
            _ = media  // released only after the driver thread that uses it was joined
            publisher?.stop(flushTimeout: flush)
            guard let session else { return }
            // A subscribe cancelled in flight may still have reached Calls: ask what the session
            // holds rather than trusting what this side saw.
            let held = (try? await calls.sessionState(session: session))?.tracks.compactMap(\.mid) ?? []
            let all = Array(Set(mids + held)).sorted()
            guard !all.isEmpty else { return }
            do {
                _ = try await calls.closeTracks(session: session, mids: all, force: true)
            } catch {
                logger.warning("Could not close the subscriber tracks of \(guestId): \(error)")
            }
        }.value
    }

    private func makeMedia(remote: RemoteSessionDescription, answer: SDP) throws -> GuestMediaSession {
        var routes = GuestMediaSession.Routes()
        let now = ContinuousClock.now
        var video: VideoReceivePipeline?
        var audio: AudioReceivePipeline?
        for media in answer.mediaSections where !media.isRejected {
            let codecs = media.negotiatedCodecs
            guard let codec = codecs.codecs.first else { continue }
            switch codec.name.lowercased() {
            case "h264", "vp8":
                let input: VideoReceivePipeline.InputCodec = codec.name.lowercased() == "h264" ? .h264 : .vp8
                routes.videoPayloadType = codec.payloadType
                routes.videoRTXPayloadType = codecs.rtxPayloadType(forMedia: codec.payloadType)
                routes.videoCodec = input
                let transcode = input == .vp8 || dependencies.video.mode == .transcode
                video = VideoReceivePipeline(
                    inputCodec: input,
                    transcoder: transcode ? try VideoTranscoder(inputCodec: input == .vp8 ? .vp8 : .h264, video: dependencies.video) : nil,
                    now: now)
            case "opus":
                routes.audioPayloadType = codec.payloadType
                audio = AudioReceivePipeline(
                    transcoder: try AudioTranscoder(configuration: .init(bitrate: dependencies.audio.bitrateKbps * 1000)), now: now)
            default:
                continue
            }
        }
        guard video != nil || audio != nil else {
            throw RelayFailure("the SFU offered no H.264, VP8 or Opus track (offered: \(answer.mediaSections.map { $0.negotiatedCodecs.codecs.map(\.name) }))")
        }
        lock.withLock {
            codecs = LegCodecs(
                videoIn: routes.videoCodec.map { $0 == .h264 ? "h264" : "vp8" },
                videoOut: video.map { $0.inputCodec == .vp8 || dependencies.video.mode == .transcode ? "h264 (x264)" : "h264 (passthrough)" },
                audioIn: audio == nil ? nil : "opus", audioOut: audio == nil ? nil : "aac")
        }
        let publisher = try makePublisher()
        let sink = RTMPMediaSink(publisher: publisher)
        sink.snapshot = dependencies.snapshot
        let session = GuestMediaSession(routes: routes, video: video, audio: audio, sink: sink)
        sink.onFirstVideo = { [weak self, logger, guest, dependencies] in
            logger.info("Received video track from Cloudflare Calls for \(guest.guestId)")
            logger.info("Starting RTMP relay for \(guest.guestId)")
            logger.info("Starting RTMP relay to \(dependencies.rtmpURL)")
            self?.lock.withLock { self?.rtmpState = "connecting" }
            publisher.start()
        }
        return session
    }

    private func makePublisher() throws -> RTMPPublisher {
        let url = try RTMPURL(dependencies.rtmpURL)
        let retry = GuestRelayLifecycle.seconds(dependencies.options.rtmp.backoffMax)
        let publisher = RTMPPublisher(
            url: url,
            configuration: dependencies.options.rtmp,
            onEvent: { [weak self] event in
                guard let self else { return }
                switch event {
                case .connecting(let attempt):
                    lock.withLock { rtmpState = attempt == 1 ? "connecting" : "reconnecting" }
                case .publishing:
                    let (first, failed) = lock.withLock { () -> (Bool, Bool) in
                        publishes += 1
                        rtmpState = "publishing"
                        defer { rtmpError = nil }
                        return (publishes == 1, rtmpError != nil)
                    }
                    if first {
                        logger.info("RTMP relay started successfully")
                        logger.info("Relay started for \(guest.guestId): Cloudflare -> MediaMTX")
                    } else {
                        logger.notice("RTMP relay to \(dependencies.rtmpURL) is publishing again")
                    }
                    if failed, first { logger.notice("RTMP relay to \(dependencies.rtmpURL) recovered") }
                case .disconnected(let error):
                    let advice = RelayErrorAdvice.rtmp(error, url: url)
                    let repeated = lock.withLock { () -> Bool in
                        rtmpState = "reconnecting"
                        rtmpReconnects += 1
                        defer { rtmpError = advice }
                        return rtmpError == advice
                    }
                    // Once per occurrence: the same failure on every retry stays out of the log.
                    if repeated {
                        logger.debug("\(advice)")
                    } else {
                        logger.error("RTMP relay for \(guest.guestId): \(advice); retrying every \(retry) s at most")
                    }
                case .stopped:
                    break
                }
            },
            onKeyframeRequest: { [weak self] in self?.lock.withLock { self?.media }?.requestKeyframe() })
        lock.withLock { self.publisher = publisher }
        return publisher
    }

    /// On the UDP driver thread. Never blocks: lifecycle events go to the supervision task.
    private func handle(_ event: PeerConnectionEvent, media: GuestMediaSession, meter: GuestMediaMeter,
                        driver: UDPPeerDriver, leg: Int, events: AsyncStream<Input>.Continuation) {
        switch event {
        case .rtp(let packet):
            let now = ContinuousClock.now
            let feedback = media.handle(packet, now: now)
            if !feedback.isEmpty { driver.sendRTCP(feedback) }
            meter.received(bytes: packet.bytes.count, now: now, media: media)
        case .rtcp(let packets):
            media.handle(rtcp: packets, now: .now)
            if let end = Self.legEnd(forRTCP: packets) {
                logger.info("The SFU sent RTCP BYE for \(guest.guestId)")
                events.yield(.legEnded(leg: leg, end))
            }
        case .connected:
            logger.debug("ICE and DTLS connected for \(guest.guestId)")
            events.yield(.connected(leg: leg))
            let feedback = media.tick(now: .now)
            if !feedback.isEmpty { driver.sendRTCP(feedback) }
        case .disconnected:
            if let end = Self.legEnd(for: event) { events.yield(.legEnded(leg: leg, end)) }
        default:
            break
        }
    }

    static func legEnd(forRTCP packets: [RTCPPacket]) -> GuestRelayLifecycle.LegEnd? {
        packets.contains(where: { if case .bye = $0 { true } else { false } }) ? .bye : nil
    }

    /// Which peer events end the leg: RTCP BYE, consent lost, close_notify, ICE/DTLS/SRTP
    /// failures. Not this side's own close.
    static func legEnd(for event: PeerConnectionEvent) -> GuestRelayLifecycle.LegEnd? {
        switch event {
        case .rtcp(let packets):
            return legEnd(forRTCP: packets)
        case .disconnected(.localClose):
            return nil
        case .disconnected(.consentLost):
            return .consentLost
        case .disconnected(.closeNotify):
            return .closeNotify
        case .disconnected(let reason):
            return .connectionFailed(reason.description)
        default:
            return nil
        }
    }
}

/// At most one tick waiting in the supervision task's input stream.
///
/// `@unchecked Sendable`: `queued` is read and written only while holding `lock`.
final class TickLatch: @unchecked Sendable {
    private let lock = NSLock()
    private var queued = false

    /// Sets the latch; returns whether it was already set.
    func testAndSet() -> Bool {
        lock.withLock {
            defer { queued = true }
            return queued
        }
    }

    func clear() { lock.withLock { queued = false } }
}

struct RelayFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

import Foundation
import Logging

/// One guest's relay, from the moment its publish is answered: subscribe at once (retrying
/// while Calls says the tracks are not flowing yet — no fixed sleep), answer the SFU's offer,
/// connect ICE/DTLS/SRTP, run the media pipelines on the UDP thread and publish by RTMP.
/// Logs lines 7–16 of the deployment's expected sequence.
final class GuestRelay: @unchecked Sendable {
    enum Phase: String, Sendable { case subscribing, connecting, relaying, closing, closed, failed }

    struct Dependencies: Sendable {
        var calls: CallsClient
        var certificate: DTLSCertificate
        var rtmpURL: String
        var video: VideoConfig
        var audio: AudioConfig
        var bindAddress: SocketAddress
        var logger: Logger
        /// Where this guest's thumbnails go (the operator page), if anywhere.
        var snapshot: GuestSnapshot? = nil
    }

    let guest: PublishedGuest
    let dependencies: Dependencies
    private var logger: Logger
    /// Guards the handles below: the subscribe task, the driver's events and `stop` touch them.
    let lock = NSLock()
    var phase: Phase = .subscribing
    var subscriberSession: String?
    private var subscribedMids: [String] = []
    var driver: UDPPeerDriver?
    var publisher: RTMPPublisher?
    var media: GuestMediaSession?
    var lastError: String?
    /// Times the RTMP publish started (1 + reconnects).
    var publishes = 0
    private var task: Task<Void, Never>?

    init(guest: PublishedGuest, dependencies: Dependencies) {
        self.guest = guest
        self.dependencies = dependencies
        var logger = dependencies.logger
        logger[metadataKey: "guest"] = "\(guest.guestId)"
        logger[metadataKey: "session"] = "\(guest.sessionId)"
        self.logger = logger
    }

    var currentPhase: Phase { lock.withLock { phase } }
    var error: String? { lock.withLock { lastError } }

    func start() {
        let task = Task { [self] in
            do {
                try await subscribeAndConnect()
            } catch is CancellationError {
                return
            } catch {
                fail("Relay for \(guest.guestId) failed: \(error)")
            }
        }
        lock.withLock { self.task = task }
    }

    /// Tears everything down: the Calls subscriber tracks, the peer connection, the RTMP publish.
    func stop() async {
        let (task, driver, publisher, session, mids) = lock.withLock {
            phase = .closing
            defer { self.driver = nil; self.publisher = nil; self.media = nil }
            return (self.task, self.driver, self.publisher, subscriberSession, subscribedMids)
        }
        task?.cancel()
        _ = await task?.value
        driver?.shutdown()
        publisher?.stop()
        if let session {
            // A subscribe cancelled in flight may still have reached Calls: ask what the session
            // holds rather than trusting what this side saw.
            let held = (try? await dependencies.calls.sessionState(session: session))?.tracks.compactMap(\.mid) ?? []
            let all = Array(Set(mids + held)).sorted()
            if !all.isEmpty {
                do {
                    _ = try await dependencies.calls.closeTracks(session: session, mids: all, force: true)
                } catch {
                    logger.warning("Could not close the subscriber tracks of \(guest.guestId): \(error)")
                }
            }
        }
        lock.withLock { phase = .closed }
        logger.info("Relay stopped for \(guest.guestId)")
    }

    private func subscribeAndConnect() async throws {
        let calls = dependencies.calls
        logger.info("Starting relay for \(guest.guestId): session \(guest.sessionId) -> \(dependencies.rtmpURL)")
        let subscriber = try await calls.newSession()
        lock.withLock { subscriberSession = subscriber }
        // Written before the driver and RTMP threads that read `logger` exist (creating a thread
        // orders this write before their reads), and `stop` reads it only after awaiting this task.
        logger[metadataKey: "subSession"] = "\(subscriber)"
        logger.info("Created subscriber session: \(subscriber)")
        let names = GuestPublisher.pythonList(guest.trackNames)
        logger.info("Subscribing to tracks \(names) from session \(guest.sessionId)")
        let response = try await calls.subscribeWhenFlowing(
            session: subscriber,
            tracks: guest.tracks.map { TrackObject.remote($0.name, session: guest.sessionId) })
        guard let offerText = response.sessionDescription, offerText.type == .offer else {
            throw RelayFailure("Calls accepted the subscription but sent no SDP offer to answer")
        }
        let offer = try SDP.parse(offerText.sdp)
        lock.withLock { subscribedMids = offer.mediaSections.compactMap(\.mid) }
        let driver = try UDPPeerDriver(bindTo: dependencies.bindAddress)
        lock.withLock { self.driver = driver; phase = .connecting }
        let local = LocalTransportParameters(certificate: dependencies.certificate, candidates: driver.hostCandidates)
        let answer = SessionSetup.relayAnswer(toSFUOffer: offer, local: local)
        try await calls.renegotiate(session: subscriber, answer: answer.serialized)
        logger.info("Successfully subscribed to tracks from \(guest.sessionId)")

        let (configuration, remote) = try SessionSetup.configuration(side: .relay, local: local, localSDP: answer, remoteSDP: offer)
        let media = try makeMedia(remote: remote, answer: answer)
        lock.withLock { self.media = media }
        // The callback holds the media session and the driver itself: no lock per packet.
        try driver.start(configuration: configuration) { [weak self, media, driver] event in
            self?.handle(event, media: media, driver: driver)
        }
        logger.info("Relay established for \(guest.guestId)")
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
        let publisher = try makePublisher()
        let sink = RTMPMediaSink(publisher: publisher)
        sink.snapshot = dependencies.snapshot
        let session = GuestMediaSession(routes: routes, video: video, audio: audio, sink: sink)
        sink.onFirstVideo = { [logger, guest, dependencies] in
            logger.info("Received video track from Cloudflare Calls for \(guest.guestId)")
            logger.info("Starting RTMP relay for \(guest.guestId)")
            logger.info("Starting RTMP relay to \(dependencies.rtmpURL)")
            publisher.start()
        }
        return session
    }

    private func makePublisher() throws -> RTMPPublisher {
        let url = try RTMPURL(dependencies.rtmpURL)
        let publisher = RTMPPublisher(
            url: url,
            onEvent: { [weak self] event in
                guard let self else { return }
                switch event {
                case .publishing:
                    let first = lock.withLock { () -> Bool in
                        publishes += 1
                        return publishes == 1
                    }
                    if first {
                        logger.info("RTMP relay started successfully")
                        logger.info("Relay started for \(guest.guestId): Cloudflare -> MediaMTX")
                    } else {
                        logger.notice("RTMP relay to \(dependencies.rtmpURL) is publishing again")
                    }
                    lock.withLock { if phase == .connecting { phase = .relaying } }
                case .disconnected(let error):
                    logger.warning("RTMP relay to \(dependencies.rtmpURL) lost: \(error); reconnecting (check that MediaMTX listens there)")
                default:
                    break
                }
            },
            onKeyframeRequest: { [weak self] in self?.lock.withLock { self?.media }?.requestKeyframe() })
        lock.withLock { self.publisher = publisher }
        return publisher
    }

    /// On the UDP driver thread.
    private func handle(_ event: PeerConnectionEvent, media: GuestMediaSession, driver: UDPPeerDriver) {
        switch event {
        case .rtp(let packet):
            let feedback = media.handle(packet, now: .now)
            if !feedback.isEmpty { driver.sendRTCP(feedback) }
        case .rtcp(let packets):
            media.handle(rtcp: packets, now: .now)
            if packets.contains(where: { if case .bye = $0 { true } else { false } }) {
                logger.info("The SFU sent RTCP BYE for \(guest.guestId)")
            }
        case .connected:
            logger.debug("ICE and DTLS connected for \(guest.guestId)")
            let feedback = media.tick(now: .now)
            if !feedback.isEmpty { driver.sendRTCP(feedback) }
        case .disconnected(let reason):
            fail("The media connection of \(guest.guestId) ended: \(reason)")
        default:
            break
        }
    }

    private func fail(_ message: String) {
        lock.withLock {
            lastError = message
            if phase != .closing && phase != .closed { phase = .failed }
        }
        logger.error("\(message)")
    }
}

struct RelayFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

import Foundation
import Relay

/// FakeCalls' SDP side written with relayd's SDP library, the way the real SFU answers: ICE-lite,
/// `a=setup:passive` to an `actpass` offer, the fingerprint of a real DTLS certificate, one host
/// candidate on the UDP port the SFU media side serves, one codec per m-line. For the pull
/// pattern it offers each track with the SFU's own payload types (H.264 125/RTX 37, VP8 96/RTX 35,
/// opus 111) and its own SSRCs, and remembers every negotiated session for the media side.
public final class SDPFakeMediaSide: FakeSFUMediaSide, @unchecked Sendable {
    /// What one Calls session negotiated: everything the media side needs to run its transport.
    public struct NegotiatedSession: Sendable {
        public var local: LocalMediaParameters
        /// The peer's offer or answer, once known.
        public var remote: SDP?
        /// What this side sent (its answer or its offer).
        public var localDescription: SDP?
        /// mid → the codec this session sends or receives on that mid.
        public var codecs: [String: SDPCodec]
        /// mid → SSRCs the SFU sends on (pull offers).
        public var sendTracks: [String: SDPSendTrack]
        /// mid → the published track the SFU sends there (pull offers).
        public var subscriptions: [String: PublishedTrackInfo] = [:]
    }

    /// Where the SFU media side learns about negotiated and closed sessions (set once by
    /// `FakeCallsServer`; nil leaves the SDP side text-only).
    public struct Observer: Sendable {
        public var negotiated: @Sendable (SFUNegotiation) -> Void
        public var closed: @Sendable (String) -> Void

        public init(negotiated: @escaping @Sendable (SFUNegotiation) -> Void, closed: @escaping @Sendable (String) -> Void) {
            self.negotiated = negotiated
            self.closed = closed
        }
    }

    public let certificate: DTLSCertificate
    public let candidate: SDPCandidate
    /// State guarded by `lock`: sessions are touched from the HTTP handlers' tasks.
    private let lock = NSLock()
    private var sessions: [String: NegotiatedSession] = [:]
    private var observer: Observer?
    /// The media socket's address: the one host candidate of every session.
    private let mediaAddress: SocketAddress?

    /// - Parameter mediaAddress: where the SFU's media socket listens (announced as the only candidate).
    public init(certificate: DTLSCertificate, mediaHost: String, mediaPort: Int) {
        self.certificate = certificate
        candidate = SDPCandidate(foundation: "1", priority: SDPCandidate.priority(type: "host"),
                                 address: mediaHost, port: mediaPort)
        mediaAddress = SocketAddress(ip: mediaHost, port: UInt16(clamping: mediaPort))
    }

    /// Hands every completed negotiation (and every close) to `observer` from now on.
    public func setObserver(_ observer: Observer?) { lock.withLock { self.observer = observer } }

    /// A session that publishes without SDP (a fixture publisher): its mids and codecs, in the
    /// SFU's numbering, so subscribers' offers carry them.
    public func registerFixturePublisher(session: String, codecs: [String: SDPCodec]) {
        var state = sessionState(session)
        state.codecs = codecs
        store(state, session)
    }

    public func negotiated(session: String) -> NegotiatedSession? { lock.withLock { sessions[session] } }

    public func mediaSections(of text: String) throws -> [FakeMediaSection] {
        let sdp = try SDP.parse(text)
        guard !sdp.mediaSections.isEmpty else { throw SDPError.noMediaSections }
        return sdp.mediaSections.enumerated().map { index, media in
            FakeMediaSection(mid: media.mid ?? String(index), kind: media.kind.description,
                             direction: sdp.direction(for: media).rawValue)
        }
    }

    public func answer(toOffer text: String, session: String) async throws -> String {
        let offer = try SDP.parse(text)
        var state = sessionState(session)
        state.local.setup = .passive
        let answer = SDP.makeAnswer(toOffer: offer, local: state.local, options: SDPAnswerOptions(singleCodec: true))
        for media in answer.mediaSections where !media.isRejected {
            guard let mid = media.mid, let codec = media.negotiatedCodecs.codecs.first else { continue }
            state.codecs[mid] = Self.sfuCodec(for: codec, kind: media.kind)
        }
        state.remote = offer
        state.localDescription = answer
        store(state, session)
        notifyNegotiated(session: session, state: state, localSDP: answer, remoteSDP: offer)
        return answer.serialized
    }

    /// The client-offer subscribe shape: each track's m-line is answered with the publisher's
    /// codec only (in the client's payload-type numbering) and the SSRCs the SFU sends on, so
    /// forwarding works as for the pull shape.
    public func answer(toSubscribeOffer text: String, tracks: [PublishedTrackInfo], session: String) async throws -> String {
        let offer = try SDP.parse(text)
        var state = sessionState(session)
        var local = state.local
        local.setup = .passive
        var sendTracks: [SDPSendTrack] = []
        var codecs: [SDPCodec] = []
        for track in tracks {
            let codec = negotiated(session: track.publisherSession)?.codecs[track.publisherMid]
                ?? (track.kind == "audio" ? .opus() : .h264())
            if !codecs.contains(where: { $0.kind == codec.kind && $0.name == codec.name }) { codecs.append(codec) }
            let send = state.sendTracks[track.mid] ?? SDPSendTrack(
                kind: track.kind == "audio" ? .audio : .video, mid: track.mid, ssrc: UInt32.random(in: 1...UInt32.max),
                rtxSsrc: track.kind == "audio" ? nil : UInt32.random(in: 1...UInt32.max),
                cname: "fakecalls", streamId: track.publisherSession, trackId: track.trackName)
            state.sendTracks[track.mid] = send
            state.subscriptions[track.mid] = track
            sendTracks.append(send)
        }
        // Earlier subscriptions of this session keep being sent.
        let earlier = state.sendTracks.filter { mid, _ in !tracks.contains { $0.mid == mid } }.map(\.value)
        local.codecs = codecs.isEmpty ? Self.forwardableCodecs : codecs
        for mid in earlier.map(\.mid) {
            if let codec = state.codecs[mid], !local.codecs.contains(where: { $0.kind == codec.kind && $0.name == codec.name }) {
                local.codecs.append(codec)
            }
        }
        let answer = SDP.makeAnswer(toOffer: offer, local: local,
                                    options: SDPAnswerOptions(singleCodec: true, outgoingTracks: sendTracks + earlier))
        for media in answer.mediaSections where !media.isRejected {
            guard let mid = media.mid, let codec = media.negotiatedCodecs.codecs.first else { continue }
            // The subscriber's numbering: what this session sends with on that mid.
            state.codecs[mid] = SDPCodec(
                kind: media.kind, payloadType: codec.payloadType, name: codec.name, clockRate: codec.clockRate,
                channels: codec.channels, fmtp: codec.fmtp,
                rtxPayloadType: media.negotiatedCodecs.rtxPayloadType(forMedia: codec.payloadType))
        }
        state.remote = offer
        state.localDescription = answer
        store(state, session)
        notifyNegotiated(session: session, state: state, localSDP: answer, remoteSDP: offer)
        return answer.serialized
    }

    public func offer(forTracks tracks: [PublishedTrackInfo], session: String) async throws -> String {
        var state = sessionState(session)
        var sendTracks: [SDPSendTrack] = []
        var codecs: [SDPCodec] = []
        for track in tracks {
            let codec = negotiated(session: track.publisherSession)?.codecs[track.publisherMid]
                ?? (track.kind == "audio" ? .opus() : .h264())
            if !codecs.contains(where: { $0.payloadType == codec.payloadType }) { codecs.append(codec) }
            let send = state.sendTracks[track.mid] ?? SDPSendTrack(
                kind: track.kind == "audio" ? .audio : .video, mid: track.mid, ssrc: UInt32.random(in: 1...UInt32.max),
                rtxSsrc: track.kind == "audio" ? nil : UInt32.random(in: 1...UInt32.max),
                cname: "fakecalls", streamId: track.publisherSession, trackId: track.trackName)
            state.sendTracks[track.mid] = send
            state.codecs[track.mid] = codec
            state.subscriptions[track.mid] = track
            sendTracks.append(send)
        }
        var local = state.local
        local.codecs = codecs
        let offer = SDP.makeSendOnlyOffer(tracks: sendTracks, local: local)
        state.localDescription = offer
        store(state, session)
        return offer.serialized
    }

    public func accept(answer text: String, session: String) async throws {
        let answer = try SDP.parse(text)
        for media in answer.mediaSections where !media.isRejected {
            if answer.setup(for: media) == .actpass {
                throw AnswerError(description: "the answer says a=setup:actpass on mid \(media.mid ?? "?"): an answer must pick active or passive")
            }
            if answer.fingerprint(for: media) == nil {
                throw AnswerError(description: "the answer has no a=fingerprint on mid \(media.mid ?? "?")")
            }
        }
        var state = sessionState(session)
        state.remote = answer
        store(state, session)
        if let offer = state.localDescription {
            notifyNegotiated(session: session, state: state, localSDP: offer, remoteSDP: answer)
        }
    }

    public func sessionClosed(_ session: String) async {
        let observer = lock.withLock {
            sessions.removeValue(forKey: session)
            return self.observer
        }
        observer?.closed(session)
    }

    /// Builds the media side's view of a finished offer/answer and hands it over. An SDP the
    /// transport cannot use (it was accepted as text) leaves the session without media.
    private func notifyNegotiated(session: String, state: NegotiatedSession, localSDP: SDP, remoteSDP: SDP) {
        guard let observer = lock.withLock({ self.observer }), let mediaAddress else { return }
        let local = LocalTransportParameters(
            credentials: ICECredentials(ufrag: state.local.iceUfrag, password: state.local.icePwd),
            certificate: certificate, candidates: [.host(mediaAddress)])
        guard let (configuration, remote) = try? SessionSetup.configuration(
            side: .sfu, local: local, localSDP: localSDP, remoteSDP: remoteSDP) else { return }
        var published: [SFUNegotiation.PublishedMid] = []
        var subscribed: [SFUNegotiation.SubscribedMid] = []
        for media in remote.media {
            if media.remoteDirection == .sendonly || media.remoteDirection == .sendrecv,
               let codec = media.codecs.codecs.first, let payloadType = UInt8(exactly: codec.payloadType) {
                published.append(.init(
                    mid: media.mid, payloadType: payloadType,
                    rtxPayloadType: media.codecs.rtxPayloadType(forMedia: codec.payloadType).flatMap { UInt8(exactly: $0) },
                    ssrcs: media.remoteSSRCs, rtxSSRCByMediaSSRC: media.remoteRTXSSRCByMediaSSRC))
            }
            if let track = state.subscriptions[media.mid], let send = state.sendTracks[media.mid],
               let codec = state.codecs[media.mid], let payloadType = UInt8(exactly: codec.payloadType) {
                subscribed.append(.init(
                    mid: media.mid, publisherSession: track.publisherSession, publisherMid: track.publisherMid,
                    ssrc: send.ssrc, rtxSSRC: send.rtxSsrc, payloadType: payloadType,
                    rtxPayloadType: codec.rtxPayloadType.flatMap { UInt8(exactly: $0) }))
            }
        }
        observer.negotiated(SFUNegotiation(session: session, configuration: configuration, remote: remote,
                                           published: published, subscribed: subscribed))
    }

    struct AnswerError: Error, CustomStringConvertible {
        var description: String
    }

    private func sessionState(_ session: String) -> NegotiatedSession {
        lock.withLock {
            if let existing = sessions[session] { return existing }
            var generator = SystemRandomNumberGenerator()
            let credentials = ICECredentials.random(using: &generator)
            let local = LocalMediaParameters(
                iceUfrag: credentials.ufrag, icePwd: credentials.password,
                fingerprint: .sha256(certificate.fingerprint.value), setup: .passive, iceLite: true,
                candidates: [candidate], codecs: Self.forwardableCodecs)
            let state = NegotiatedSession(local: local, remote: nil, localDescription: nil, codecs: [:], sendTracks: [:])
            sessions[session] = state
            return state
        }
    }

    private func store(_ state: NegotiatedSession, _ session: String) { lock.withLock { sessions[session] = state } }

    /// What the SFU accepts from publishers: it forwards, never transcodes.
    static let forwardableCodecs: [SDPCodec] = [.h264(acceptAnyProfile: true), .vp8(), .opus()]

    /// The SFU's own numbering for a codec a publisher negotiated.
    static func sfuCodec(for codec: SDPMediaCodec, kind: SDPMediaKind) -> SDPCodec {
        switch codec.name.lowercased() {
        case "h264": .h264(profileLevelId: codec.h264ProfileLevelId ?? "42e01f")
        case "vp8": .vp8()
        default: .opus(fmtp: codec.fmtp ?? "minptime=10;useinbandfec=1")
        }
    }
}

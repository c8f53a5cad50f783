/// What this side of a media leg is: the relay subscribing (full ICE agent, controlling) or the
/// SFU's media side (ICE-lite), as FakeCalls plays it.
public enum PeerSide: Sendable, Hashable {
    case relay
    case sfu

    public var iceMode: ICEMode { self == .relay ? .controlling : .lite }
}

/// This side's transport identity for one media leg: ICE credentials, certificate, candidates.
/// Made once per leg, then used for the local SDP and for the `PeerConnection`.
public struct LocalTransportParameters: Sendable {
    public var credentials: ICECredentials
    public var certificate: DTLSCertificate
    public var candidates: [ICECandidate]

    public init(credentials: ICECredentials = .random(), certificate: DTLSCertificate, candidates: [ICECandidate]) {
        self.credentials = credentials
        self.certificate = certificate
        self.candidates = candidates
    }

    /// The SDP library's view of these parameters, with the codecs and DTLS setup to write.
    public func mediaParameters(setup: SDPSetupRole, iceLite: Bool, codecs: [SDPCodec] = SDPCodec.relayDefaults)
        -> LocalMediaParameters
    {
        LocalMediaParameters(
            iceUfrag: credentials.ufrag, icePwd: credentials.password,
            fingerprint: SDPFingerprint(algorithm: certificate.fingerprint.algorithm.rawValue,
                                        value: certificate.fingerprint.value),
            setup: setup, iceLite: iceLite, candidates: candidates.map(SessionSetup.sdpCandidate), codecs: codecs)
    }
}

/// One audio/video m-line of the negotiated session, as the receive side needs it.
public struct NegotiatedMedia: Sendable, Equatable {
    public var mid: String
    public var kind: SDPMediaKind
    /// The direction of the remote side's m-line (`sendonly` when the peer sends to us).
    public var remoteDirection: SDPDirection
    /// Payload types and their RTX associations, from the **answer** (what both sides agreed).
    public var codecs: SDPNegotiatedCodecs
    /// SSRCs the remote side signalled for this m-line (`a=ssrc`), media and RTX.
    public var remoteSSRCs: [UInt32]
    /// Media SSRC → RTX SSRC from `a=ssrc-group:FID`.
    public var remoteRTXSSRCByMediaSSRC: [UInt32: UInt32]
}

/// What the remote SDP says about the transport, plus the media lines of the session.
public struct RemoteSessionDescription: Sendable, Equatable {
    public var credentials: ICECredentials
    public var fingerprint: DTLSFingerprint
    public var setup: SDPSetupRole
    public var isIceLite: Bool
    /// UDP candidates of component 1 with IP literals, deduplicated by address (BUNDLE repeats
    /// them per m-line). mDNS names and TCP candidates are skipped.
    public var candidates: [ICECandidate]
    public var media: [NegotiatedMedia]

    /// True when a renegotiated SDP keeps the transport (same ICE credentials and DTLS
    /// fingerprint): the running `PeerConnection` carries on and only `media` changes. False
    /// means an ICE restart or a new peer: build a new connection.
    public func keepsTransport(of earlier: RemoteSessionDescription) -> Bool {
        credentials == earlier.credentials && fingerprint == earlier.fingerprint
    }

    /// The m-line with this mid.
    public func media(mid: String) -> NegotiatedMedia? { media.first { $0.mid == mid } }
}

/// Why the remote SDP cannot set up a connection, with what to check.
public struct SessionSetupError: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { "cannot set up the media connection from the SDP: \(reason)" }
}

/// Glue between the SDP library and `PeerConnection`: the relay's offers and answers, and the
/// mapping of a negotiated offer/answer pair to a `PeerConnectionConfiguration`.
public enum SessionSetup {
    // MARK: Local SDP

    /// The relay's answer to the SFU's pull offer (`tracks/new` without an offer): recvonly,
    /// `a=setup:active` (the relay is the DTLS client), the relay's ufrag/pwd/fingerprint/candidates.
    public static func relayAnswer(toSFUOffer offer: SDP, local: LocalTransportParameters,
                                   codecs: [SDPCodec] = SDPCodec.relayDefaults) -> SDP {
        SDP.makeAnswer(toOffer: offer, local: local.mediaParameters(setup: .active, iceLite: false, codecs: codecs))
    }

    /// The relay's offer for the client-offer shape: one recvonly m-line per slot, `a=setup:actpass`
    /// (the SFU answers `passive`, making the relay the DTLS client).
    public static func relayRecvOnlyOffer(tracks: [SDPTrackSlot], local: LocalTransportParameters,
                                          codecs: [SDPCodec] = SDPCodec.relayDefaults) -> SDP {
        SDP.makeRecvOnlyOffer(tracks: tracks, local: local.mediaParameters(setup: .actpass, iceLite: false, codecs: codecs))
    }

    // MARK: Remote SDP

    /// Reads the transport parameters and media lines of the remote SDP. `answer` is whichever
    /// of the two SDPs is the answer (its codecs are what was agreed); pass nil to read the
    /// codecs from `remote` itself.
    public static func describe(remote: SDP, answer: SDP? = nil) throws(SessionSetupError) -> RemoteSessionDescription {
        let bundled = remote.bundleMids
        let active = remote.mediaSections.filter { !$0.isRejected }
        guard let first = active.first(where: { bundled.isEmpty || ($0.mid.map(bundled.contains) ?? false) }) ?? active.first
        else { throw SessionSetupError("the remote SDP has no accepted m-line (every port is 0)") }
        guard let ufrag = remote.iceUfrag(for: first), let pwd = remote.icePwd(for: first) else {
            throw SessionSetupError("the remote SDP has no a=ice-ufrag/a=ice-pwd")
        }
        guard let sdpFingerprint = remote.fingerprint(for: first) else {
            throw SessionSetupError("the remote SDP has no a=fingerprint")
        }
        let fingerprint: DTLSFingerprint
        do {
            fingerprint = try DTLSFingerprint(sdpValue: sdpFingerprint.attributeValue)
        } catch {
            throw SessionSetupError("the remote a=fingerprint is unusable: \(error)")
        }
        guard let setup = remote.setup(for: first) else {
            throw SessionSetupError("the remote SDP has no a=setup (needed to decide the DTLS role)")
        }

        var candidates: [ICECandidate] = []
        for media in active {
            for sdpCandidate in media.candidates where sdpCandidate.component == 1 && sdpCandidate.transport == "udp" {
                guard let candidate = try? ICECandidate(parsing: sdpCandidate.attributeValue),
                      !candidates.contains(where: { $0.address == candidate.address }) else { continue }
                candidates.append(candidate)
            }
        }

        var media: [NegotiatedMedia] = []
        for section in active where section.kind == .audio || section.kind == .video {
            guard let mid = section.mid else { continue }
            let agreed = answer?.mediaSection(mid: mid) ?? section
            media.append(NegotiatedMedia(
                mid: mid, kind: section.kind, remoteDirection: remote.direction(for: section),
                codecs: agreed.negotiatedCodecs, remoteSSRCs: section.ssrcs,
                remoteRTXSSRCByMediaSSRC: section.rtxSsrcByMediaSsrc))
        }
        return RemoteSessionDescription(
            credentials: ICECredentials(ufrag: ufrag, password: pwd), fingerprint: fingerprint, setup: setup,
            isIceLite: remote.isIceLite, candidates: candidates, media: media)
    }

    /// RFC 5763 §5: who is the DTLS client, from this side's and the peer's `a=setup`. An
    /// answer's `active`/`passive` decides; `actpass` only ever appears in the offer.
    public static func dtlsRole(local: SDPSetupRole, remote: SDPSetupRole) throws(SessionSetupError) -> DTLSRole {
        switch (local, remote) {
        case (.active, .passive), (.active, .actpass): return .client
        case (.passive, .active), (.passive, .actpass): return .server
        case (.actpass, .passive): return .client
        case (.actpass, .active): return .server
        default:
            throw SessionSetupError("a=setup:\(local.rawValue) here and a=setup:\(remote.rawValue) at the peer "
                + "do not decide a DTLS role (one side must be active, the other passive)")
        }
    }

    /// The `PeerConnection` configuration for one side of a negotiated session.
    /// - Parameters:
    ///   - side: `.relay` (ICE controlling) or `.sfu` (ICE-lite).
    ///   - localSDP / remoteSDP: this side's and the peer's SDP (offer and answer in either order).
    ///   - local: the transport parameters the local SDP was made from.
    public static func configuration(side: PeerSide, local: LocalTransportParameters, localSDP: SDP, remoteSDP: SDP,
                                     srtpProfiles: [DTLSSRTPProfile] = [.aeadAES128GCM, .aes128CMHMACSHA1_80])
        throws(SessionSetupError) -> (PeerConnectionConfiguration, RemoteSessionDescription)
    {
        let localIsAnswer = !(localSDP.mediaSections.contains { $0.setup == .actpass } || localSDP.setup == .actpass)
        let remote = try describe(remote: remoteSDP, answer: localIsAnswer ? localSDP : remoteSDP)
        guard let localSetup = localSDP.mediaSections.first(where: { !$0.isRejected }).flatMap({ localSDP.setup(for: $0) })
        else { throw SessionSetupError("the local SDP has no a=setup") }
        let role = try dtlsRole(local: localSetup, remote: remote.setup)
        let configuration = PeerConnectionConfiguration(
            ice: ICEConfiguration(mode: side.iceMode, localCredentials: local.credentials),
            dtls: DTLSConfiguration(role: role, remoteFingerprint: remote.fingerprint, srtpProfiles: srtpProfiles),
            certificate: local.certificate, localCandidates: local.candidates,
            remoteCredentials: remote.credentials, remoteCandidates: remote.candidates)
        return (configuration, remote)
    }

    /// An ICE candidate as the SDP library writes it.
    public static func sdpCandidate(_ candidate: ICECandidate) -> SDPCandidate {
        SDPCandidate(
            foundation: candidate.foundation, component: candidate.component, transport: candidate.transport,
            priority: candidate.priority, address: candidate.address.ipString, port: Int(candidate.address.port),
            type: candidate.kind.rawValue, relatedAddress: candidate.relatedAddress?.ipString,
            relatedPort: candidate.relatedAddress.map { Int($0.port) })
    }
}

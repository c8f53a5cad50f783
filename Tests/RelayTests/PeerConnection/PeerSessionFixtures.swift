import Relay

/// Real SDP made with the SDP library for both subscribe shapes, and the two PeerConnections
/// configured from it through `SessionSetup`.
struct PeerSession {
    static let videoSSRC: UInt32 = 0x1111_1111
    static let videoRTXSSRC: UInt32 = 0x2222_2222
    static let audioSSRC: UInt32 = 0x3333_3333

    enum Shape: CustomStringConvertible {
        /// Calls' documented pull: the SFU offers (actpass), the relay answers active.
        case sfuOffers
        /// The client-offer shape: the relay offers (actpass), the SFU answers passive.
        case relayOffers
        /// The client-offer shape answered `active`: the SFU side is the DTLS client (RFC 5763).
        case relayOffersSFUActive

        var description: String {
            switch self {
            case .sfuOffers: "sfuOffers"
            case .relayOffers: "relayOffers"
            case .relayOffersSFUActive: "relayOffersSFUActive"
            }
        }
    }

    let relayLocal: LocalTransportParameters
    let sfuLocal: LocalTransportParameters
    let offer: SDP
    let answer: SDP
    let relayConfiguration: PeerConnectionConfiguration
    let sfuConfiguration: PeerConnectionConfiguration
    /// What the relay learned from the SFU's SDP.
    let relaySeesRemote: RemoteSessionDescription

    static let sfuTracks = [
        SDPSendTrack(kind: .video, mid: "0", ssrc: videoSSRC, rtxSsrc: videoRTXSSRC, cname: "sfu",
                     streamId: "guest1", trackId: "video"),
        SDPSendTrack(kind: .audio, mid: "1", ssrc: audioSSRC, cname: "sfu", streamId: "guest1", trackId: "audio"),
    ]

    static let sfuCodecs: [SDPCodec] = [.h264(), .opus()]

    /// - Parameter sfuExpects: overrides the fingerprint the SFU side checks (mismatch tests).
    init(shape: Shape = .sfuOffers, relayExpects: DTLSFingerprint? = nil, seed: UInt64 = 1) throws {
        relayLocal = LocalTransportParameters(
            credentials: ICECredentials(ufrag: "relayufr", password: "relay-password-0123456789"),
            certificate: try DTLSCertificate(commonName: "relay"),
            candidates: [.host(PeerTestNetwork.relayAddress)])
        sfuLocal = LocalTransportParameters(
            credentials: ICECredentials(ufrag: "sfuufrag", password: "sfu-password-0123456789ab"),
            certificate: try DTLSCertificate(commonName: "sfu"),
            candidates: [.host(PeerTestNetwork.sfuAddress)])

        // Everything crosses the wire as text, as it would through the Calls API.
        let relaySDP: SDP
        let sfuSDP: SDP
        switch shape {
        case .sfuOffers:
            let sfuOffer = SDP.makeSendOnlyOffer(
                tracks: Self.sfuTracks,
                local: sfuLocal.mediaParameters(setup: .actpass, iceLite: true, codecs: Self.sfuCodecs))
            let received = try SDP.parse(sfuOffer.serialized)
            let relayAnswer = SessionSetup.relayAnswer(toSFUOffer: received, local: relayLocal)
            offer = sfuOffer
            answer = try SDP.parse(relayAnswer.serialized)
            sfuSDP = sfuOffer
            relaySDP = relayAnswer
        case .relayOffers, .relayOffersSFUActive:
            let relayOffer = SessionSetup.relayRecvOnlyOffer(
                tracks: [SDPTrackSlot(kind: .video, mid: "0"), SDPTrackSlot(kind: .audio, mid: "1")], local: relayLocal)
            let received = try SDP.parse(relayOffer.serialized)
            let sfuAnswer = SDP.makeAnswer(
                toOffer: received, local: sfuLocal.mediaParameters(setup: shape == .relayOffers ? .passive : .active, iceLite: true,
                                                                codecs: Self.sfuCodecs),
                options: SDPAnswerOptions(singleCodec: true, outgoingTracks: Self.sfuTracks))
            offer = relayOffer
            answer = try SDP.parse(sfuAnswer.serialized)
            sfuSDP = sfuAnswer
            relaySDP = relayOffer
        }

        var (relayConfiguration, relaySeesRemote) = try SessionSetup.configuration(
            side: .relay, local: relayLocal, localSDP: relaySDP, remoteSDP: try SDP.parse(sfuSDP.serialized))
        var (sfuConfiguration, _) = try SessionSetup.configuration(
            side: .sfu, local: sfuLocal, localSDP: sfuSDP, remoteSDP: try SDP.parse(relaySDP.serialized))
        // Exact manual-time behaviour: no wall-clock OpenSSL timer, seeded ICE.
        relayConfiguration.dtls.usesOpenSSLTimer = false
        sfuConfiguration.dtls.usesOpenSSLTimer = false
        relayConfiguration.ice.randomSeed = seed
        sfuConfiguration.ice.randomSeed = seed &+ 1000
        if let relayExpects { relayConfiguration.dtls.remoteFingerprint = relayExpects }
        self.relayConfiguration = relayConfiguration
        self.sfuConfiguration = sfuConfiguration
        self.relaySeesRemote = relaySeesRemote
    }

    func network() throws -> PeerTestNetwork {
        PeerTestNetwork(relay: try PeerConnection(configuration: relayConfiguration),
                        sfu: try PeerConnection(configuration: sfuConfiguration))
    }

    static func videoPacket(sequence: UInt16, payload: [UInt8] = [0x65, 1, 2, 3, 4, 5, 6, 7]) -> [UInt8] {
        RTPPacketBuilder(marker: true, payloadType: 125, sequenceNumber: sequence, timestamp: UInt32(sequence) &* 3000,
                         ssrc: videoSSRC, payload: payload).serialize()
    }
}

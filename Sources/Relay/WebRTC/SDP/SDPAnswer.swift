/// Choices for `SDP.makeAnswer` beyond the local parameters.
public struct SDPAnswerOptions: Sendable, Equatable {
    /// How to answer a `sendrecv` m-line: `.recvonly` for a pure receiver (default), or `.sendrecv`.
    public var answerToSendRecv: SDPDirection
    /// Accept only the first matching codec (and its RTX) per m-line, as an SFU does.
    public var singleCodec: Bool
    /// Answer `a=simulcast:send …` with `recv` and its rids; otherwise simulcast is declined and the
    /// browser sends one encoding.
    public var acceptSimulcast: Bool
    /// What this side sends on m-lines the offerer receives (matched by mid): ssrc/msid lines.
    public var outgoingTracks: [SDPSendTrack]

    public init(answerToSendRecv: SDPDirection = .recvonly, singleCodec: Bool = false, acceptSimulcast: Bool = false,
                outgoingTracks: [SDPSendTrack] = []) {
        self.answerToSendRecv = answerToSendRecv
        self.singleCodec = singleCodec
        self.acceptSimulcast = acceptSimulcast
        self.outgoingTracks = outgoingTracks
    }
}

extension SDP {
    /// A strict answer to `offer`: one m-line per offered m-line, same mids and order. An audio/video
    /// RTP m-line is accepted when a local codec matches one of its codecs; it keeps the offerer's
    /// payload types (with their RTX), the offered feedback this side supports, and the offered
    /// header extensions whose URIs this side knows (offerer's ids). Everything else (data channels,
    /// port 0, no common codec) is rejected with port 0. Directions are mirrored (sendonly →
    /// recvonly, recvonly → sendonly, sendrecv → `options.answerToSendRecv`); an `actpass` offer is
    /// answered with `local.setup`. BUNDLE lists the accepted mids of the offer's bundle group.
    public static func makeAnswer(toOffer offer: SDP, local: LocalMediaParameters,
                                  options: SDPAnswerOptions = SDPAnswerOptions()) -> SDP {
        var sections: [SDPMediaSection] = []
        var acceptedMids: [String] = []
        for media in offer.mediaSections {
            if let answer = acceptedSection(media, in: offer, local: local, options: options) {
                sections.append(answer)
                if let mid = media.mid { acceptedMids.append(mid) }
            } else {
                sections.append(rejectedSection(media))
            }
        }

        var session = SDPWriter.sessionHeader(sessionId: local.sessionId)
        if local.iceLite { session.append(.attr("ice-lite")) }
        let offeredBundle = offer.bundleMids
        let bundle = offeredBundle.filter { acceptedMids.contains($0) }
        if !bundle.isEmpty { session.append(.attr("group", SDPGroup(semantics: "BUNDLE", mids: bundle).attributeValue)) }
        if offer.extmapAllowMixed { session.append(.attr("extmap-allow-mixed")) }
        if !options.outgoingTracks.isEmpty { session.append(.attr("msid-semantic", " WMS")) }
        return SDP(sessionLines: session, mediaSections: sections)
    }

    /// Text convenience: parse, answer, serialize.
    public static func makeAnswer(toOfferText text: String, local: LocalMediaParameters,
                                  options: SDPAnswerOptions = SDPAnswerOptions()) throws(SDPError) -> String {
        makeAnswer(toOffer: try parse(text), local: local, options: options).serialized
    }

    static func answerSetup(offered: SDPSetupRole?, local: SDPSetupRole) -> SDPSetupRole {
        let preferred: SDPSetupRole = (local == .active) ? .active : .passive
        switch offered {
        case .active: return .passive
        case .passive: return .active
        case .actpass, .holdconn, .none: return preferred
        }
    }

    private static func acceptedSection(_ media: SDPMediaSection, in offer: SDP, local: LocalMediaParameters,
                                        options: SDPAnswerOptions) -> SDPMediaSection? {
        guard media.kind == .audio || media.kind == .video, media.isRTP, !media.isRejected else { return nil }
        let offered = media.negotiatedCodecs
        var accepted: [(codec: SDPMediaCodec, local: SDPCodec)] = []
        for codec in offered.codecs {
            if let mine = local.codecs.first(where: { $0.kind == media.kind && $0.accepts(codec) }) {
                accepted.append((codec, mine))
                if options.singleCodec { break }
            }
        }
        guard !accepted.isEmpty else { return nil }

        // Codec lines in the offer's m-line order, each RTX right after its codec's lines.
        var codecLines: [SDPLine] = []
        var keptPayloadTypes: Set<Int> = []
        for (codec, mine) in accepted {
            let feedback = codec.rtcpFeedback.filter { mine.rtcpFeedback.contains($0) }
            codecLines += SDPWriter.codecLines(codec, feedback: feedback)
            keptPayloadTypes.insert(codec.payloadType)
            guard mine.rtxPayloadType != nil else { continue }
            for rtx in offered.all where rtx.isRTX && offered.mediaPayloadType(forRTX: rtx.payloadType) == codec.payloadType {
                let extra = rtx.fmtp.map { SDPFmtp(payloadType: rtx.payloadType, parameters: $0).parameterList
                    .filter { $0.key.lowercased() != "apt" }.map { $0.value.isEmpty ? $0.key : "\($0.key)=\($0.value)" }
                    .joined(separator: ";") }
                codecLines += SDPWriter.rtxLines(payloadType: rtx.payloadType, clockRate: rtx.clockRate,
                                                 apt: codec.payloadType, extra: extra)
                keptPayloadTypes.insert(rtx.payloadType)
            }
        }
        let formats = media.payloadTypes.filter { keptPayloadTypes.contains($0) }
            .reduce(into: [Int]()) { if !$0.contains($1) { $0.append($1) } }.map { String($0) }

        let offeredDirection = offer.direction(for: media)
        let direction: SDPDirection
        switch offeredDirection {
        case .sendonly: direction = .recvonly
        case .recvonly: direction = .sendonly
        case .sendrecv: direction = options.answerToSendRecv
        case .inactive: direction = .inactive
        }
        let setup = answerSetup(offered: offer.setup(for: media), local: local.setup)

        var lines = SDPWriter.transportLines(local, setup: setup, mid: media.mid)
        let acceptsSimulcast = options.acceptSimulcast && !(media.simulcast?.send.isEmpty ?? true)
        // Simulcast needs the RID extensions (Chromium refuses the answer without them).
        let knownURIs = local.headerExtensions.map(\.uri)
            + (acceptsSimulcast ? [SDPExtmap.rtpStreamIdURI, SDPExtmap.repairedRtpStreamIdURI] : [])
        for extmap in media.extmaps where knownURIs.contains(extmap.uri) {
            lines.append(.attr("extmap", SDPExtmap(id: extmap.id, uri: extmap.uri).attributeValue))
        }
        lines.append(.attr(direction.rawValue))
        let outgoing = direction.sends ? options.outgoingTracks.first { $0.mid == media.mid } : nil
        if let outgoing { lines.append(.attr("msid", "\(outgoing.streamId) \(outgoing.trackId)")) }
        lines.append(.attr("rtcp-mux"))
        lines += codecLines
        if acceptsSimulcast, let simulcast = media.simulcast {
            for rid in media.rids where rid.direction == "send" {
                lines.append(.attr("rid", "\(rid.id) recv"))
            }
            lines.append(.attr("simulcast", SDPSimulcast(recv: simulcast.send).attributeValue))
        }
        if let outgoing { lines += SDPWriter.sendLines(outgoing) }

        let mediaLine = SDPMediaLine(media: media.mediaLine.media, port: SDPWriter.port(local), proto: media.proto,
                                     formats: formats)
        return SDPMediaSection(mediaLine: mediaLine, lines: lines)
    }

    /// Port 0, the offer's first format (and its rtpmap), c=, mid.
    private static func rejectedSection(_ media: SDPMediaSection) -> SDPMediaSection {
        let format = media.mediaLine.formats.first ?? "0"
        var lines: [SDPLine] = [.field(type: "c", value: "IN IP4 0.0.0.0")]
        if let mid = media.mid { lines.append(.attr("mid", mid)) }
        if media.isRTP {
            lines.append(.attr("inactive"))
            if let pt = Int(format), let map = media.rtpMap(payloadType: pt) { lines.append(.attr("rtpmap", map.attributeValue)) }
        }
        let mediaLine = SDPMediaLine(media: media.mediaLine.media, port: 0, proto: media.proto, formats: [format])
        return SDPMediaSection(mediaLine: mediaLine, lines: lines)
    }
}

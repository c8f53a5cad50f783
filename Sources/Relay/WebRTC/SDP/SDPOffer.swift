extension SDP {
    /// The relay's client-offer subscribe shape: one `recvonly` m-line per slot (kind, mid), the
    /// local codecs of that kind with their payload types and RTX, `a=setup:actpass`, BUNDLE of all mids.
    public static func makeRecvOnlyOffer(tracks: [SDPTrackSlot], local: LocalMediaParameters) -> SDP {
        makeOffer(slots: tracks.map { ($0.kind, $0.mid, nil) }, direction: .recvonly, local: local)
    }

    /// The SFU's pull offer (FakeCalls): one `sendonly` m-line per track with its ssrc/msid lines and
    /// FID group, the local codecs of its kind (the SFU's own payload types, e.g. H.264 125 + RTX 37,
    /// VP8 96 + RTX 35, opus 111), `a=setup:actpass`, and `a=ice-lite` when `local.iceLite`.
    public static func makeSendOnlyOffer(tracks: [SDPSendTrack], local: LocalMediaParameters) -> SDP {
        makeOffer(slots: tracks.map { ($0.kind, $0.mid, $0) }, direction: .sendonly, local: local)
    }

    private static func makeOffer(slots: [(kind: SDPMediaKind, mid: String, send: SDPSendTrack?)], direction: SDPDirection,
                                  local: LocalMediaParameters) -> SDP {
        var sections: [SDPMediaSection] = []
        var bundled: [String] = []
        for slot in slots {
            let codecs = local.codecs.filter { $0.kind == slot.kind }
            guard !codecs.isEmpty else {
                // Nothing to offer for this kind: a disabled m-line keeps the mid's position.
                let line = SDPMediaLine(media: slot.kind.description, port: 0, proto: "UDP/TLS/RTP/SAVPF", formats: ["0"])
                sections.append(SDPMediaSection(mediaLine: line, lines: [
                    .field(type: "c", value: "IN IP4 0.0.0.0"), .attr("mid", slot.mid), .attr("inactive"),
                ]))
                continue
            }
            bundled.append(slot.mid)
            var formats: [String] = []
            var codecLines: [SDPLine] = []
            for codec in codecs {
                formats.append(String(codec.payloadType))
                codecLines += SDPWriter.codecLines(codec.descriptor, feedback: codec.rtcpFeedback)
                if let rtx = codec.rtxPayloadType {
                    formats.append(String(rtx))
                    codecLines += SDPWriter.rtxLines(payloadType: rtx, clockRate: codec.clockRate, apt: codec.payloadType, extra: nil)
                }
            }
            var lines = SDPWriter.transportLines(local, setup: .actpass, mid: slot.mid)
            for extmap in local.headerExtensions { lines.append(.attr("extmap", SDPExtmap(id: extmap.id, uri: extmap.uri).attributeValue)) }
            lines.append(.attr(direction.rawValue))
            if let send = slot.send { lines.append(.attr("msid", "\(send.streamId) \(send.trackId)")) }
            lines.append(.attr("rtcp-mux"))
            lines += codecLines
            if let send = slot.send { lines += SDPWriter.sendLines(send) }
            let line = SDPMediaLine(media: slot.kind.description, port: SDPWriter.port(local), proto: "UDP/TLS/RTP/SAVPF",
                                    formats: formats)
            sections.append(SDPMediaSection(mediaLine: line, lines: lines))
        }
        var session = SDPWriter.sessionHeader(sessionId: local.sessionId)
        if local.iceLite { session.append(.attr("ice-lite")) }
        if !bundled.isEmpty { session.append(.attr("group", SDPGroup(semantics: "BUNDLE", mids: bundled).attributeValue)) }
        if direction.sends { session.append(.attr("msid-semantic", " WMS")) }
        return SDP(sessionLines: session, mediaSections: sections)
    }
}

// Typed views over the lines of an SDP. Readers are lenient: an attribute whose value cannot be
// read is skipped by the typed view (the raw line stays in the model).

extension Array where Element == SDPLine {
    /// Values of every `a=name[:value]` line, in order (a flag gives "").
    public func attributeValues(_ name: String) -> [String] {
        compactMap { line in
            guard let attribute = line.attribute, attribute.name == name else { return nil }
            return attribute.value?.trimmingSpaces ?? ""
        }
    }

    public func firstAttributeValue(_ name: String) -> String? { attributeValues(name).first }

    public func hasAttribute(_ name: String) -> Bool { contains { $0.attribute?.name == name } }

    public func fieldValues(_ type: Character) -> [String] {
        compactMap { line in
            if case .field(let lineType, let value) = line, lineType == type { return value }
            return nil
        }
    }
}

extension SDP {
    public var iceUfrag: String? { sessionLines.firstAttributeValue("ice-ufrag") }
    public var icePwd: String? { sessionLines.firstAttributeValue("ice-pwd") }
    public var fingerprint: SDPFingerprint? { sessionLines.attributeValues("fingerprint").lazy.compactMap(SDPFingerprint.init(attributeValue:)).first }
    public var setup: SDPSetupRole? { sessionLines.firstAttributeValue("setup").flatMap(SDPSetupRole.init(rawValue:)) }
    public var isIceLite: Bool { sessionLines.hasAttribute("ice-lite") }
    public var extmapAllowMixed: Bool { sessionLines.hasAttribute("extmap-allow-mixed") }
    /// Session-level direction attribute (Firefox writes `a=sendrecv` here).
    public var sessionDirection: SDPDirection? {
        sessionLines.compactMap { $0.attribute.flatMap { SDPDirection(rawValue: $0.name) } }.last
    }
    public var groups: [SDPGroup] { sessionLines.attributeValues("group").compactMap(SDPGroup.init(attributeValue:)) }
    /// The mids of the first BUNDLE group, or [] if none.
    public var bundleMids: [String] { groups.first(where: { $0.semantics.uppercased() == "BUNDLE" })?.mids ?? [] }
    /// `o=` session id (second field), if readable.
    public var originSessionId: String? {
        sessionLines.fieldValues("o").first.flatMap { value in
            let words = sdpWords(value)
            return words.count >= 2 ? String(words[1]) : nil
        }
    }

    public func mediaSection(mid: String) -> SDPMediaSection? { mediaSections.first { $0.mid == mid } }

    // Effective values: the m-line's own attribute, else the session-level one (RFC 8839/8122).
    public func iceUfrag(for media: SDPMediaSection) -> String? { media.iceUfrag ?? iceUfrag }
    public func icePwd(for media: SDPMediaSection) -> String? { media.icePwd ?? icePwd }
    public func fingerprint(for media: SDPMediaSection) -> SDPFingerprint? { media.fingerprint ?? fingerprint }
    public func setup(for media: SDPMediaSection) -> SDPSetupRole? { media.setup ?? setup }
    /// The m-line's direction, else the session's, else sendrecv (RFC 3264 default).
    public func direction(for media: SDPMediaSection) -> SDPDirection { media.direction ?? sessionDirection ?? .sendrecv }
}

extension SDPMediaSection {
    public var kind: SDPMediaKind { SDPMediaKind(mediaLine.media) }
    public var port: Int { mediaLine.port }
    public var proto: String { mediaLine.proto }
    /// Numeric formats of the m-line, in preference order.
    public var payloadTypes: [Int] { mediaLine.formats.compactMap { Int($0) } }
    /// Port 0 without `a=bundle-only`: the m-line is rejected / disabled.
    public var isRejected: Bool { mediaLine.port == 0 && !lines.hasAttribute("bundle-only") }
    public var isRTP: Bool { mediaLine.proto.uppercased().contains("RTP/") }

    public var mid: String? { lines.firstAttributeValue("mid") }
    public var direction: SDPDirection? {
        lines.compactMap { $0.attribute.flatMap { SDPDirection(rawValue: $0.name) } }.last
    }
    public var rtcpMux: Bool { lines.hasAttribute("rtcp-mux") }
    public var rtcpReducedSize: Bool { lines.hasAttribute("rtcp-rsize") }
    public var iceUfrag: String? { lines.firstAttributeValue("ice-ufrag") }
    public var icePwd: String? { lines.firstAttributeValue("ice-pwd") }
    public var fingerprint: SDPFingerprint? { lines.attributeValues("fingerprint").lazy.compactMap(SDPFingerprint.init(attributeValue:)).first }
    public var setup: SDPSetupRole? { lines.firstAttributeValue("setup").flatMap(SDPSetupRole.init(rawValue:)) }
    public var endOfCandidates: Bool { lines.hasAttribute("end-of-candidates") }
    /// `c=` value, e.g. `IN IP4 127.0.0.1`.
    public var connection: String? { lines.fieldValues("c").first }
    /// `a=msid:<stream> <track>`
    public var msid: String? { lines.firstAttributeValue("msid") }

    public var rtpMaps: [SDPRtpMap] { lines.attributeValues("rtpmap").compactMap(SDPRtpMap.init(attributeValue:)) }
    public func rtpMap(payloadType: Int) -> SDPRtpMap? { rtpMaps.first { $0.payloadType == payloadType } }
    public var fmtps: [SDPFmtp] { lines.attributeValues("fmtp").compactMap(SDPFmtp.init(attributeValue:)) }
    public func fmtp(payloadType: Int) -> SDPFmtp? { fmtps.first { $0.payloadType == payloadType } }
    public var rtcpFeedback: [SDPRtcpFeedback] { lines.attributeValues("rtcp-fb").compactMap(SDPRtcpFeedback.init(attributeValue:)) }
    /// Feedback for one payload type, including `*` entries, without duplicates.
    public func rtcpFeedback(payloadType: Int) -> [String] {
        var seen: [String] = []
        for item in rtcpFeedback where item.payloadType == "*" || item.payloadType == String(payloadType) {
            if !seen.contains(item.feedback) { seen.append(item.feedback) }
        }
        return seen
    }
    public var ssrcAttributes: [SDPSsrcAttribute] { lines.attributeValues("ssrc").compactMap(SDPSsrcAttribute.init(attributeValue:)) }
    /// Distinct SSRCs in order of first appearance.
    public var ssrcs: [UInt32] {
        var out: [UInt32] = []
        for item in ssrcAttributes where !out.contains(item.ssrc) { out.append(item.ssrc) }
        return out
    }
    public var ssrcGroups: [SDPSsrcGroup] { lines.attributeValues("ssrc-group").compactMap(SDPSsrcGroup.init(attributeValue:)) }
    /// FID pairs: media SSRC → RTX SSRC.
    public var rtxSsrcByMediaSsrc: [UInt32: UInt32] {
        var out: [UInt32: UInt32] = [:]
        for group in ssrcGroups where group.semantics.uppercased() == "FID" && group.ssrcs.count >= 2 {
            out[group.ssrcs[0]] = group.ssrcs[1]
        }
        return out
    }
    public func cname(ssrc: UInt32) -> String? {
        ssrcAttributes.first { $0.ssrc == ssrc && $0.attribute == "cname" }?.value?.trimmingSpaces
    }
    public var extmaps: [SDPExtmap] { lines.attributeValues("extmap").compactMap(SDPExtmap.init(attributeValue:)) }
    public func extmapId(uri: String) -> Int? { extmaps.first { $0.uri == uri }?.id }
    public var candidates: [SDPCandidate] { lines.attributeValues("candidate").compactMap(SDPCandidate.init(attributeValue:)) }
    public var rids: [SDPRid] { lines.attributeValues("rid").compactMap(SDPRid.init(attributeValue:)) }
    public var simulcast: SDPSimulcast? { lines.attributeValues("simulcast").lazy.compactMap(SDPSimulcast.init(attributeValue:)).first }
}

extension SDP {
    /// The audio/video m-lines that send media (not rejected, sendonly/sendrecv, with a mid), in
    /// order: the `local` tracks of a Calls publish, one per m-line.
    public var sendingTracks: [SDPTrackSlot] {
        mediaSections.compactMap { media in
            guard media.kind == .audio || media.kind == .video, !media.isRejected, direction(for: media).sends,
                  let mid = media.mid else { return nil }
            return SDPTrackSlot(kind: media.kind, mid: mid)
        }
    }
}

/// This side's transport and media capabilities, used to build offers and answers.
public struct LocalMediaParameters: Sendable, Equatable {
    public var iceUfrag: String
    public var icePwd: String
    /// The DTLS certificate's fingerprint, e.g. `.sha256("AB:CD:…")`.
    public var fingerprint: SDPFingerprint
    /// The DTLS role to answer an `actpass` offer with: `.passive` when acting as the SFU
    /// (FakeCalls answering a browser), `.active` when the relay answers the SFU's pull offer.
    /// Offers always say `actpass`.
    public var setup: SDPSetupRole
    /// Write `a=ice-lite` (the SFU side).
    public var iceLite: Bool
    /// All local candidates (no trickle); the first UDP one also fills the m-line port and `c=`.
    public var candidates: [SDPCandidate]
    /// Codecs this side accepts (answers) or offers with these payload types (offers), best first.
    public var codecs: [SDPCodec]
    /// RTP header extensions: offers use these ids; answers accept offered extensions with these
    /// URIs and keep the offerer's ids.
    public var headerExtensions: [SDPExtmap]
    /// `o=` session id.
    public var sessionId: UInt64

    public init(iceUfrag: String, icePwd: String, fingerprint: SDPFingerprint, setup: SDPSetupRole = .passive,
                iceLite: Bool = false, candidates: [SDPCandidate] = [], codecs: [SDPCodec] = SDPCodec.relayDefaults,
                headerExtensions: [SDPExtmap] = LocalMediaParameters.defaultHeaderExtensions,
                sessionId: UInt64 = UInt64.random(in: 1...UInt64(Int64.max))) {
        self.iceUfrag = iceUfrag
        self.icePwd = icePwd
        self.fingerprint = fingerprint
        self.setup = setup
        self.iceLite = iceLite
        self.candidates = candidates
        self.codecs = codecs
        self.headerExtensions = headerExtensions
        self.sessionId = sessionId
    }

    /// mid (needed for BUNDLE demultiplexing) and abs-send-time (REMB). transport-cc is left out
    /// on purpose: a browser that gets it expects TWCC feedback and drops its bitrate without it.
    public static let defaultHeaderExtensions: [SDPExtmap] = [
        SDPExtmap(id: 4, uri: SDPExtmap.midURI),
        SDPExtmap(id: 2, uri: SDPExtmap.absSendTimeURI),
    ]
}

/// A track this side sends on one m-line: its SSRCs and the names written in `a=msid`/`a=ssrc`.
public struct SDPSendTrack: Sendable, Equatable {
    public var kind: SDPMediaKind
    public var mid: String
    public var ssrc: UInt32
    /// RTX SSRC (written as `a=ssrc-group:FID ssrc rtxSsrc`), video only.
    public var rtxSsrc: UInt32?
    public var cname: String
    public var streamId: String
    public var trackId: String

    public init(kind: SDPMediaKind, mid: String, ssrc: UInt32, rtxSsrc: UInt32? = nil, cname: String,
                streamId: String, trackId: String) {
        self.kind = kind
        self.mid = mid
        self.ssrc = ssrc
        self.rtxSsrc = rtxSsrc
        self.cname = cname
        self.streamId = streamId
        self.trackId = trackId
    }
}

/// One m-line of a receive-only offer.
public struct SDPTrackSlot: Sendable, Equatable {
    public var kind: SDPMediaKind
    public var mid: String

    public init(kind: SDPMediaKind, mid: String) {
        self.kind = kind
        self.mid = mid
    }
}

/// Lines shared by offers and answers.
enum SDPWriter {
    static func sessionHeader(sessionId: UInt64) -> [SDPLine] {
        [.field(type: "v", value: "0"),
         .field(type: "o", value: "- \(sessionId) 2 IN IP4 127.0.0.1"),
         .field(type: "s", value: "-"),
         .field(type: "t", value: "0 0")]
    }

    /// The candidate the m-line port and `c=` name (first UDP candidate, else none → port 9).
    static func defaultCandidate(_ local: LocalMediaParameters) -> SDPCandidate? {
        local.candidates.first { $0.transport == "udp" && $0.component == 1 }
    }

    static func port(_ local: LocalMediaParameters) -> Int { defaultCandidate(local)?.port ?? 9 }

    static func connectionLine(_ local: LocalMediaParameters) -> SDPLine {
        guard let candidate = defaultCandidate(local) else { return .field(type: "c", value: "IN IP4 0.0.0.0") }
        let family = candidate.address.contains(":") ? "IP6" : "IP4"
        return .field(type: "c", value: "IN \(family) \(candidate.address)")
    }

    /// c=, candidates, ICE credentials, fingerprint, setup, mid.
    static func transportLines(_ local: LocalMediaParameters, setup: SDPSetupRole, mid: String?) -> [SDPLine] {
        var lines: [SDPLine] = [connectionLine(local)]
        for candidate in local.candidates { lines.append(.attr("candidate", candidate.attributeValue)) }
        if !local.candidates.isEmpty { lines.append(.attr("end-of-candidates")) }
        lines.append(.attr("ice-ufrag", local.iceUfrag))
        lines.append(.attr("ice-pwd", local.icePwd))
        lines.append(.attr("fingerprint", local.fingerprint.attributeValue))
        lines.append(.attr("setup", setup.rawValue))
        if let mid { lines.append(.attr("mid", mid)) }
        return lines
    }

    static func codecLines(_ codec: SDPMediaCodec, feedback: [String]) -> [SDPLine] {
        var lines: [SDPLine] = [.attr("rtpmap", SDPRtpMap(payloadType: codec.payloadType, encodingName: codec.name,
                                                          clockRate: codec.clockRate, channels: codec.channels).attributeValue)]
        for item in feedback { lines.append(.attr("rtcp-fb", "\(codec.payloadType) \(item)")) }
        if let fmtp = codec.fmtp, !fmtp.isEmpty { lines.append(.attr("fmtp", "\(codec.payloadType) \(fmtp)")) }
        return lines
    }

    static func rtxLines(payloadType: Int, clockRate: Int, apt: Int, extra: String?) -> [SDPLine] {
        var fmtp = "apt=\(apt)"
        if let extra, !extra.isEmpty { fmtp += ";" + extra }
        return [.attr("rtpmap", "\(payloadType) rtx/\(clockRate)"), .attr("fmtp", "\(payloadType) \(fmtp)")]
    }

    static func sendLines(_ track: SDPSendTrack) -> [SDPLine] {
        var lines: [SDPLine] = []
        let msid = "\(track.streamId) \(track.trackId)"
        if let rtx = track.rtxSsrc { lines.append(.attr("ssrc-group", "FID \(track.ssrc) \(rtx)")) }
        for ssrc in [track.ssrc] + (track.rtxSsrc.map { [$0] } ?? []) {
            lines.append(.attr("ssrc", "\(ssrc) cname:\(track.cname)"))
            lines.append(.attr("ssrc", "\(ssrc) msid:\(msid)"))
        }
        return lines
    }
}

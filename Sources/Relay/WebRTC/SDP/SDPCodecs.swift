/// One codec of an m-line as the SDP describes it: rtpmap (or the static table), fmtp, feedback.
public struct SDPMediaCodec: Sendable, Equatable {
    public var payloadType: Int
    public var name: String
    public var clockRate: Int
    public var channels: Int?
    public var fmtp: String?
    public var rtcpFeedback: [String]

    public init(payloadType: Int, name: String, clockRate: Int, channels: Int? = nil, fmtp: String? = nil,
                rtcpFeedback: [String] = []) {
        self.payloadType = payloadType
        self.name = name
        self.clockRate = clockRate
        self.channels = channels
        self.fmtp = fmtp
        self.rtcpFeedback = rtcpFeedback
    }

    public var isRTX: Bool { name.lowercased() == "rtx" }

    public func fmtpParameter(_ key: String) -> String? {
        fmtp.flatMap { SDPFmtp(payloadType: payloadType, parameters: $0).parameter(key) }
    }

    /// H.264 `packetization-mode` (RFC 6184 default 0); nil for other codecs.
    public var h264PacketizationMode: Int? {
        guard name.uppercased() == "H264" else { return nil }
        return Int(fmtpParameter("packetization-mode") ?? "0") ?? 0
    }

    /// H.264 `profile-level-id` lowercased (RFC 6184 default 420010); nil for other codecs.
    public var h264ProfileLevelId: String? {
        guard name.uppercased() == "H264" else { return nil }
        return (fmtpParameter("profile-level-id") ?? "420010").lowercased()
    }

    /// `rtx` codecs: the payload type named by `apt=`, as written.
    public var associatedPayloadType: Int? { isRTX ? fmtpParameter("apt").flatMap { Int($0) } : nil }

    /// Name as `H264/90000`, `opus/48000/2`.
    public var summary: String { "\(name)/\(clockRate)" + (channels.map { "/\($0)" } ?? "") }

    /// RFC 3551 static payload types that may appear without an rtpmap.
    static func staticCodec(payloadType: Int) -> SDPMediaCodec? {
        switch payloadType {
        case 0: return SDPMediaCodec(payloadType: 0, name: "PCMU", clockRate: 8000, channels: 1)
        case 3: return SDPMediaCodec(payloadType: 3, name: "GSM", clockRate: 8000, channels: 1)
        case 8: return SDPMediaCodec(payloadType: 8, name: "PCMA", clockRate: 8000, channels: 1)
        case 9: return SDPMediaCodec(payloadType: 9, name: "G722", clockRate: 8000, channels: 1)
        case 13: return SDPMediaCodec(payloadType: 13, name: "CN", clockRate: 8000, channels: 1)
        case 18: return SDPMediaCodec(payloadType: 18, name: "G729", clockRate: 8000, channels: 1)
        default: return nil
        }
    }
}

/// What one m-line (an offer or a negotiated answer) says about its payload types: the codecs in
/// m-line order and which RTX payload type repairs which. Used by the receive side to map RTP
/// payload types to depacketizers.
public struct SDPNegotiatedCodecs: Sendable, Equatable {
    /// Every codec of the m-line in m-line order, RTX included.
    public var all: [SDPMediaCodec]

    public init(all: [SDPMediaCodec]) { self.all = all }

    /// The media codecs (not RTX), in preference order.
    public var codecs: [SDPMediaCodec] { all.filter { !$0.isRTX } }

    /// RTX payload type → `apt` as written (which may dangle).
    public var rtxAssociations: [Int: Int] {
        var out: [Int: Int] = [:]
        for codec in all where codec.isRTX {
            if let apt = codec.associatedPayloadType { out[codec.payloadType] = apt }
        }
        return out
    }

    public func codec(payloadType: Int) -> SDPMediaCodec? { all.first { $0.payloadType == payloadType } }

    public func isRTX(payloadType: Int) -> Bool { codec(payloadType: payloadType)?.isRTX ?? false }

    /// The media payload type an RTX payload type repairs. Follows `apt=` when it names a codec of
    /// this m-line; when it dangles (an SFU renumbered the codec but not the apt, as seen with
    /// Calls) and the m-line has exactly one codec of the RTX's clock rate, that codec is meant.
    public func mediaPayloadType(forRTX rtxPayloadType: Int) -> Int? {
        guard let rtx = codec(payloadType: rtxPayloadType), rtx.isRTX else { return nil }
        if let apt = rtx.associatedPayloadType, let target = codec(payloadType: apt), !target.isRTX {
            return apt
        }
        let sameClock = codecs.filter { $0.clockRate == rtx.clockRate }
        return sameClock.count == 1 ? sameClock[0].payloadType : nil
    }

    /// The RTX payload type repairing a media payload type, if any.
    public func rtxPayloadType(forMedia mediaPayloadType: Int) -> Int? {
        all.first { $0.isRTX && self.mediaPayloadType(forRTX: $0.payloadType) == mediaPayloadType }?.payloadType
    }
}

extension SDPMediaSection {
    /// The m-line's codecs: each numeric format with its rtpmap (or static entry), fmtp and feedback.
    /// Formats with neither an rtpmap nor a static meaning are left out.
    public var negotiatedCodecs: SDPNegotiatedCodecs {
        // One pass over the lines (this runs per offer and per answer, so keep it linear).
        var maps: [Int: SDPRtpMap] = [:]
        var fmtpByPT: [Int: String] = [:]
        var feedbackByPT: [String: [String]] = [:]
        for line in lines {
            guard let attribute = line.attribute, let value = attribute.value else { continue }
            switch attribute.name {
            case "rtpmap":
                if let map = SDPRtpMap(attributeValue: value), maps[map.payloadType] == nil { maps[map.payloadType] = map }
            case "fmtp":
                if let fmtp = SDPFmtp(attributeValue: value), fmtpByPT[fmtp.payloadType] == nil {
                    fmtpByPT[fmtp.payloadType] = fmtp.parameters
                }
            case "rtcp-fb":
                if let item = SDPRtcpFeedback(attributeValue: value) { feedbackByPT[item.payloadType, default: []].append(item.feedback) }
            default:
                break
            }
        }
        let wildcard = feedbackByPT["*"] ?? []
        var all: [SDPMediaCodec] = []
        var seen: Set<Int> = []
        for pt in payloadTypes where !seen.contains(pt) {
            seen.insert(pt)
            var codec: SDPMediaCodec
            if let map = maps[pt] {
                codec = SDPMediaCodec(payloadType: pt, name: map.encodingName, clockRate: map.clockRate, channels: map.channels)
            } else if let known = SDPMediaCodec.staticCodec(payloadType: pt) {
                codec = known
            } else {
                continue
            }
            codec.fmtp = fmtpByPT[pt]
            var feedback: [String] = []
            for item in wildcard + (feedbackByPT[String(pt)] ?? []) where !feedback.contains(item) { feedback.append(item) }
            codec.rtcpFeedback = feedback
            all.append(codec)
        }
        return SDPNegotiatedCodecs(all: all)
    }
}

/// A codec this side can use: for offers it is written as is (payload type, fmtp, feedback, RTX);
/// for answers it decides which offered codecs are accepted (the offerer's numbers are kept).
public struct SDPCodec: Sendable, Equatable {
    public var kind: SDPMediaKind
    public var payloadType: Int
    public var name: String
    public var clockRate: Int
    public var channels: Int?
    public var fmtp: String?
    /// Feedback this side supports (answers keep the offered feedback found in this list).
    public var rtcpFeedback: [String]
    /// RTX payload type to offer with it; in answers, non-nil means the offerer's RTX is accepted.
    public var rtxPayloadType: Int?
    /// H.264 only: in answers, accept any profile-level-id (the fmtp is still written in offers).
    public var acceptsAnyH264Profile: Bool

    public init(kind: SDPMediaKind, payloadType: Int, name: String, clockRate: Int, channels: Int? = nil,
                fmtp: String? = nil, rtcpFeedback: [String] = [], rtxPayloadType: Int? = nil,
                acceptsAnyH264Profile: Bool = false) {
        self.kind = kind
        self.payloadType = payloadType
        self.name = name
        self.clockRate = clockRate
        self.channels = channels
        self.fmtp = fmtp
        self.rtcpFeedback = rtcpFeedback
        self.rtxPayloadType = rtxPayloadType
        self.acceptsAnyH264Profile = acceptsAnyH264Profile
    }

    /// Feedback the relay's receive side generates (no transport-cc unless asked).
    public static func videoFeedback(transportCC: Bool = false) -> [String] {
        ["goog-remb"] + (transportCC ? ["transport-cc"] : []) + ["ccm fir", "nack", "nack pli"]
    }

    /// H.264 packetization-mode 1, written with `profileLevelId` in offers. Answers accept offers
    /// of the same profile_idc (42 = Baseline/Constrained Baseline) at any level, or any profile
    /// with `acceptAnyProfile` (the relay passes whatever the guest sends through).
    public static func h264(payloadType: Int = 125, rtxPayloadType: Int? = 37, profileLevelId: String = "42e01f",
                            acceptAnyProfile: Bool = false, rtcpFeedback: [String] = videoFeedback()) -> SDPCodec {
        SDPCodec(kind: .video, payloadType: payloadType, name: "H264", clockRate: 90000,
                 fmtp: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=" + profileLevelId,
                 rtcpFeedback: rtcpFeedback, rtxPayloadType: rtxPayloadType, acceptsAnyH264Profile: acceptAnyProfile)
    }

    public static func vp8(payloadType: Int = 96, rtxPayloadType: Int? = 35,
                           rtcpFeedback: [String] = videoFeedback()) -> SDPCodec {
        SDPCodec(kind: .video, payloadType: payloadType, name: "VP8", clockRate: 90000,
                 rtcpFeedback: rtcpFeedback, rtxPayloadType: rtxPayloadType)
    }

    public static func opus(payloadType: Int = 111, fmtp: String = "minptime=10;useinbandfec=1",
                            rtcpFeedback: [String] = []) -> SDPCodec {
        SDPCodec(kind: .audio, payloadType: payloadType, name: "opus", clockRate: 48000, channels: 2, fmtp: fmtp,
                 rtcpFeedback: rtcpFeedback)
    }

    /// What the relay can receive: H.264 (any profile, mode 1), VP8, Opus — with the SFU-like
    /// numbers Calls uses (H.264 125/RTX 37, VP8 96/RTX 35, opus 111).
    public static let relayDefaults: [SDPCodec] = [.h264(acceptAnyProfile: true), .vp8(), .opus()]

    var descriptor: SDPMediaCodec {
        SDPMediaCodec(payloadType: payloadType, name: name, clockRate: clockRate, channels: channels, fmtp: fmtp,
                      rtcpFeedback: rtcpFeedback)
    }

    /// Whether an offered codec is this one: same name and clock rate, and for H.264 the same
    /// packetization mode and (if this codec names one) the same profile_idc; for VP9 the same profile-id.
    public func accepts(_ offered: SDPMediaCodec) -> Bool {
        guard offered.name.lowercased() == name.lowercased(), offered.clockRate == clockRate else { return false }
        if let channels, (offered.channels ?? 1) != channels { return false }
        switch name.uppercased() {
        case "H264":
            let mine = descriptor
            guard offered.h264PacketizationMode == mine.h264PacketizationMode else { return false }
            if !acceptsAnyH264Profile, mine.fmtpParameter("profile-level-id") != nil,
               let wanted = mine.h264ProfileLevelId, let got = offered.h264ProfileLevelId {
                return wanted.prefix(2) == got.prefix(2)
            }
            return true
        case "VP9":
            return (offered.fmtpParameter("profile-id") ?? "0") == (descriptor.fmtpParameter("profile-id") ?? "0")
        default:
            return true
        }
    }
}

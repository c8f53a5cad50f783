/// Why an SDP was refused. Each case names what failed and what to check, so the text can go
/// straight into a WHIP 400/413/422 body or a log line.
public enum SDPError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The body was empty or only whitespace.
    case empty
    /// The text is longer than the parser accepts (guards against memory abuse).
    case tooLarge(bytes: Int, limit: Int)
    /// More m-lines than the parser accepts.
    case tooManyMediaSections(count: Int, limit: Int)
    /// The bytes are not UTF-8 text.
    case notUTF8
    /// A line that is not `x=value` SDP, or a field that cannot be read (`line` is 1-based).
    case malformedLine(line: Int, reason: String)
    /// Parsed, but there are no m-lines at all.
    case noMediaSections
    /// Every m-line is a data channel (`m=application`): nothing to relay.
    case onlyDataChannel
    /// No audio or video m-line offers a codec the relay can take (H.264, VP8, Opus).
    case noUsableCodec(offered: [String])
    /// No audio/video m-line sends media (all recvonly/inactive/rejected): nothing to publish.
    case nothingToSend
    /// An active m-line has no ice-ufrag/ice-pwd, neither on itself nor at session level.
    case missingICECredentials(mid: String?)
    /// An active m-line has no DTLS fingerprint, neither on itself nor at session level.
    case missingFingerprint(mid: String?)
    /// An active audio/video m-line uses a transport other than (UDP/TLS/)RTP/SAVPF.
    case unsupportedTransport(mid: String?, proto: String)

    /// The HTTP status a WHIP endpoint should answer with (RFC 9725: 400 unparsable, 422 unusable).
    public var httpStatus: Int {
        switch self {
        case .empty, .notUTF8, .malformedLine: return 400
        case .tooLarge: return 413
        case .tooManyMediaSections, .noMediaSections, .onlyDataChannel, .noUsableCodec, .nothingToSend,
             .missingICECredentials, .missingFingerprint, .unsupportedTransport:
            return 422
        }
    }

    public var description: String {
        switch self {
        case .empty:
            return "SDP is empty: send the browser's offer (pc.localDescription.sdp) as the body"
        case .tooLarge(let bytes, let limit):
            return "SDP is \(bytes) bytes, more than the \(limit)-byte limit"
        case .tooManyMediaSections(let count, let limit):
            return "SDP has \(count) m-lines, more than the limit of \(limit)"
        case .notUTF8:
            return "SDP is not UTF-8 text"
        case .malformedLine(let line, let reason):
            return "SDP line \(line) is malformed: \(reason)"
        case .noMediaSections:
            return "SDP has no m-lines: add audio/video transceivers before createOffer()"
        case .onlyDataChannel:
            return "SDP offers only a data channel: publish audio and/or video tracks"
        case .noUsableCodec(let offered):
            let list = offered.isEmpty ? "none" : offered.joined(separator: ", ")
            return "SDP offers no usable codec (need H264, VP8 or opus; offered: \(list))"
        case .nothingToSend:
            return "SDP sends no media: every audio/video m-line is recvonly, inactive or rejected"
        case .missingICECredentials(let mid):
            return "SDP m-line \(mid.map { "mid \($0)" } ?? "without mid") has no a=ice-ufrag/a=ice-pwd"
        case .missingFingerprint(let mid):
            return "SDP m-line \(mid.map { "mid \($0)" } ?? "without mid") has no a=fingerprint (DTLS is required)"
        case .unsupportedTransport(let mid, let proto):
            return "SDP m-line \(mid.map { "mid \($0)" } ?? "without mid") uses transport \(proto); need UDP/TLS/RTP/SAVPF"
        }
    }
}

/// A session description kept as its lines, in order, so that parsing and serializing a real
/// browser's SDP gives back the same text; typed views (SDPAccessors.swift) read those lines.
///
/// Named `SDP` because `SessionDescription` is the Calls wire type (`{type, sdp}`).
public struct SDP: Sendable, Equatable, CustomStringConvertible {
    /// Session-level lines (v=, o=, s=, t=, session attributes), in order.
    public var sessionLines: [SDPLine]
    /// The m-sections, in order.
    public var mediaSections: [SDPMediaSection]

    public init(sessionLines: [SDPLine], mediaSections: [SDPMediaSection]) {
        self.sessionLines = sessionLines
        self.mediaSections = mediaSections
    }

    /// Strict output: every line ends with CRLF.
    public var serialized: String {
        var out = ""
        out.reserveCapacity(4096)
        for line in sessionLines { out += line.text; out += "\r\n" }
        for media in mediaSections {
            out += media.mediaLine.text; out += "\r\n"
            for line in media.lines { out += line.text; out += "\r\n" }
        }
        return out
    }

    public var description: String { serialized }
}

/// One `x=value` line. Attribute values are kept as written (a leading space after the colon,
/// as in Chrome's `a=msid-semantic: WMS`, survives a round trip); readers trim.
public enum SDPLine: Sendable, Equatable {
    case attribute(SDPAttribute)
    /// Any non-attribute line (v, o, s, i, u, e, p, c, b, t, r, z, k): its type letter and raw value.
    case field(type: Character, value: String)

    public var text: String {
        switch self {
        case .attribute(let attribute): return "a=" + attribute.text
        case .field(let type, let value): return "\(type)=" + value
        }
    }

    public var attribute: SDPAttribute? {
        if case .attribute(let attribute) = self { return attribute }
        return nil
    }

    public static func attr(_ name: String, _ value: String? = nil) -> SDPLine {
        .attribute(SDPAttribute(name: name, value: value))
    }
}

/// `a=name` (a flag) or `a=name:value`.
public struct SDPAttribute: Sendable, Equatable {
    public var name: String
    /// Everything after the first colon, untrimmed; nil for a flag attribute.
    public var value: String?

    public init(name: String, value: String? = nil) {
        self.name = name
        self.value = value
    }

    public var text: String { value.map { name + ":" + $0 } ?? name }
}

public enum SDPMediaKind: Sendable, Equatable, Hashable, CustomStringConvertible {
    case audio, video, application
    case other(String)

    public init(_ token: String) {
        switch token.lowercased() {
        case "audio": self = .audio
        case "video": self = .video
        case "application": self = .application
        default: self = .other(token)
        }
    }

    public var description: String {
        switch self {
        case .audio: return "audio"
        case .video: return "video"
        case .application: return "application"
        case .other(let token): return token
        }
    }
}

/// `m=<media> <port>[/<count>] <proto> <fmt> ...`
public struct SDPMediaLine: Sendable, Equatable {
    public var media: String
    public var port: Int
    public var portCount: Int?
    public var proto: String
    /// Payload types for RTP (as text), or e.g. `webrtc-datachannel` for SCTP.
    public var formats: [String]

    public init(media: String, port: Int, portCount: Int? = nil, proto: String, formats: [String]) {
        self.media = media
        self.port = port
        self.portCount = portCount
        self.proto = proto
        self.formats = formats
    }

    public var text: String {
        var out = "m=" + media + " " + String(port)
        if let portCount { out += "/" + String(portCount) }
        out += " " + proto
        for format in formats { out += " " + format }
        return out
    }
}

/// One m-section: its m-line and the lines under it.
public struct SDPMediaSection: Sendable, Equatable {
    public var mediaLine: SDPMediaLine
    public var lines: [SDPLine]

    public init(mediaLine: SDPMediaLine, lines: [SDPLine]) {
        self.mediaLine = mediaLine
        self.lines = lines
    }
}

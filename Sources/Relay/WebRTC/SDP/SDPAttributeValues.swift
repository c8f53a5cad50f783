// Typed readings of the attribute values WebRTC uses. Each has `init?(attributeValue:)` (nil when
// the value cannot be read: the raw line stays in the model anyway) and `attributeValue` for output.

/// Splits on spaces/tabs, dropping empties.
func sdpWords<S: StringProtocol>(_ text: S) -> [Substring] {
    text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map { Substring($0) }
}

public struct SDPKeyValue: Sendable, Equatable {
    public var key: String
    public var value: String
    public init(_ key: String, _ value: String) {
        self.key = key
        self.value = value
    }
}

public enum SDPDirection: String, Sendable, Equatable, CaseIterable {
    case sendrecv, sendonly, recvonly, inactive

    /// What the other side says for the same m-line (sendonly ↔ recvonly).
    public var reversed: SDPDirection {
        switch self {
        case .sendonly: return .recvonly
        case .recvonly: return .sendonly
        case .sendrecv, .inactive: return self
        }
    }

    public var sends: Bool { self == .sendonly || self == .sendrecv }
    public var receives: Bool { self == .recvonly || self == .sendrecv }
}

/// `a=setup:` (RFC 4145/5763): who is the DTLS client.
public enum SDPSetupRole: String, Sendable, Equatable {
    case actpass, active, passive, holdconn
}

/// `a=fingerprint:sha-256 AB:CD:…`
public struct SDPFingerprint: Sendable, Equatable {
    public var algorithm: String
    public var value: String

    public init(algorithm: String, value: String) {
        self.algorithm = algorithm
        self.value = value
    }

    public static func sha256(_ hexWithColons: String) -> SDPFingerprint {
        SDPFingerprint(algorithm: "sha-256", value: hexWithColons)
    }

    public init?(attributeValue: String) {
        let words = sdpWords(attributeValue)
        guard words.count == 2 else { return nil }
        algorithm = words[0].lowercased()
        value = String(words[1])
    }

    public var attributeValue: String { algorithm + " " + value }
}

/// `a=group:BUNDLE 0 1`
public struct SDPGroup: Sendable, Equatable {
    public var semantics: String
    public var mids: [String]

    public init(semantics: String, mids: [String]) {
        self.semantics = semantics
        self.mids = mids
    }

    public init?(attributeValue: String) {
        let words = sdpWords(attributeValue)
        guard let first = words.first else { return nil }
        semantics = String(first)
        mids = words.dropFirst().map(String.init)
    }

    public var attributeValue: String { ([semantics] + mids).joined(separator: " ") }
}

/// `a=rtpmap:111 opus/48000/2`
public struct SDPRtpMap: Sendable, Equatable {
    public var payloadType: Int
    public var encodingName: String
    public var clockRate: Int
    public var channels: Int?

    public init(payloadType: Int, encodingName: String, clockRate: Int, channels: Int? = nil) {
        self.payloadType = payloadType
        self.encodingName = encodingName
        self.clockRate = clockRate
        self.channels = channels
    }

    public init?(attributeValue: String) {
        let words = sdpWords(attributeValue)
        guard words.count == 2, let pt = Int(words[0]), (0...127).contains(pt) else { return nil }
        let parts = words[1].split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count >= 2, !parts[0].isEmpty, let clock = Int(parts[1]), clock > 0 else { return nil }
        payloadType = pt
        encodingName = String(parts[0])
        clockRate = clock
        channels = parts.count >= 3 ? Int(parts[2]) : nil
    }

    public var attributeValue: String {
        var out = "\(payloadType) \(encodingName)/\(clockRate)"
        if let channels { out += "/\(channels)" }
        return out
    }
}

/// `a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f`
public struct SDPFmtp: Sendable, Equatable {
    public var payloadType: Int
    /// The parameter text as written.
    public var parameters: String

    public init(payloadType: Int, parameters: String) {
        self.payloadType = payloadType
        self.parameters = parameters
    }

    public init?(attributeValue: String) {
        let trimmedValue = attributeValue.drop(while: { $0 == " " || $0 == "\t" })
        guard let space = trimmedValue.firstIndex(where: { $0 == " " || $0 == "\t" }),
              let pt = Int(trimmedValue[..<space]), (0...127).contains(pt) else { return nil }
        payloadType = pt
        parameters = String(trimmedValue[space...].drop(while: { $0 == " " || $0 == "\t" }))
    }

    public var attributeValue: String { "\(payloadType) \(parameters)" }

    /// `key=value` pairs split on `;`; a part without `=` (RED's `111/111`) is a key with value "".
    public var parameterList: [SDPKeyValue] {
        parameters.split(separator: ";").compactMap { part in
            let item = part.trimmingSpaces
            guard !item.isEmpty else { return nil }
            guard let equals = item.firstIndex(of: "=") else { return SDPKeyValue(String(item), "") }
            return SDPKeyValue(String(item[..<equals]).trimmingSpaces,
                               String(item[item.index(after: equals)...]).trimmingSpaces)
        }
    }

    /// A parameter's value, matching the key case-insensitively.
    public func parameter(_ key: String) -> String? {
        let wanted = key.lowercased()
        return parameterList.first(where: { $0.key.lowercased() == wanted })?.value
    }
}

/// `a=rtcp-fb:96 nack pli` (payload type may be `*`).
public struct SDPRtcpFeedback: Sendable, Equatable {
    public var payloadType: String
    /// e.g. `nack`, `nack pli`, `ccm fir`, `goog-remb`, `transport-cc`.
    public var feedback: String

    public init(payloadType: String, feedback: String) {
        self.payloadType = payloadType
        self.feedback = feedback
    }

    public init?(attributeValue: String) {
        let words = sdpWords(attributeValue)
        guard words.count >= 2 else { return nil }
        payloadType = String(words[0])
        feedback = words.dropFirst().joined(separator: " ")
    }

    public var attributeValue: String { payloadType + " " + feedback }
}

/// `a=ssrc:3776889806 cname:kgB6//SBW7nFQJqN`
public struct SDPSsrcAttribute: Sendable, Equatable {
    public var ssrc: UInt32
    public var attribute: String
    public var value: String?

    public init(ssrc: UInt32, attribute: String, value: String? = nil) {
        self.ssrc = ssrc
        self.attribute = attribute
        self.value = value
    }

    public init?(attributeValue: String) {
        let trimmedValue = attributeValue.trimmingSpaces
        let head = trimmedValue.prefix(while: { $0 != " " && $0 != "\t" })
        guard let ssrc = UInt32(head) else { return nil }
        self.ssrc = ssrc
        let rest = trimmedValue.dropFirst(head.count).trimmingSpaces
        let parsed = SDP.parseAttribute(String(rest))
        attribute = parsed.name
        value = parsed.value
    }

    public var attributeValue: String { "\(ssrc) " + SDPAttribute(name: attribute, value: value).text }
}

/// `a=ssrc-group:FID 3776889806 1733022540` (media SSRC, then its RTX SSRC).
public struct SDPSsrcGroup: Sendable, Equatable {
    public var semantics: String
    public var ssrcs: [UInt32]

    public init(semantics: String, ssrcs: [UInt32]) {
        self.semantics = semantics
        self.ssrcs = ssrcs
    }

    public init?(attributeValue: String) {
        let words = sdpWords(attributeValue)
        guard let first = words.first else { return nil }
        var ssrcs: [UInt32] = []
        for word in words.dropFirst() {
            guard let ssrc = UInt32(word) else { return nil }
            ssrcs.append(ssrc)
        }
        semantics = String(first)
        self.ssrcs = ssrcs
    }

    public var attributeValue: String { ([semantics] + ssrcs.map { String($0) }).joined(separator: " ") }
}

/// `a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid` (also `1/sendonly uri attrs`).
public struct SDPExtmap: Sendable, Equatable {
    public var id: Int
    public var direction: SDPDirection?
    public var uri: String
    public var extensionAttributes: String?

    public init(id: Int, uri: String, direction: SDPDirection? = nil, extensionAttributes: String? = nil) {
        self.id = id
        self.uri = uri
        self.direction = direction
        self.extensionAttributes = extensionAttributes
    }

    public init?(attributeValue: String) {
        let words = sdpWords(attributeValue)
        guard words.count >= 2 else { return nil }
        let idParts = words[0].split(separator: "/", omittingEmptySubsequences: false)
        guard let id = Int(idParts[0]), (1...255).contains(id), idParts.count <= 2 else { return nil }
        self.id = id
        direction = idParts.count == 2 ? SDPDirection(rawValue: String(idParts[1])) : nil
        uri = String(words[1])
        extensionAttributes = words.count > 2 ? words.dropFirst(2).joined(separator: " ") : nil
    }

    public var attributeValue: String {
        var out = String(id)
        if let direction { out += "/" + direction.rawValue }
        out += " " + uri
        if let extensionAttributes { out += " " + extensionAttributes }
        return out
    }

    public static let midURI = "urn:ietf:params:rtp-hdrext:sdes:mid"
    public static let absSendTimeURI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
    public static let transportCCURI = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
    public static let audioLevelURI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
    public static let rtpStreamIdURI = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"
    public static let repairedRtpStreamIdURI = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"
}

/// `a=rid:q send pt=96;max-width=320` (RFC 8851).
public struct SDPRid: Sendable, Equatable {
    public var id: String
    /// `send` or `recv`.
    public var direction: String
    public var restrictions: String?

    public init(id: String, direction: String, restrictions: String? = nil) {
        self.id = id
        self.direction = direction
        self.restrictions = restrictions
    }

    public init?(attributeValue: String) {
        let words = sdpWords(attributeValue)
        guard words.count >= 2 else { return nil }
        id = String(words[0])
        direction = String(words[1])
        restrictions = words.count > 2 ? words.dropFirst(2).joined(separator: " ") : nil
    }

    public var attributeValue: String {
        [id, direction, restrictions].compactMap { $0 }.joined(separator: " ")
    }
}

/// `a=simulcast:send q;h;f` (RFC 8853). Each stream is a list of alternative rids; a leading `~`
/// (paused) is kept on the rid.
public struct SDPSimulcast: Sendable, Equatable {
    public var send: [[String]]
    public var recv: [[String]]

    public init(send: [[String]] = [], recv: [[String]] = []) {
        self.send = send
        self.recv = recv
    }

    public init?(attributeValue: String) {
        let words = sdpWords(attributeValue)
        guard words.count == 2 || words.count == 4 else { return nil }
        var send: [[String]] = []
        var recv: [[String]] = []
        var index = 0
        while index + 1 < words.count {
            let streams = words[index + 1].split(separator: ";").map { $0.split(separator: ",").map(String.init) }
            switch words[index].lowercased() {
            case "send": send = streams
            case "recv": recv = streams
            default: return nil
            }
            index += 2
        }
        self.send = send
        self.recv = recv
    }

    public var attributeValue: String {
        func list(_ streams: [[String]]) -> String { streams.map { $0.joined(separator: ",") }.joined(separator: ";") }
        var parts: [String] = []
        if !send.isEmpty { parts.append("send " + list(send)) }
        if !recv.isEmpty { parts.append("recv " + list(recv)) }
        return parts.joined(separator: " ")
    }
}

extension StringProtocol {
    var trimmingSpaces: String {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let start = firstIndex(where: { !blank($0) }), let end = lastIndex(where: { !blank($0) }) else { return "" }
        return String(self[start...end])
    }
}

/// `a=candidate:3102472263 1 udp 2122260223 127.0.0.1 38445 typ host generation 0 …` (RFC 8839).
public struct SDPCandidate: Sendable, Equatable {
    public var foundation: String
    public var component: Int
    /// `udp` or `tcp`, lowercased.
    public var transport: String
    public var priority: UInt32
    public var address: String
    public var port: Int
    /// `host`, `srflx`, `prflx` or `relay`.
    public var type: String
    public var relatedAddress: String?
    public var relatedPort: Int?
    /// `active`/`passive`/`so` for TCP candidates.
    public var tcpType: String?
    /// Everything else (`generation 0`, `network-id 1`, `ufrag …`), in order.
    public var extensions: [SDPKeyValue]

    public init(foundation: String, component: Int = 1, transport: String = "udp", priority: UInt32,
                address: String, port: Int, type: String = "host", relatedAddress: String? = nil,
                relatedPort: Int? = nil, tcpType: String? = nil, extensions: [SDPKeyValue] = []) {
        self.foundation = foundation
        self.component = component
        self.transport = transport
        self.priority = priority
        self.address = address
        self.port = port
        self.type = type
        self.relatedAddress = relatedAddress
        self.relatedPort = relatedPort
        self.tcpType = tcpType
        self.extensions = extensions
    }

    /// Reads the attribute value (with or without the `candidate:` prefix of trickle messages).
    public init?(attributeValue: String) {
        var text = Substring(attributeValue.trimmingSpaces)
        if text.hasPrefix("candidate:") { text = text.dropFirst("candidate:".count) }
        let words = sdpWords(text)
        guard words.count >= 8, words[6] == "typ",
              let component = Int(words[1]), (1...256).contains(component),
              let priority = UInt32(words[3]),
              let port = Int(words[5]), (0...65535).contains(port) else { return nil }
        foundation = String(words[0])
        self.component = component
        transport = words[2].lowercased()
        self.priority = priority
        address = String(words[4])
        self.port = port
        type = String(words[7])
        relatedAddress = nil
        relatedPort = nil
        tcpType = nil
        extensions = []
        var index = 8
        while index + 1 < words.count {
            let key = String(words[index]), value = String(words[index + 1])
            switch key {
            case "raddr": relatedAddress = value
            case "rport": relatedPort = Int(value)
            case "tcptype": tcpType = value
            default: extensions.append(SDPKeyValue(key, value))
            }
            index += 2
        }
    }

    public var attributeValue: String {
        var out = "\(foundation) \(component) \(transport) \(priority) \(address) \(port) typ \(type)"
        if let relatedAddress { out += " raddr \(relatedAddress)" }
        if let relatedPort { out += " rport \(relatedPort)" }
        if let tcpType { out += " tcptype \(tcpType)" }
        for item in extensions { out += " \(item.key) \(item.value)" }
        return out
    }

    /// RFC 8445 §5.1.2.1 priority for a host/srflx/relay candidate (type preference 126/100/0).
    public static func priority(type: String, localPreference: UInt32 = 65535, component: Int = 1) -> UInt32 {
        let typePreference: UInt32
        switch type {
        case "host": typePreference = 126
        case "prflx": typePreference = 110
        case "srflx": typePreference = 100
        default: typePreference = 0
        }
        return (typePreference << 24) | ((localPreference & 0xFFFF) << 8) | UInt32(256 - min(max(component, 1), 256))
    }
}

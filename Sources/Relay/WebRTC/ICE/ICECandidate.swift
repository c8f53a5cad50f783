/// An ICE candidate (RFC 8445 §5.1, RFC 8839 §5.1 grammar), parsed from or written as the value
/// of an SDP `a=candidate` line. SDP itself is another module's job: this takes one line.
public struct ICECandidate: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        case host
        case serverReflexive = "srflx"
        case peerReflexive = "prflx"
        case relayed = "relay"

        /// RFC 8445 §5.1.2.2 recommended type preferences.
        public var typePreference: UInt32 {
            switch self {
            case .host: return 126
            case .peerReflexive: return 110
            case .serverReflexive: return 100
            case .relayed: return 0
            }
        }
    }

    public var foundation: String
    public var component: Int
    /// Lower-cased transport token ("udp"; "tcp" is parsed but not used by the agent).
    public var transport: String
    public var priority: UInt32
    public var address: SocketAddress
    public var kind: Kind
    public var relatedAddress: SocketAddress?
    /// Everything after `typ …` and `raddr/rport`, as "name value" pairs in order
    /// (e.g. `generation 0`, `ufrag abcd`, `network-id 1`), kept so a line round-trips.
    public var extensions: [Extension]

    public struct Extension: Hashable, Sendable {
        public var name: String
        public var value: String
        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    public init(foundation: String, component: Int = 1, transport: String = "udp", priority: UInt32,
                address: SocketAddress, kind: Kind, relatedAddress: SocketAddress? = nil,
                extensions: [Extension] = []) {
        self.foundation = foundation
        self.component = component
        self.transport = transport.lowercased()
        self.priority = priority
        self.address = address
        self.kind = kind
        self.relatedAddress = relatedAddress
        self.extensions = extensions
    }

    /// RFC 8445 §5.1.2.1: (2^24)·type preference + (2^8)·local preference + (256 − component).
    public static func priority(kind: Kind, localPreference: UInt16 = 65535, component: Int = 1) -> UInt32 {
        let componentPart = UInt32(max(0, min(255, 256 - component)))
        return kind.typePreference << 24 | UInt32(localPreference) << 8 | componentPart
    }

    /// RFC 8445 §6.1.2.3: 2^32·MIN(G,D) + 2·MAX(G,D) + (G>D ? 1 : 0), G = the controlling
    /// agent's candidate priority, D = the controlled agent's. Real priorities are below 2^31,
    /// where this fits in 64 bits; a hostile peer's larger values wrap instead of trapping.
    public static func pairPriority(controlling: UInt32, controlled: UInt32) -> UInt64 {
        let g = UInt64(controlling)
        let d = UInt64(controlled)
        return (min(g, d) << 32) &+ 2 &* max(g, d) &+ (g > d ? 1 : 0)
    }

    /// A host candidate for a local socket address. IPv6 gets a slightly lower local preference
    /// only when asked; by default both families are equal and the address decides nothing.
    public static func host(_ address: SocketAddress, component: Int = 1, localPreference: UInt16 = 65535,
                            foundation: String? = nil) -> ICECandidate {
        ICECandidate(
            foundation: foundation ?? (address.family == .ipv4 ? "1" : "2"),
            component: component,
            priority: priority(kind: .host, localPreference: localPreference, component: component),
            address: address,
            kind: .host
        )
    }

    /// "candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type>
    /// [raddr <a> rport <p>] [<name> <value>]…" — the value of an `a=candidate` line.
    public var attributeValue: String {
        var parts = ["candidate:\(foundation)", String(component), transport.uppercased() == "UDP" ? "udp" : transport,
                     String(priority), address.ipString, String(address.port), "typ", kind.rawValue]
        if let relatedAddress {
            parts += ["raddr", relatedAddress.ipString, "rport", String(relatedAddress.port)]
        }
        for item in extensions { parts += [item.name, item.value] }
        return parts.joined(separator: " ")
    }

    public var description: String { attributeValue }
}

/// Why a candidate line could not be used.
public enum ICECandidateParseError: Error, Hashable, Sendable, CustomStringConvertible {
    case notACandidate(String)
    case missingField(String)
    case badNumber(field: String, value: String)
    /// The connection address is a name (browsers hide host addresses behind mDNS `*.local`).
    case unresolvedHostname(String)
    case unknownType(String)

    public var description: String {
        switch self {
        case .notACandidate(let line): return "ICE candidate: '\(line.prefix(80))' does not start with 'candidate:'"
        case .missingField(let field): return "ICE candidate: the \(field) field is missing"
        case .badNumber(let field, let value): return "ICE candidate: \(field) '\(value.prefix(40))' is not a valid number"
        case .unresolvedHostname(let host):
            return "ICE candidate: address '\(host.prefix(80))' is not an IP literal "
                + "(mDNS '.local' names need resolving first; IPv6 zone ids are not supported)"
        case .unknownType(let type): return "ICE candidate: unknown candidate type '\(type.prefix(20))'"
        }
    }
}

extension ICECandidate {
    /// Parses "candidate:…", "a=candidate:…" or the bare fields. Lenient about case and extra
    /// whitespace; unknown trailing extensions are kept.
    public init(parsing line: some StringProtocol) throws(ICECandidateParseError) {
        var text = Substring(line).drop { $0 == " " || $0 == "\t" }
        while let last = text.last, last.isNewline || last == " " || last == "\t" { text = text.dropLast() }
        if text.hasPrefix("a=") { text = text.dropFirst(2) }
        if text.lowercased().hasPrefix("candidate:") {
            text = text.dropFirst("candidate:".count)
        } else if text.lowercased().hasPrefix("candidate") {
            throw .notACandidate(String(line))
        }
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard fields.count <= 64 else { throw .notACandidate(String(line)) }
        func field(_ index: Int, _ name: String) throws(ICECandidateParseError) -> String {
            guard index < fields.count else { throw .missingField(name) }
            return fields[index]
        }
        let foundation = try field(0, "foundation")
        let componentText = try field(1, "component")
        guard let component = Int(componentText), (1...256).contains(component) else {
            throw .badNumber(field: "component", value: componentText)
        }
        let transport = try field(2, "transport").lowercased()
        let priorityText = try field(3, "priority")
        guard let priority = UInt32(priorityText) else { throw .badNumber(field: "priority", value: priorityText) }
        let host = try field(4, "connection-address")
        let portText = try field(5, "port")
        guard let port = UInt16(portText) else { throw .badNumber(field: "port", value: portText) }
        guard try field(6, "typ").lowercased() == "typ" else { throw .missingField("typ") }
        let typeText = try field(7, "candidate-type").lowercased()
        guard let kind = Kind(rawValue: typeText) else { throw .unknownType(typeText) }
        guard let address = SocketAddress(ip: host, port: port) else { throw .unresolvedHostname(host) }

        var relatedHost: String?
        var relatedPort: UInt16?
        var extensions: [Extension] = []
        var index = 8
        while index < fields.count {
            let name = fields[index]
            let value = index + 1 < fields.count ? fields[index + 1] : ""
            switch name.lowercased() {
            case "raddr": relatedHost = value
            case "rport":
                guard let parsed = UInt16(value) else { throw .badNumber(field: "rport", value: value) }
                relatedPort = parsed
            default: extensions.append(Extension(name: name, value: value))
            }
            index += 2
        }
        var related: SocketAddress?
        if let relatedHost, let relatedPort { related = SocketAddress(ip: relatedHost, port: relatedPort) }

        self.init(foundation: foundation, component: component, transport: transport, priority: priority,
                  address: address, kind: kind, relatedAddress: related, extensions: extensions)
    }
}

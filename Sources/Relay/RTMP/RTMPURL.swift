/// `rtmp://host[:port]/app[/stream name…]`, split the way FFmpeg splits it for publishing:
/// the first path segment is the application, the rest is the stream name. MediaMTX joins them
/// back into one path (dropping empty parts), so `rtmp://h/guest1` (app `guest1`, empty name)
/// and `rtmp://h/live/guest1` (app `live`, name `guest1`) publish paths `guest1` and `live/guest1`.
public struct RTMPURL: Sendable, Equatable, CustomStringConvertible {
    public static let defaultPort: UInt16 = 1935

    public let host: String
    public let port: UInt16
    public let app: String
    public let streamName: String
    /// The query string (without `?`), kept on the stream name as FFmpeg does (`name?key=v`).
    public let query: String?

    public init(host: String, port: UInt16 = RTMPURL.defaultPort, app: String, streamName: String, query: String? = nil) {
        self.host = host
        self.port = port
        self.app = app
        self.streamName = streamName
        self.query = query
    }

    public init(_ string: String) throws(RTMPError) {
        guard let schemeEnd = string.range(of: "://") else {
            throw RTMPError(.badURL, "'\(string)' is not an RTMP URL: expected rtmp://host[:port]/app[/name]")
        }
        let scheme = string[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "rtmp" else {
            throw RTMPError(.badURL, "URL scheme '\(scheme)' is not supported: only plain rtmp:// (MediaMTX's local listener) is")
        }
        var rest = Substring(string[schemeEnd.upperBound...])
        var query: String?
        if let q = rest.firstIndex(of: "?") {
            query = String(rest[rest.index(after: q)...])
            rest = rest[..<q]
        }
        let authority: Substring
        let path: Substring
        if let slash = rest.firstIndex(of: "/") {
            authority = rest[..<slash]
            path = rest[rest.index(after: slash)...]
        } else {
            authority = rest
            path = ""
        }
        let hostPart: Substring
        var portPart: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else {
                throw RTMPError(.badURL, "'\(string)': IPv6 address is missing its closing ']'")
            }
            hostPart = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") { portPart = after.dropFirst() } else if !after.isEmpty {
                throw RTMPError(.badURL, "'\(string)': unexpected '\(after)' after the IPv6 address")
            }
        } else if let colon = authority.lastIndex(of: ":") {
            hostPart = authority[..<colon]
            portPart = authority[authority.index(after: colon)...]
        } else {
            hostPart = authority
        }
        if hostPart.contains("@") {
            throw RTMPError(.badURL, "'\(string)': credentials in the URL are not supported")
        }
        guard !hostPart.isEmpty else { throw RTMPError(.badURL, "'\(string)' has no host") }
        var port = RTMPURL.defaultPort
        if let portPart {
            guard let p = UInt16(portPart), p > 0 else {
                throw RTMPError(.badURL, "'\(string)': port '\(portPart)' is not a number in 1…65535")
            }
            port = p
        }
        let trimmed = path.drop { $0 == "/" }
        guard !trimmed.isEmpty else {
            throw RTMPError(.badURL, "'\(string)' has no application path: expected rtmp://host[:port]/app[/name]")
        }
        let app: Substring
        let name: Substring
        if let slash = trimmed.firstIndex(of: "/") {
            app = trimmed[..<slash]
            name = trimmed[trimmed.index(after: slash)...]
        } else {
            app = trimmed
            name = ""
        }
        self.init(host: String(hostPart), port: port, app: String(app), streamName: String(name), query: query)
    }

    /// The name sent in `publish` (with the query, as FFmpeg does).
    public var publishName: String { query.map { "\(streamName)?\($0)" } ?? streamName }

    /// `rtmp://host:port/app`, what `connect` carries as tcUrl.
    public var tcUrl: String { "rtmp://\(hostForURL):\(port)/\(app)" }

    /// The path MediaMTX creates: app and stream name joined, empty parts dropped.
    public var mediaMTXPath: String {
        (app.split(separator: "/") + streamName.split(separator: "/")).joined(separator: "/")
    }

    var hostForURL: String { host.contains(":") ? "[\(host)]" : host }

    public var description: String {
        "rtmp://\(hostForURL):\(port)/\(app)" + (streamName.isEmpty ? "" : "/\(streamName)") + (query.map { "?\($0)" } ?? "")
    }
}

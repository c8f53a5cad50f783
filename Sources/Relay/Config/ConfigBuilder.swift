import Logging
import Yams

/// Turns the YAML tree into a `RelayConfig`, section by section, collecting every issue.
struct ConfigBuilder {
    var reader: ConfigNodeReader
    let environment: [String: String]
    let resolvePath: (String) -> String
    let readFile: (String) throws -> String

    mutating func build(_ rootNode: Node?) -> RelayConfig? {
        let root = reader.section(rootNode, path: "", known: RelayConfig.topLevelKeys)
        let cloudflare = buildCloudflare(root)
        let guests = buildGuests(root)
        let mediamtx = buildMediaMTX(root)
        let relay = buildRelay(root)
        guard let cloudflare else { return nil }
        return RelayConfig(cloudflare: cloudflare, guests: guests, mediamtx: mediamtx, relay: relay)
    }

    // MARK: cloudflare

    private mutating func buildCloudflare(_ root: ConfigNodeReader.Section) -> CloudflareConfig? {
        let section = reader.section(root.node("cloudflare"), path: "cloudflare", known: RelayConfig.cloudflareKeys,
                                     parentMark: root.mark)
        let accountId = reader.string(section, "account_id")
        let appName = reader.string(section, "calls_app_name")
        let appId = reader.requiredString(
            section, "calls_app_id", hint: "the Calls app id from the Cloudflare dashboard (Calls → your app → App ID)")
        if let appId, !Self.isURLSafeWord(appId, maxLength: 128) {
            reader.invalid(section.path("calls_app_id"),
                           "must be letters, digits, '-' or '_' (it is part of every Calls URL), got \(ConfigNodeReader.quote(appId))",
                           section.node("calls_app_id"))
        }
        let token = reader.secret(
            SecretSpec(what: "the Calls app token", section: section, key: "calls_api_token",
                       environmentVariable: RelayConfig.callsTokenEnvironmentVariable, required: true),
            environment: environment, resolvePath: resolvePath, readFile: readFile)
        guard let appId, let token else { return nil }
        return CloudflareConfig(accountId: accountId, callsAppId: appId, callsAPIToken: token.0,
                                callsAPITokenSource: token.1, callsAppName: appName)
    }

    // MARK: guests

    private mutating func buildGuests(_ root: ConfigNodeReader.Section) -> [GuestConfig] {
        let section = reader.section(root.node("guests"), path: "guests", known: nil, parentMark: root.mark)
        var guests: [GuestConfig] = []
        for entry in section.entries {
            let id = entry.key
            let path = section.path(id)
            guard GuestConfig.isValidId(id) else {
                reader.invalid(path, "a guest id must be 1 to 64 characters of A-Z, a-z, 0-9, '_' or '-' "
                    + "(it becomes part of URLs and the RTMP path), got \(ConfigNodeReader.quote(id))", entry.keyNode)
                continue
            }
            let fields = reader.section(entry.value, path: path, known: RelayConfig.guestKeys)
            let name = reader.string(fields, "name")
            let enabled = reader.bool(fields, "enabled", default: true)
            guests.append(GuestConfig(id: id, name: name, enabled: enabled))
        }
        if guests.isEmpty, reader.issues.allSatisfy({ $0.keyPath?.hasPrefix("guests") != true }) {
            reader.warn(.ineffective, "guests",
                        "no guests are configured, so every WHIP request will be answered 404; "
                            + "add e.g. `guest1: {name: \"Guest 1\", enabled: true}`")
        } else if !guests.isEmpty, !guests.contains(where: \.enabled) {
            reader.warn(.ineffective, "guests", "every guest is disabled, so every WHIP request will be answered 403")
        }
        return guests
    }

    // MARK: mediamtx

    private mutating func buildMediaMTX(_ root: ConfigNodeReader.Section) -> MediaMTXConfig {
        let section = reader.section(root.node("mediamtx"), path: "mediamtx", known: RelayConfig.mediamtxKeys,
                                     parentMark: root.mark)
        let ports = 1...65535
        var config = MediaMTXConfig(
            enabled: reader.bool(section, "enabled", default: true),
            host: hostname(section, "host", default: MediaMTXConfig.defaultHost),
            rtmpPort: reader.int(section, "rtmp_port", default: MediaMTXConfig.defaultRTMPPort, allowed: ports),
            rtspPort: reader.int(section, "rtsp_port", default: MediaMTXConfig.defaultRTSPPort, allowed: ports),
            apiPort: reader.int(section, "api_port", default: MediaMTXConfig.defaultAPIPort, allowed: ports))
        if !config.enabled {
            reader.warn(.ineffective, "mediamtx.enabled",
                        "is false: relayd publishes every guest into MediaMTX and will have nowhere to send them",
                        section.node("enabled"))
        }
        if config.host.isEmpty { config.host = MediaMTXConfig.defaultHost }
        return config
    }

    // MARK: relay

    private mutating func buildRelay(_ root: ConfigNodeReader.Section) -> RelayServiceConfig {
        let section = reader.section(root.node("relay"), path: "relay", known: RelayConfig.relayKeys,
                                     parentMark: root.mark)
        var config = RelayServiceConfig()
        config.listenHost = hostname(section, "listen_host", default: RelayServiceConfig.defaultListenHost)
        config.listenPort = reader.int(section, "listen_port", default: RelayServiceConfig.defaultListenPort,
                                       allowed: 0...65535)
        config.callsBaseURL = callsBaseURL(section)
        config.whipBearerToken = reader.secret(
            SecretSpec(what: "the WHIP bearer token", section: section, key: "whip_bearer_token",
                       environmentVariable: RelayConfig.whipTokenEnvironmentVariable, required: false),
            environment: environment, resolvePath: resolvePath, readFile: readFile)?.0
        config.adminToken = reader.secret(
            SecretSpec(what: "the admin token", section: section, key: "admin_token",
                       environmentVariable: RelayConfig.adminTokenEnvironmentVariable, required: false),
            environment: environment, resolvePath: resolvePath, readFile: readFile)?.0
        config.subscribeMode = reader.choice(section, "subscribe_mode", default: .sfuOffer)
        config.video = buildVideo(section)
        config.audio = buildAudio(section)
        config.tls = buildTLS(section)
        if let word = reader.oneOf(section, "log_level", allowed: RelayConfig.logLevels, aliases: ["warn": "warning"]),
           let level = Logger.Level(rawValue: word)
        {
            config.logLevel = level
        }
        return config
    }

    private mutating func callsBaseURL(_ section: ConfigNodeReader.Section) -> String {
        guard let raw = reader.string(section, "calls_base_url")?.configTrimmed else {
            return RelayServiceConfig.defaultCallsBaseURL
        }
        var url = raw
        while url.hasSuffix("/") { url.removeLast() }
        let lowered = url.lowercased()
        let schemeLength = lowered.hasPrefix("https://") ? 8 : lowered.hasPrefix("http://") ? 7 : 0
        let rest = url.dropFirst(schemeLength)
        guard schemeLength > 0, !rest.isEmpty, !rest.contains(where: \.isWhitespace), !rest.hasPrefix("/") else {
            reader.invalid(section.path("calls_base_url"),
                           "must be an http:// or https:// URL such as \(RelayServiceConfig.defaultCallsBaseURL), "
                               + "got \(ConfigNodeReader.quote(raw))", section.node("calls_base_url"))
            return RelayServiceConfig.defaultCallsBaseURL
        }
        if schemeLength == 7 {
            let host = rest.prefix { $0 != "/" && $0 != ":" }
            if !["127.0.0.1", "localhost", "[", "::1"].contains(where: { host.hasPrefix($0) }) {
                reader.warn(.ineffective, section.path("calls_base_url"),
                            "uses plain http to a non-local host; the Calls token would cross the network unencrypted",
                            section.node("calls_base_url"))
            }
        }
        return url
    }

    private mutating func buildVideo(_ relay: ConfigNodeReader.Section) -> VideoConfig {
        let section = reader.section(relay.node("video"), path: relay.path("video"), known: RelayConfig.videoKeys)
        var video = VideoConfig()
        video.mode = reader.choice(section, "mode", default: .passthrough)
        video.x264Preset = reader.oneOf(section, "x264_preset", allowed: VideoConfig.x264Presets) ?? video.x264Preset
        video.bitrateKbps = reader.int(section, "bitrate_kbps", default: video.bitrateKbps, allowed: 100...50_000)
        video.keyframeIntervalSeconds = reader.double(
            section, "keyframe_interval_s", default: video.keyframeIntervalSeconds, allowed: 0.1...60)
        video.width = evenDimension(section, "width")
        video.height = evenDimension(section, "height")
        if video.mode == .passthrough, video.width != nil || video.height != nil {
            reader.warn(.ineffective, section.path(video.width != nil ? "width" : "height"),
                        "only applies to video relayd encodes: in passthrough mode H.264 from the guest keeps its own size "
                            + "(set mode: transcode to scale everything)",
                        section.node(video.width != nil ? "width" : "height"))
        }
        return video
    }

    private mutating func evenDimension(_ section: ConfigNodeReader.Section, _ key: String) -> Int? {
        guard let value = reader.optionalInt(section, key, allowed: 16...7680) else { return nil }
        guard value % 2 == 0 else {
            reader.invalid(section.path(key), "must be an even number (H.264 4:2:0 needs even sizes), got \(value)",
                           section.node(key))
            return nil
        }
        return value
    }

    private mutating func buildAudio(_ relay: ConfigNodeReader.Section) -> AudioConfig {
        let section = reader.section(relay.node("audio"), path: relay.path("audio"), known: RelayConfig.audioKeys)
        return AudioConfig(bitrateKbps: reader.int(section, "bitrate_kbps", default: 128, allowed: 32...512))
    }

    private mutating func buildTLS(_ relay: ConfigNodeReader.Section) -> TLSConfig? {
        guard relay.has("tls") else { return nil }
        let section = reader.section(relay.node("tls"), path: relay.path("tls"), known: RelayConfig.tlsKeys)
        let hint = "TLS needs both certificate_file and key_file (PEM); remove relay.tls to serve plain HTTP"
        let certificate = reader.requiredString(section, "certificate_file", hint: hint)
        let key = reader.requiredString(section, "key_file", hint: hint)
        guard let certificate, let key else { return nil }
        return TLSConfig(certificateFile: resolvePath(certificate.configTrimmed), keyFile: resolvePath(key.configTrimmed))
    }

    // MARK: helpers

    private mutating func hostname(_ section: ConfigNodeReader.Section, _ key: String, default fallback: String) -> String {
        guard let host = reader.string(section, key)?.configTrimmed else { return fallback }
        guard !host.isEmpty, !host.contains(where: { $0.isWhitespace || $0 == "/" }) else {
            reader.invalid(section.path(key), "must be a host name or IP address such as \(fallback), "
                + "got \(ConfigNodeReader.quote(host))", section.node(key))
            return fallback
        }
        return host
    }

    static func isURLSafeWord(_ text: String, maxLength: Int) -> Bool {
        (1...maxLength).contains(text.utf8.count) && text.unicodeScalars.allSatisfy {
            ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) || $0 == "-" || $0 == "_"
        }
    }
}

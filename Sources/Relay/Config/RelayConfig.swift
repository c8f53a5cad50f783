import Logging

/// relayd's configuration, in the shape of the existing deployment's config.yml (sections
/// `cloudflare`, `guests`, `mediamtx`) plus relayd's own `relay` section. Load it with
/// `RelayConfig.load(yamlText:environment:readFile:)` or `RelayConfig.load(path:)`; build one in
/// code (tests, the demo) with the memberwise initialisers, whose defaults match the file's.
///
/// Printing a config never shows a secret: every token is a `Secret`.
public struct RelayConfig: Sendable, Equatable {
    public var cloudflare: CloudflareConfig
    /// Every configured guest, enabled or not, in file order.
    public var guests: [GuestConfig]
    public var mediamtx: MediaMTXConfig
    public var relay: RelayServiceConfig

    public init(
        cloudflare: CloudflareConfig,
        guests: [GuestConfig],
        mediamtx: MediaMTXConfig = MediaMTXConfig(),
        relay: RelayServiceConfig = RelayServiceConfig()
    ) {
        self.cloudflare = cloudflare
        self.guests = guests
        self.mediamtx = mediamtx
        self.relay = relay
    }

    /// An enabled guest by id; nil for unknown *and* disabled guests. Use `lookupGuest` when the
    /// caller must tell them apart (403 for disabled, 404 for unknown).
    public func guest(_ id: String) -> GuestConfig? {
        if case .enabled(let guest) = lookupGuest(id) { return guest }
        return nil
    }

    public func lookupGuest(_ id: String) -> GuestLookup {
        guard let guest = guests.first(where: { $0.id == id }) else { return .unknown }
        return guest.enabled ? .enabled(guest) : .disabled(guest)
    }

    /// Where a guest's stream is published: `rtmp://{mediamtx.host}:{rtmp_port}/{guestId}`.
    public func rtmpURL(for guestId: String) -> String {
        "rtmp://\(URLHost.bracketed(mediamtx.host)):\(mediamtx.rtmpPort)/\(guestId)"
    }

    /// The Calls API base for this app: `{calls_base_url}/apps/{calls_app_id}`.
    public var callsAppBaseURL: String {
        "\(relay.callsBaseURL)/apps/\(cloudflare.callsAppId)"
    }
}

/// The answer to "may this guest connect?".
public enum GuestLookup: Sendable, Equatable {
    case enabled(GuestConfig)
    /// Configured but `enabled: false` (an endpoint answers 403).
    case disabled(GuestConfig)
    /// Not in the config (an endpoint answers 404).
    case unknown
}

/// One `guests.<id>` entry. The id ends up in URLs and RTMP paths, so it is restricted to
/// `[A-Za-z0-9_-]{1,64}`.
public struct GuestConfig: Sendable, Equatable {
    public var id: String
    /// Display name; defaults to the id.
    public var name: String
    public var enabled: Bool

    public init(id: String, name: String? = nil, enabled: Bool = true) {
        self.id = id
        self.name = name ?? id
        self.enabled = enabled
    }

    /// True when `id` is usable as a guest id (`^[A-Za-z0-9_-]{1,64}$`).
    public static func isValidId(_ id: String) -> Bool {
        (1...64).contains(id.utf8.count) && id.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x5F || byte == 0x2D
        }
    }
}

/// The `cloudflare` section: which Calls app to use and its secret.
public struct CloudflareConfig: Sendable, Equatable {
    /// Informational (the Calls API is addressed by app id alone).
    public var accountId: String?
    public var callsAppId: String
    /// The Calls app secret, sent as `Authorization: Bearer …`.
    public var callsAPIToken: Secret
    /// Where `callsAPIToken` came from, for a startup log line.
    public var callsAPITokenSource: SecretSource
    /// Informational.
    public var callsAppName: String?

    public init(
        accountId: String? = nil,
        callsAppId: String,
        callsAPIToken: Secret,
        callsAPITokenSource: SecretSource = .inline(keyPath: "cloudflare.calls_api_token"),
        callsAppName: String? = nil
    ) {
        self.accountId = accountId
        self.callsAppId = callsAppId
        self.callsAPIToken = callsAPIToken
        self.callsAPITokenSource = callsAPITokenSource
        self.callsAppName = callsAppName
    }
}

/// The `mediamtx` section: where guests are published.
public struct MediaMTXConfig: Sendable, Equatable {
    public var enabled: Bool
    public var host: String
    public var rtmpPort: Int
    public var rtspPort: Int
    public var apiPort: Int

    public static let defaultHost = "127.0.0.1"
    public static let defaultRTMPPort = 1935
    public static let defaultRTSPPort = 8554
    public static let defaultAPIPort = 9997

    public init(
        enabled: Bool = true,
        host: String = MediaMTXConfig.defaultHost,
        rtmpPort: Int = MediaMTXConfig.defaultRTMPPort,
        rtspPort: Int = MediaMTXConfig.defaultRTSPPort,
        apiPort: Int = MediaMTXConfig.defaultAPIPort
    ) {
        self.enabled = enabled
        self.host = host
        self.rtmpPort = rtmpPort
        self.rtspPort = rtspPort
        self.apiPort = apiPort
    }

    /// MediaMTX's control API, e.g. `http://127.0.0.1:9997` (paths: `/v3/paths/get/{guest}`).
    public var apiBaseURL: String { "http://\(URLHost.bracketed(host)):\(apiPort)" }
}

/// How the relay subscribes to a guest's tracks on Calls.
public enum SubscribeMode: String, Sendable, Equatable, CaseIterable {
    /// The documented pull: remote tracks without an offer, the SFU offers, relayd answers via renegotiate.
    case sfuOffer = "sfu_offer"
    /// The seed's shape: relayd offers recvonly transceivers with the remote tracks. Compatibility only.
    case clientOffer = "client_offer"
}

/// The `relay` section: relayd's own settings.
public struct RelayServiceConfig: Sendable, Equatable {
    public var listenHost: String
    /// 0 lets the OS pick a port (tests, the demo).
    public var listenPort: Int
    /// Without a trailing slash, e.g. `https://rtc.live.cloudflare.com/v1`.
    public var callsBaseURL: String
    /// When set, WHIP requests must carry `Authorization: Bearer <this>`.
    public var whipBearerToken: Secret?
    /// When set, admin/status endpoints require `Authorization: Bearer <this>`.
    public var adminToken: Secret?
    public var subscribeMode: SubscribeMode
    public var video: VideoConfig
    public var audio: AudioConfig
    public var tls: TLSConfig?
    public var logLevel: Logger.Level

    public static let defaultListenHost = "0.0.0.0"
    public static let defaultListenPort = 8088
    public static let defaultCallsBaseURL = "https://rtc.live.cloudflare.com/v1"

    public init(
        listenHost: String = RelayServiceConfig.defaultListenHost,
        listenPort: Int = RelayServiceConfig.defaultListenPort,
        callsBaseURL: String = RelayServiceConfig.defaultCallsBaseURL,
        whipBearerToken: Secret? = nil,
        adminToken: Secret? = nil,
        subscribeMode: SubscribeMode = .sfuOffer,
        video: VideoConfig = VideoConfig(),
        audio: AudioConfig = AudioConfig(),
        tls: TLSConfig? = nil,
        logLevel: Logger.Level = .info
    ) {
        self.listenHost = listenHost
        self.listenPort = listenPort
        self.callsBaseURL = callsBaseURL
        self.whipBearerToken = whipBearerToken
        self.adminToken = adminToken
        self.subscribeMode = subscribeMode
        self.video = video
        self.audio = audio
        self.tls = tls
        self.logLevel = logLevel
    }
}

public enum VideoMode: String, Sendable, Equatable, CaseIterable {
    /// H.264 from the guest goes out unchanged; anything else (VP8, …) is transcoded with x264.
    case passthrough
    /// Everything is decoded and re-encoded with x264 (uniform output, costs CPU).
    case transcode
}

/// `relay.video`: what the relay sends to MediaMTX.
public struct VideoConfig: Sendable, Equatable {
    public var mode: VideoMode
    public var x264Preset: String
    public var bitrateKbps: Int
    public var keyframeIntervalSeconds: Double
    /// Output size when encoding; nil keeps the guest's size (if only one is set, the other
    /// follows the aspect ratio). Even numbers only.
    public var width: Int?
    public var height: Int?

    public static let x264Presets = [
        "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo",
    ]

    public init(
        mode: VideoMode = .passthrough,
        x264Preset: String = "veryfast",
        bitrateKbps: Int = 2500,
        keyframeIntervalSeconds: Double = 2,
        width: Int? = nil,
        height: Int? = nil
    ) {
        self.mode = mode
        self.x264Preset = x264Preset
        self.bitrateKbps = bitrateKbps
        self.keyframeIntervalSeconds = keyframeIntervalSeconds
        self.width = width
        self.height = height
    }
}

/// `relay.audio`: AAC output.
public struct AudioConfig: Sendable, Equatable {
    public var bitrateKbps: Int

    public init(bitrateKbps: Int = 128) { self.bitrateKbps = bitrateKbps }
}

/// `relay.tls`: serve the WHIP endpoint over HTTPS with these PEM files.
public struct TLSConfig: Sendable, Equatable {
    public var certificateFile: String
    public var keyFile: String

    public init(certificateFile: String, keyFile: String) {
        self.certificateFile = certificateFile
        self.keyFile = keyFile
    }
}

/// IPv6 literals need brackets inside URLs (`rtmp://[::1]:1935/guest1`).
enum URLHost {
    static func bracketed(_ host: String) -> String {
        host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
    }
}

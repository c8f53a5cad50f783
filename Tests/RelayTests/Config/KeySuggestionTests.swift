import Relay
import Testing

@Suite struct UnknownKeyWarningTests {
    @Test func typosGetTheClosestKnownKey() throws {
        let loaded = try configEnvHarness.load(configMinimalYAML + """

            mediamtx: {rtmp_prot: 1935, API_PORT: 9997}
            relay:
              listen-port: 8000
              video: {bitrate_kpbs: 100, mdoe: passthrough, frobnicate: 1}
            """)
        func warning(_ path: String) -> ConfigWarning? { loaded.warnings.first { $0.keyPath == path } }
        #expect(warning("mediamtx.rtmp_prot")?.kind == .unknownKey(suggestion: "mediamtx.rtmp_port"))
        #expect(warning("mediamtx.rtmp_prot")?.message == "unknown key, ignored (did you mean 'mediamtx.rtmp_port'?)")
        #expect(warning("mediamtx.rtmp_prot")?.line == 5)
        #expect(warning("mediamtx.API_PORT")?.kind == .unknownKey(suggestion: "mediamtx.api_port"))
        #expect(warning("relay.listen-port")?.kind == .unknownKey(suggestion: "relay.listen_port"))
        #expect(warning("relay.video.bitrate_kpbs")?.kind == .unknownKey(suggestion: "relay.video.bitrate_kbps"))
        #expect(warning("relay.video.mdoe")?.kind == .unknownKey(suggestion: "relay.video.mode"))
        #expect(warning("relay.video.frobnicate")?.kind == .unknownKey(suggestion: nil))
        #expect(warning("relay.video.frobnicate")?.message.contains("known keys here: mode, x264_preset") == true)
        #expect(loaded.warnings.count == 6)
        // The misspelt key is ignored, so the default stays.
        #expect(loaded.config.mediamtx.rtmpPort == 1935)
        #expect(loaded.config.relay.listenPort == 8088)
    }

    @Test func unknownKeysInsideAGuestAndTheCloudflareSectionAreNamed() throws {
        let loaded = try configEnvHarness.load("""
            cloudflare: {calls_app_id: app, calls_app_nmae: x}
            guests: {guest1: {name: G, enabeld: false}}
            """)
        #expect(loaded.warnings.map(\.keyPath) == ["cloudflare.calls_app_nmae", "guests.guest1.enabeld"])
        #expect(loaded.warnings[1].kind == .unknownKey(suggestion: "guests.guest1.enabled"))
        #expect(loaded.config.guest("guest1") != nil, "the typo leaves enabled at its default")
    }

    @Test func warningsComeWithErrorsBecauseATypoOftenExplainsThem() throws {
        let error = try #require(ConfigHarness().error("cloudflare: {calls_ap_id: app, calls_api_token: tok-12345}"))
        #expect(error.keyPath == "cloudflare.calls_app_id")
        #expect(error.warnings.map(\.kind).prefix(2) == [.unknownKey(suggestion: "cloudflare.calls_app_id"), .inlineSecret])
    }

    @Test func unknownTopLevelSectionsListWhatRelaydReads() throws {
        let loaded = try configEnvHarness.load(configMinimalYAML + "\nrecorder: {dir: /x}\nrelais: {}\n")
        #expect(loaded.warnings.first { $0.keyPath == "recorder" }?.message
            == "unknown section, ignored (relayd reads cloudflare, guests, mediamtx and relay)")
        #expect(loaded.warnings.first { $0.keyPath == "relais" }?.kind == .unknownKey(suggestion: "relay"))
    }
}

@Suite struct KeySuggestionTests {
    func suggestion(forMediaMTXKey key: String) throws -> String?? {
        let loaded = try configEnvHarness.load(configMinimalYAML + "\nmediamtx: {\"\(key)\": 1}\n")
        guard let warning = loaded.warnings.first(where: { $0.keyPath == "mediamtx.\(key)" }),
              case .unknownKey(let suggestion) = warning.kind
        else { return .none }
        return .some(suggestion)
    }

    @Test func closeKeysAreSuggestedFarOnesAreNot() throws {
        #expect(try suggestion(forMediaMTXKey: "rtmp_prot") == "mediamtx.rtmp_port")
        #expect(try suggestion(forMediaMTXKey: "RTSP-PORT") == "mediamtx.rtsp_port")
        #expect(try suggestion(forMediaMTXKey: "hots") == "mediamtx.host")
        #expect(try suggestion(forMediaMTXKey: "enable") == "mediamtx.enabled")
        #expect(try suggestion(forMediaMTXKey: "whip_port") == .some(nil))
        #expect(try suggestion(forMediaMTXKey: "x") == .some(nil))
        #expect(try suggestion(forMediaMTXKey: "") == .some(nil))
    }
}

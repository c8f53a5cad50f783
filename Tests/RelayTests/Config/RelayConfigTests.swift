import Foundation
import Logging
import Relay
import Testing

@Suite struct RelayConfigTests {
    @Test func validFixtureSetsEveryKey() throws {
        let yaml = try FixturePaths.text("config/valid.yml")
        var harness = configEnvHarness
        harness.baseDirectory = "/etc/relayd"
        let loaded = try harness.load(yaml)
        let config = loaded.config
        #expect(loaded.warnings == [], "\(loaded.warnings)")

        #expect(config.cloudflare.accountId == "acct-0123456789")
        #expect(config.cloudflare.callsAppId == "app_0123456789abcdef")
        #expect(config.cloudflare.callsAppName == "studio-guests")
        #expect(config.cloudflare.callsAPIToken.reveal() == configEnvToken)
        #expect(config.cloudflare.callsAPITokenSource == .environment("RELAYD_CALLS_API_TOKEN"))

        #expect(config.guests == [
            GuestConfig(id: "guest1", name: "Guest 1", enabled: true),
            GuestConfig(id: "guest2", name: "Guest 2", enabled: true),
            GuestConfig(id: "guest3", name: "Guest 3", enabled: false),
        ])
        #expect(config.mediamtx == MediaMTXConfig(enabled: true, host: "127.0.0.1", rtmpPort: 1936, rtspPort: 8555,
                                                  apiPort: 9998))
        #expect(config.mediamtx.apiBaseURL == "http://127.0.0.1:9998")

        let relay = config.relay
        #expect(relay.listenHost == "127.0.0.1")
        #expect(relay.listenPort == 8089)
        #expect(relay.callsBaseURL == "http://127.0.0.1:8787/v1", "trailing slash is dropped")
        #expect(config.callsAppBaseURL == "http://127.0.0.1:8787/v1/apps/app_0123456789abcdef")
        #expect(relay.subscribeMode == .clientOffer)
        #expect(relay.video == VideoConfig(mode: .transcode, x264Preset: "faster", bitrateKbps: 1800,
                                           keyframeIntervalSeconds: 1.5, width: 1280, height: 720))
        #expect(relay.audio == AudioConfig(bitrateKbps: 96))
        #expect(relay.tls == TLSConfig(certificateFile: "/etc/relayd/tls/cert.pem", keyFile: "/etc/relayd/key.pem"))
        #expect(relay.logLevel == .debug)
        #expect(relay.whipBearerToken == nil)
        #expect(relay.adminToken == nil)
    }

    @Test func minimalConfigGetsTheDocumentedDefaults() throws {
        let loaded = try configEnvHarness.load(configMinimalYAML)
        #expect(loaded.warnings == [])
        let config = loaded.config
        #expect(config.guests == [GuestConfig(id: "guest1", name: "Guest 1", enabled: true)])
        #expect(config.mediamtx == MediaMTXConfig())
        #expect(config.mediamtx.host == "127.0.0.1")
        #expect(config.mediamtx.rtmpPort == 1935)
        #expect(config.mediamtx.rtspPort == 8554)
        #expect(config.mediamtx.apiPort == 9997)
        #expect(config.relay == RelayServiceConfig(whipBearerToken: nil, adminToken: nil))
        #expect(config.relay.listenHost == "0.0.0.0")
        #expect(config.relay.listenPort == 8088)
        #expect(config.relay.callsBaseURL == "https://rtc.live.cloudflare.com/v1")
        #expect(config.relay.subscribeMode == .sfuOffer)
        #expect(config.relay.video == VideoConfig(mode: .passthrough, x264Preset: "veryfast", bitrateKbps: 2500,
                                                  keyframeIntervalSeconds: 2))
        #expect(config.relay.audio.bitrateKbps == 128)
        #expect(config.relay.tls == nil)
        #expect(config.relay.logLevel == .info)
        #expect(config.callsAppBaseURL == "https://rtc.live.cloudflare.com/v1/apps/app123")
    }

    @Test func guestWithoutFieldsIsEnabledAndNamedByItsId() throws {
        let config = try configEnvHarness.load("""
            cloudflare: {calls_app_id: app}
            guests:
              studio-b:
            """).config
        #expect(config.guests == [GuestConfig(id: "studio-b", name: "studio-b", enabled: true)])
    }

    @Test func anchorsAndMergeKeysWork() throws {
        let loaded = try configEnvHarness.load("""
            cloudflare: {calls_app_id: app}
            guests:
              guest1: &studio {name: "Guest 1", enabled: false}
              guest2:
                <<: *studio
                name: "Guest 2"
              guest3: {<<: *studio, enabled: true}
              guest4: *studio
            """)
        #expect(loaded.warnings.isEmpty, "\(loaded.warnings)")
        #expect(loaded.config.guests == [
            GuestConfig(id: "guest1", name: "Guest 1", enabled: false),
            GuestConfig(id: "guest2", name: "Guest 2", enabled: false),
            GuestConfig(id: "guest3", name: "Guest 1", enabled: true),
            GuestConfig(id: "guest4", name: "Guest 1", enabled: false),
        ])
    }

    @Test func seedDeploymentConfigLoadsWithWarnings() throws {
        let loaded = try ConfigHarness().load(try FixturePaths.text("config/seed-deployment.yml"))
        #expect(loaded.config.cloudflare.callsAppId == "seedapp123")
        #expect(loaded.config.cloudflare.callsAPITokenSource == .inline(keyPath: "cloudflare.calls_api_token"))
        #expect(loaded.config.guest("guest1") != nil)
        #expect(loaded.config.lookupGuest("guest2") == .disabled(GuestConfig(id: "guest2", name: "Guest 2", enabled: false)))
        let unknown = loaded.warnings.filter { if case .unknownKey = $0.kind { true } else { false } }
        #expect(Set(unknown.compactMap(\.keyPath)) == ["recorder", "mixer"])
        #expect(loaded.warnings.contains { $0.kind == .inlineSecret && $0.keyPath == "cloudflare.calls_api_token" })
        for warning in loaded.warnings { #expect(!"\(warning)".contains("seed-inline-token")) }
    }

    // MARK: guests

    @Test func guestLookupTellsEnabledDisabledAndUnknownApart() throws {
        let config = try configEnvHarness.load("""
            cloudflare: {calls_app_id: app}
            guests:
              guest1: {name: "Guest 1", enabled: true}
              guest2: {name: "Guest 2", enabled: false}
            mediamtx: {host: 10.0.0.5, rtmp_port: 19350}
            """).config
        #expect(config.guest("guest1")?.name == "Guest 1")
        #expect(config.guest("guest2") == nil, "disabled guests are not returned by guest(_:)")
        #expect(config.guest("guest9") == nil)
        #expect(config.guest("") == nil)
        #expect(config.lookupGuest("guest1") == .enabled(GuestConfig(id: "guest1", name: "Guest 1")))
        #expect(config.lookupGuest("guest2") == .disabled(GuestConfig(id: "guest2", name: "Guest 2", enabled: false)))
        #expect(config.lookupGuest("guest9") == .unknown)
        #expect(config.lookupGuest("GUEST1") == .unknown, "ids are case-sensitive")
        #expect(config.rtmpURL(for: "guest1") == "rtmp://10.0.0.5:19350/guest1")
    }

    @Test func rtmpURLBracketsIPv6Hosts() {
        let config = RelayConfig(
            cloudflare: CloudflareConfig(callsAppId: "a", callsAPIToken: Secret("t")), guests: [],
            mediamtx: MediaMTXConfig(host: "::1"))
        #expect(config.rtmpURL(for: "guest1") == "rtmp://[::1]:1935/guest1")
        #expect(config.mediamtx.apiBaseURL == "http://[::1]:9997")
    }

    @Test(arguments: ["guest 1", "../etc", "guest/1", "gäst", "g.1", String(repeating: "g", count: 65), "\"\""])
    func invalidGuestIdIsRejected(id: String) throws {
        let error = try #require(configEnvHarness.error("""
            cloudflare: {calls_app_id: app}
            guests:
              \(id.hasPrefix("\"") ? id : "\"\(id)\""): {name: x}
            """))
        let issue = try #require(error.issues.first)
        #expect(error.issues.count == 1)
        #expect(issue.kind == .invalidValue)
        #expect(issue.keyPath?.hasPrefix("guests.") == true)
        #expect(issue.message.contains("A-Z, a-z, 0-9, '_' or '-'"))
        #expect(issue.line == 3)
    }

    @Test func validGuestIdsAtTheEdges() {
        #expect(GuestConfig.isValidId("a"))
        #expect(GuestConfig.isValidId("Guest_1-B"))
        #expect(GuestConfig.isValidId(String(repeating: "9", count: 64)))
        #expect(!GuestConfig.isValidId(""))
        #expect(!GuestConfig.isValidId(String(repeating: "9", count: 65)))
    }

    @Test func noGuestsIsAWarningNotAnError() throws {
        let loaded = try configEnvHarness.load("cloudflare: {calls_app_id: app}")
        #expect(loaded.config.guests.isEmpty)
        #expect(loaded.warnings.contains { $0.keyPath == "guests" && $0.message.contains("404") })
    }

    // MARK: wrong values

    @Test func portThatIsNotANumberNamesTheKey() throws {
        let error = try #require(configEnvHarness.error(configMinimalYAML + "\nmediamtx:\n  rtmp_port: abc\n"))
        #expect(error.issues.count == 1)
        let issue = try #require(error.issues.first)
        #expect(issue.keyPath == "mediamtx.rtmp_port")
        #expect(issue.message == "must be a whole number between 1 and 65535, got 'abc'")
        #expect(issue.line == 6)
        #expect("\(error)".contains("mediamtx.rtmp_port: must be a whole number between 1 and 65535, got 'abc'"))
    }

    @Test func unknownVideoModeSaysWhatIsAllowed() throws {
        let error = try #require(configEnvHarness.error(configMinimalYAML + "\nrelay:\n  video:\n    mode: fast\n"))
        #expect(error.keyPath == "relay.video.mode")
        #expect(error.issues.first?.message == "must be passthrough or transcode, got 'fast'")
    }

    @Test func everyProblemIsReportedAtOnce() throws {
        let error = try #require(ConfigHarness().error("""
            cloudflare: {}
            guests: {guest1: {enabled: maybe}}
            mediamtx: {api_port: 70000, host: "bad host"}
            relay:
              listen_port: -1
              subscribe_mode: push
              calls_base_url: ftp://example.com
              log_level: loud
              video: {x264_preset: quick, bitrate_kbps: 12, keyframe_interval_s: soon, width: 1279}
              audio: {bitrate_kbps: [1]}
              tls: {certificate_file: cert.pem}
            """))
        let paths = Set(error.issues.compactMap(\.keyPath))
        #expect(paths == [
            "cloudflare.calls_app_id", "cloudflare.calls_api_token", "guests.guest1.enabled", "mediamtx.api_port",
            "mediamtx.host", "relay.listen_port", "relay.subscribe_mode", "relay.calls_base_url", "relay.log_level",
            "relay.video.x264_preset", "relay.video.bitrate_kbps", "relay.video.keyframe_interval_s",
            "relay.video.width", "relay.audio.bitrate_kbps", "relay.tls.key_file",
        ])
        let text = "\(error)"
        #expect(text.contains("must be between 1 and 65535, got 70000"))
        #expect(text.contains("must be sfu_offer or client_offer, got 'push'"))
        #expect(text.contains("must be true or false, got 'maybe'"))
        #expect(text.contains("must be an even number"))
        #expect(text.contains("got a list"))
        #expect(text.contains("trace, debug, info, notice, warning, error or critical"))
    }

    @Test func logLevelIsCaseInsensitiveAndAcceptsWarn() throws {
        #expect(try configEnvHarness.load(configMinimalYAML + "\nrelay: {log_level: WARN}").config.relay.logLevel == .warning)
        #expect(try configEnvHarness.load(configMinimalYAML + "\nrelay: {log_level: Debug}").config.relay.logLevel == .debug)
    }

    @Test func quotedNumbersAndYAMLBooleansAreAccepted() throws {
        let config = try configEnvHarness.load(configMinimalYAML + """

            mediamtx: {rtmp_port: "1937", enabled: yes}
            relay: {listen_port: 0}
            """).config
        #expect(config.mediamtx.rtmpPort == 1937)
        #expect(config.mediamtx.enabled)
        #expect(config.relay.listenPort == 0)
    }

    @Test func sectionOfTheWrongShapeIsAnError() throws {
        let error = try #require(configEnvHarness.error(configMinimalYAML + "\nmediamtx: [1935]\n"))
        #expect(error.keyPath == "mediamtx")
        #expect(error.issues.first?.message == "must be a mapping of keys, got a list")
    }

    @Test func documentThatIsNotAMappingIsAnError() throws {
        let error = try #require(configEnvHarness.error("- just\n- a list\n"))
        #expect(error.issues.first?.message.contains("must be a YAML mapping") == true)
    }

    @Test func emptyDocumentAsksForTheRequiredKeys() throws {
        let error = try #require(ConfigHarness().error(""))
        #expect(Set(error.issues.map(\.kind)) == [.missingValue, .missingSecret])
        #expect(Set(error.issues.compactMap(\.keyPath)) == ["cloudflare.calls_app_id", "cloudflare.calls_api_token"])
    }

    @Test func appIdWithURLCharactersIsRejected() throws {
        let error = try #require(configEnvHarness.error("cloudflare: {calls_app_id: \"app/../x\"}\nguests: {g: }"))
        #expect(error.keyPath == "cloudflare.calls_app_id")
    }

    @Test func passthroughWithSizeWarns() throws {
        let loaded = try configEnvHarness.load(configMinimalYAML + "\nrelay: {video: {width: 1280}}")
        #expect(loaded.config.relay.video.width == 1280)
        #expect(loaded.warnings.contains { $0.keyPath == "relay.video.width" && $0.kind == .ineffective })
    }

    @Test func plainHTTPToARemoteCallsHostWarns() throws {
        let remote = try configEnvHarness.load(configMinimalYAML + "\nrelay: {calls_base_url: \"http://calls.example.com/v1\"}")
        #expect(remote.warnings.contains { $0.keyPath == "relay.calls_base_url" })
        let local = try configEnvHarness.load(configMinimalYAML + "\nrelay: {calls_base_url: \"http://127.0.0.1:9/v1\"}")
        #expect(local.warnings.isEmpty)
    }

    // MARK: malformed YAML

    @Test func malformedYAMLNamesTheLine() throws {
        let error = try #require(configEnvHarness.error("""
            cloudflare:
              calls_app_id: app
            guests:
              guest1: {name: "Guest 1"
            mediamtx:
              rtmp_port: 1935
            """))
        let issue = try #require(error.issues.first)
        #expect(issue.kind == .malformedYAML)
        let line = try #require(issue.line)
        #expect((4...6).contains(line))
        #expect(issue.column != nil)
        #expect("\(error)".contains("line \(line)"))
    }

    @Test func badIndentationNamesTheLine() throws {
        let error = try #require(configEnvHarness.error("cloudflare:\n  calls_app_id: app\n guests: x\n"))
        #expect(error.issues.first?.kind == .malformedYAML)
        #expect(error.issues.first?.line == 3)
    }

    @Test func duplicateKeyIsReportedWithItsName() throws {
        let error = try #require(configEnvHarness.error("cloudflare: {calls_app_id: a}\nguests:\n  g1: {}\n  g1: {}\n"))
        let issue = try #require(error.issues.first)
        #expect(issue.kind == .malformedYAML)
        #expect(issue.message.contains("'g1'"))
        #expect(issue.line != nil)
    }

    @Test func malformedYAMLNeverQuotesTheFile() throws {
        let token = "inline-secret-on-a-broken-line-77"
        let yamlTexts = [
            "cloudflare:\n  calls_api_token: \"\(token)\n  calls_app_id: x\n",
            "cloudflare:\n  calls_api_token: \(token)\n  calls_api_token: \(token)\n",
            "cloudflare:\n  calls_api_token: [\(token)\n",
            "cloudflare: {calls_api_token: \(token)\n",
        ]
        for yaml in yamlTexts {
            let error = try #require(ConfigHarness().error(yaml))
            #expect(error.issues.first?.kind == .malformedYAML)
            #expect(!"\(error)".contains(token), "\(error)")
            #expect(!String(reflecting: error).contains(token))
        }
    }

    /// Truncated and randomly damaged configs must produce a config or a ConfigError, nothing else.
    @Test func damagedInputNeverCrashes() throws {
        let base = Array(try FixturePaths.text("config/valid.yml").utf8)
        for end in stride(from: 0, through: base.count, by: 7) {
            _ = try? configEnvHarness.load(String(decoding: base[0..<end], as: UTF8.self))
        }
        var random = SeededRandom(seed: 0x5EED)
        let alphabet = Array("abc:{}[]-#&*!|>'\"\n \t0123456789_.?%@`,".utf8)
        for _ in 0..<400 {
            var bytes = base
            for _ in 0..<Int(random.next() % 6 + 1) {
                let position = Int(random.next() % UInt64(bytes.count))
                bytes[position] = alphabet[Int(random.next() % UInt64(alphabet.count))]
            }
            _ = try? configEnvHarness.load(String(decoding: bytes, as: UTF8.self))
        }
        let oversized = String(repeating: "guests:\n  g: {name: \(String(repeating: "x", count: 1000))}\n", count: 1)
            + String(repeating: "# comment\n", count: 20000)
        _ = try? configEnvHarness.load(oversized)
    }

    // MARK: load(path:)

    @Test func loadFromPathResolvesTheTokenFileNextToTheConfig() throws {
        let loaded = try RelayConfig.load(path: FixturePaths.url("config/token-from-file.yml").path, environment: [:])
        #expect(loaded.config.cloudflare.callsAPIToken.reveal() == "file-token-7c1e9b", "newline trimmed")
        #expect(loaded.config.cloudflare.callsAPITokenSource
            == .file(FixturePaths.url("config/calls-token.txt").path))
        #expect(loaded.warnings.isEmpty)
    }

    @Test func missingConfigFileSaysSo() throws {
        let path = FixturePaths.url("config/does-not-exist.yml").path
        do {
            _ = try RelayConfig.load(path: path, environment: [:])
            Issue.record("loading a missing file succeeded")
        } catch {
            #expect(error.file == path)
            #expect(error.issues.first?.kind == .unreadableFile)
            #expect("\(error)".contains("does not exist"))
            #expect("\(error)".contains(path))
        }
    }

    @Test func errorsFromAFileNameTheFile() throws {
        let path = FixturePaths.url("config/invalid-mode.yml").path
        do {
            _ = try RelayConfig.load(path: path, environment: [:])
            Issue.record("invalid-mode.yml loaded")
        } catch {
            #expect(error.file == path)
            #expect(error.keyPath == "relay.video.mode")
            #expect("\(error)".hasPrefix("configuration \(path) is invalid: line 9"))
        }
    }
}


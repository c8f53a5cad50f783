import Foundation
import Relay
import Testing

/// config.example.yml is the documentation: it must load, and it must mention every key.
@Suite struct ConfigExampleTests {
    static let exampleURL = FixturePaths.root.deletingLastPathComponent().appendingPathComponent("config.example.yml")

    @Test func exampleLoadsWithoutWarnings() throws {
        let text = try String(contentsOf: Self.exampleURL, encoding: .utf8)
        let loaded = try RelayConfig.load(yamlText: text, environment: [:]) { path in
            #expect(path == "/etc/relayd/calls-api-token")
            return "example-token-from-file\n"
        }
        #expect(loaded.warnings.isEmpty, "\(loaded.warnings)")
        #expect(loaded.config.cloudflare.callsAPIToken.reveal() == "example-token-from-file")
        #expect(loaded.config.lookupGuest("guest3") != .unknown)
        #expect(loaded.config.guest("guest3") == nil)
        // The example shows the defaults.
        var defaults = loaded.config.relay
        defaults.whipBearerToken = nil
        #expect(defaults == RelayServiceConfig())
        #expect(loaded.config.mediamtx == MediaMTXConfig())
    }

    @Test func exampleDocumentsEveryKey() throws {
        let text = try String(contentsOf: Self.exampleURL, encoding: .utf8)
        let keys = RelayConfig.knownKeyPaths
        #expect(keys.count == 30)
        for path in keys {
            let leaf = path.split(separator: ".").last.map(String.init) ?? path
            #expect(text.contains("\(leaf):"), "config.example.yml does not mention \(path)")
        }
    }
}

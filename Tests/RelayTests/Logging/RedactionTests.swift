import Foundation
import Logging
import Relay
import Testing

/// A configured token must never come out of a logger, however it is smuggled in.
@Suite struct RedactionTests {
    let token = "calls-token-9f8e7d6c5b4a"
    let whip = "whip-token-0a1b2c"

    struct LeakyError: Error, CustomStringConvertible {
        let token: String
        var description: String { "request failed with Authorization: Bearer \(token)" }
    }

    struct Convertible: CustomStringConvertible, Sendable {
        let text: String
        var description: String { text }
    }

    /// Logs the token every way swift-log allows.
    func logEverything(_ logger: inout Logger) {
        logger[metadataKey: "header"] = "Bearer \(token)"
        logger.info("token is \(token)")
        logger.error("Authorization: Bearer \(token) rejected", metadata: [
            "guest": "guest1",
            "auth": "\(token)",
            "convertible": .stringConvertible(Convertible(text: "x\(token)x")),
            "nested": .dictionary(["inner": .array([.string(token), .string("fine")])]),
        ])
        logger.warning("call failed", error: LeakyError(token: token))
        logger.notice("error: \(LeakyError(token: token)) whip=\(whip)")
        logger.debug("\(token)\(token)")
    }

    @Test func capturedEntriesNeverContainARegisteredSecret() {
        let registry = SecretRegistry([Secret(token), Secret(whip)])
        let capture = LogCapture()
        var logger = capture.redactingLogger(label: "relayd.test", registry: registry)
        logEverything(&logger)

        let entries = capture.entries
        #expect(entries.count == 5)
        #expect(!capture.text.contains(token), "\(capture.text)")
        #expect(!capture.text.contains(whip))
        for entry in entries {
            #expect(!"\(entry.metadata)".contains(token))
            #expect(!(entry.errorDescription ?? "").contains(token))
        }
        #expect(entries[0].message == "token is <redacted>")
        #expect(entries[0]["header"] == "Bearer <redacted>")
        #expect(entries[1]["auth"] == "<redacted>")
        #expect(entries[1]["convertible"] == "x<redacted>x")
        #expect(entries[1]["guest"] == "guest1", "metadata without secrets is untouched")
        #expect(entries[2].errorDescription == "request failed with Authorization: Bearer <redacted>")
        #expect(entries[3].message == "error: request failed with Authorization: Bearer <redacted> whip=<redacted>")
        #expect(entries[4].message == "<redacted><redacted>")
    }

    @Test func secretsRegisteredLaterAreRedactedToo() {
        let registry = SecretRegistry()
        let capture = LogCapture()
        let logger = capture.redactingLogger(label: "t", registry: registry)
        logger.info("before \(token)")
        registry.register(Secret(token))
        logger.info("after \(token)")
        #expect(capture.messages == ["before \(token)", "after <redacted>"])
    }

    @Test func metadataProviderOutputIsRedacted() {
        let registry = SecretRegistry([Secret(token)])
        let capture = LogCapture()
        var logger = capture.redactingLogger(label: "t", registry: registry)
        logger.handler.metadataProvider = Logger.MetadataProvider { ["provided": "\(token)"] }
        logger.info("hello")
        #expect(capture.entries.first?["provided"] == "<redacted>")
    }

    @Test func longerSecretContainingAShorterOneIsReplacedWhole() {
        let registry = SecretRegistry([Secret("abcd"), Secret("abcdefgh")])
        #expect(registry.redact("x abcdefgh y abcd") == "x <redacted> y <redacted>")
        #expect(SecretRegistry().redact("nothing to hide") == "nothing to hide")
        #expect(SecretRegistry([Secret("")]).redact("empty secrets are ignored") == "empty secrets are ignored")
    }

    /// The stderr handler `relayd run` installs, with its output captured.
    @Test func productionHandlerWritesNoSecret() {
        let lines = LogLineSink()
        let registry = SecretRegistry([Secret(token), Secret(whip)])
        var logger = Logger(label: "relayd") { label in
            RelayLogging.makeHandler(label: label, level: .trace, registry: registry, timestamps: false,
                                     output: lines.append)
        }
        logEverything(&logger)
        let output = lines.lines.joined(separator: "\n")
        #expect(lines.lines.count == 5)
        #expect(!output.contains(token), "\(output)")
        #expect(!output.contains(whip))
        #expect(lines.lines[0] == "info relayd: token is <redacted> header=\"Bearer <redacted>\"")
        #expect(lines.lines[2] == "warning relayd: call failed error=\"request failed with Authorization: Bearer <redacted>\" header=\"Bearer <redacted>\"")
    }

    @Test func secretsOfAConfigAreAllRegistered() {
        let config = RelayConfig(
            cloudflare: CloudflareConfig(callsAppId: "app", callsAPIToken: Secret(token)), guests: [],
            relay: RelayServiceConfig(whipBearerToken: Secret(whip), adminToken: Secret("admin-secret-1")))
        #expect(RelayLogging.secrets(of: config).map { $0.reveal() } == [token, whip, "admin-secret-1"])
    }
}

/// Collects output lines from a handler (thread-safe: guarded by `lock`).
final class LogLineSink: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []

    var lines: [String] {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }

    var append: @Sendable (String) -> Void {
        { [self] line in
            lock.lock()
            stored.append(line)
            lock.unlock()
        }
    }
}

import Foundation
import Relay
import Testing

/// Where the Calls token comes from, and that it never shows up in any text.
@Suite struct ConfigSecretTests {
    let envValue = "from-env-aaaa1111"
    let fileValue = "from-file-bbbb2222"
    let inlineValue = "from-inline-cccc3333"

    func yaml(file: Bool, inline: Bool) -> String {
        var text = "cloudflare:\n  calls_app_id: app\n"
        if file { text += "  calls_api_token_file: secrets/token\n" }
        if inline { text += "  calls_api_token: \"\(inlineValue)\"\n" }
        return text + "guests: {guest1: {}}\n"
    }

    func harness(env: Bool) -> ConfigHarness {
        ConfigHarness(
            environment: env ? [RelayConfig.callsTokenEnvironmentVariable: envValue] : [:],
            files: ["/etc/relayd/secrets/token": fileValue + "\n"],
            baseDirectory: "/etc/relayd")
    }

    @Test func environmentWinsOverFileAndInline() throws {
        let loaded = try harness(env: true).load(yaml(file: true, inline: true))
        #expect(loaded.config.cloudflare.callsAPIToken.reveal() == envValue)
        #expect(loaded.config.cloudflare.callsAPITokenSource == .environment("RELAYD_CALLS_API_TOKEN"))
        // In file order: the file key is on line 3, the inline token on line 4.
        #expect(loaded.warnings.map(\.kind) == [.ignoredSecretSource, .inlineSecret])
        #expect(loaded.warnings[0].keyPath == "cloudflare.calls_api_token_file")
        #expect(loaded.warnings[1].message.contains("ignored now: RELAYD_CALLS_API_TOKEN is set"))
    }

    @Test func fileWinsOverInline() throws {
        let loaded = try harness(env: false).load(yaml(file: true, inline: true))
        #expect(loaded.config.cloudflare.callsAPIToken.reveal() == fileValue, "the file's trailing newline is trimmed")
        #expect(loaded.config.cloudflare.callsAPITokenSource == .file("/etc/relayd/secrets/token"))
        #expect(loaded.warnings.map(\.kind) == [.inlineSecret])
        #expect(loaded.warnings[0].message.contains("ignored now: cloudflare.calls_api_token_file is set"))
    }

    @Test func environmentWinsOverFile() throws {
        let loaded = try harness(env: true).load(yaml(file: true, inline: false))
        #expect(loaded.config.cloudflare.callsAPIToken.reveal() == envValue)
        #expect(loaded.warnings.map(\.kind) == [.ignoredSecretSource])
    }

    @Test func inlineTokenWorksButWarns() throws {
        let loaded = try harness(env: false).load(yaml(file: false, inline: true))
        #expect(loaded.config.cloudflare.callsAPIToken.reveal() == inlineValue)
        #expect(loaded.config.cloudflare.callsAPITokenSource == .inline(keyPath: "cloudflare.calls_api_token"))
        let warning = try #require(loaded.warnings.first)
        #expect(loaded.warnings.count == 1)
        #expect(warning.kind == .inlineSecret)
        #expect(warning.keyPath == "cloudflare.calls_api_token")
        #expect(warning.line == 3)
        #expect(warning.message.contains("RELAYD_CALLS_API_TOKEN"))
        #expect(warning.message.contains("cloudflare.calls_api_token_file"))
        #expect(!"\(warning)".contains(inlineValue))
    }

    @Test func emptyEnvironmentVariableCountsAsUnset() throws {
        let harness = ConfigHarness(environment: [RelayConfig.callsTokenEnvironmentVariable: "  \n"])
        let loaded = try harness.load(yaml(file: false, inline: true))
        #expect(loaded.config.cloudflare.callsAPIToken.reveal() == inlineValue)
    }

    @Test func missingTokenListsTheThreeWays() throws {
        let error = try #require(ConfigHarness().error(yaml(file: false, inline: false)))
        #expect(error.issues.count == 1)
        let issue = try #require(error.issues.first)
        #expect(issue.kind == .missingSecret)
        #expect(issue.keyPath == "cloudflare.calls_api_token")
        #expect(issue.message.contains("(1) set the environment variable RELAYD_CALLS_API_TOKEN"))
        #expect(issue.message.contains("(2) set cloudflare.calls_api_token_file"))
        #expect(issue.message.contains("(3) write it inline as cloudflare.calls_api_token"))
    }

    @Test func unreadableTokenFileNamesThePath() throws {
        var harness = harness(env: false)
        harness.files = [:]
        let error = try #require(harness.error(yaml(file: true, inline: false)))
        let issue = try #require(error.issues.first)
        #expect(issue.kind == .unreadableSecret)
        #expect(issue.keyPath == "cloudflare.calls_api_token_file")
        #expect(issue.message.contains("'/etc/relayd/secrets/token'"))
        #expect(issue.message.contains("no such file"))
    }

    @Test func emptyTokenFileIsAnError() throws {
        var harness = harness(env: false)
        harness.files = ["/etc/relayd/secrets/token": "\n\n"]
        let error = try #require(harness.error(yaml(file: true, inline: false)))
        #expect(error.issues.first?.kind == .unreadableSecret)
        #expect(error.issues.first?.message.contains("is empty") == true)
    }

    @Test func optionalTokensFollowTheSameRules() throws {
        let harness = ConfigHarness(
            environment: [RelayConfig.callsTokenEnvironmentVariable: envValue,
                          RelayConfig.whipTokenEnvironmentVariable: "whip-from-env"],
            files: ["/run/admin": "admin-from-file\n"])
        let loaded = try harness.load("""
            cloudflare: {calls_app_id: app}
            guests: {guest1: {}}
            relay:
              whip_bearer_token: whip-inline-xyz
              admin_token_file: /run/admin
            """)
        #expect(loaded.config.relay.whipBearerToken?.reveal() == "whip-from-env")
        #expect(loaded.config.relay.adminToken?.reveal() == "admin-from-file")
        #expect(loaded.warnings.map(\.keyPath) == ["relay.whip_bearer_token"])
        #expect(!"\(loaded.warnings)".contains("whip-inline-xyz"))
    }

    @Test func secretNeverAppearsInConfigTextDumpsOrErrors() throws {
        let harness = ConfigHarness(files: ["/etc/relayd/secrets/token": fileValue])
        let yamlWithEverything = """
            cloudflare: {calls_app_id: app, calls_api_token: "\(inlineValue)"}
            guests: {guest1: {}}
            relay: {whip_bearer_token: "\(fileValue)", admin_token: "\(envValue)"}
            """
        let config = try harness.load(yamlWithEverything).config
        var dumped = ""
        dump(config, to: &dumped)
        var dumpedSecret = ""
        dump(config.cloudflare.callsAPIToken, to: &dumpedSecret)
        let texts = [
            String(describing: config), String(reflecting: config), "\(config)", dumped, dumpedSecret,
            "\(config.cloudflare)", String(reflecting: config.cloudflare), "\(config.relay)",
            String(reflecting: config.relay), config.summaryLines.joined(),
            String(describing: Optional(config.cloudflare.callsAPIToken)), "\([config.cloudflare.callsAPIToken])",
        ]
        for text in texts {
            for secret in [inlineValue, fileValue, envValue] {
                #expect(!text.contains(secret), "\(text)")
            }
        }
        #expect(dumpedSecret.contains("<redacted>") || !dumpedSecret.contains("storage"))

        // Errors in a file that holds inline secrets, including a secret of the wrong type.
        let broken = yamlWithEverything + "\nmediamtx: {rtmp_port: \(inlineValue)}\n"
        let errors = [
            harness.error(broken),
            harness.error("cloudflare: {calls_app_id: app, calls_api_token: [\"\(inlineValue)\"]}"),
            harness.error("cloudflare: {calls_app_id: app, calls_api_token: {a: \"\(inlineValue)\"}}"),
        ]
        for error in errors {
            let error = try #require(error)
            #expect(!"\(error)".contains(inlineValue))
            #expect(!"\(error)".contains(fileValue))
            #expect(!"\(error)".contains(envValue))
        }
        #expect(errors[0]?.issues.first?.message == "must be a whole number between 1 and 65535, got '<redacted>'",
                "a secret pasted under the wrong key is scrubbed too")
        let typeError = try #require(errors[1])
        #expect(typeError.issues.first?.message == "must be a text value (the value is not shown)")
    }

    @Test func secretIsRedactedInEveryTextualForm() {
        let secret = Secret("hunter2-abcdef")
        #expect(secret.description == "<redacted>")
        #expect(secret.debugDescription == "<redacted>")
        #expect("\(secret)" == "<redacted>")
        #expect(String(reflecting: secret) == "<redacted>")
        var dumped = ""
        dump(secret, to: &dumped)
        #expect(!dumped.contains("hunter2"))
        #expect(Mirror(reflecting: secret).children.isEmpty)
        #expect(secret.reveal() == "hunter2-abcdef")
        #expect(secret.value == "hunter2-abcdef")
    }

    @Test func secretMatchesOnlyTheExactValue() {
        let secret = Secret("token-123")
        #expect(secret.matches("token-123"))
        #expect(!secret.matches("token-124"))
        #expect(!secret.matches("token-12"))
        #expect(!secret.matches("token-1234"))
        #expect(!secret.matches(""))
        #expect(!Secret("").matches(""), "an empty secret matches nothing")
    }
}

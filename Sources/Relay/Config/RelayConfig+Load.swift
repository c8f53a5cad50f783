import Foundation
import Logging
import Yams

extension RelayConfig {
    /// A loaded configuration and what the operator should be told about it.
    public struct Loaded: Sendable {
        public let config: RelayConfig
        public let warnings: [ConfigWarning]
    }

    public static let callsTokenEnvironmentVariable = "RELAYD_CALLS_API_TOKEN"
    public static let whipTokenEnvironmentVariable = "RELAYD_WHIP_BEARER_TOKEN"
    public static let adminTokenEnvironmentVariable = "RELAYD_ADMIN_TOKEN"

    static let topLevelKeys = ["cloudflare", "guests", "mediamtx", "relay"]
    static let cloudflareKeys = ["account_id", "calls_app_id", "calls_api_token", "calls_api_token_file", "calls_app_name"]
    static let guestKeys = ["name", "enabled"]
    static let mediamtxKeys = ["enabled", "host", "rtmp_port", "rtsp_port", "api_port"]
    static let relayKeys = [
        "listen_host", "listen_port", "calls_base_url", "whip_bearer_token", "whip_bearer_token_file",
        "admin_token", "admin_token_file", "subscribe_mode", "video", "audio", "tls", "log_level",
    ]
    static let videoKeys = ["mode", "x264_preset", "bitrate_kbps", "keyframe_interval_s", "width", "height"]
    static let audioKeys = ["bitrate_kbps"]
    static let tlsKeys = ["certificate_file", "key_file"]
    /// Every key relayd reads, as dotted paths (`guests.<id>.name` for per-guest keys). The
    /// documentation test checks each one is explained in config.example.yml.
    public static var knownKeyPaths: [String] {
        cloudflareKeys.map { "cloudflare.\($0)" } + guestKeys.map { "guests.<id>.\($0)" }
            + mediamtxKeys.map { "mediamtx.\($0)" }
            + relayKeys.filter { !["video", "audio", "tls"].contains($0) }.map { "relay.\($0)" }
            + videoKeys.map { "relay.video.\($0)" } + audioKeys.map { "relay.audio.\($0)" }
            + tlsKeys.map { "relay.tls.\($0)" }
    }

    static let logLevels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    /// Parses and validates a config. Pure: the environment and file reading are parameters.
    ///
    /// - Parameters:
    ///   - yamlText: the config file's text.
    ///   - environment: where `RELAYD_CALLS_API_TOKEN` (and the optional
    ///     `RELAYD_WHIP_BEARER_TOKEN`, `RELAYD_ADMIN_TOKEN`) are looked up.
    ///   - baseDirectory: relative paths in the file (token files, TLS files) are resolved
    ///     against it — the config file's directory when loading from a path.
    ///   - readFile: reads a secret file by (resolved) path.
    /// - Throws: `ConfigError` listing every problem found.
    public static func load(
        yamlText: String,
        environment: [String: String],
        baseDirectory: String? = nil,
        readFile: (String) throws -> String
    ) throws(ConfigError) -> Loaded {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yamlText)
        } catch {
            throw ConfigError(malformedYAMLIssue(error))
        }
        var reader = ConfigNodeReader()
        // Secrets from the environment are scrubbed from messages even where they are not used.
        reader.secretValues = [callsTokenEnvironmentVariable, whipTokenEnvironmentVariable, adminTokenEnvironmentVariable]
            .compactMap { environment[$0]?.configTrimmed }.filter { !$0.isEmpty }
        if let root, !ConfigNodeReader.isNull(root), !root.isMapping {
            reader.invalid(nil, "the file must be a YAML mapping with the sections "
                + "\(ConfigNodeReader.list(topLevelKeys, conjunction: "and")), got \(ConfigNodeReader.describeShape(root))",
                root)
            throw ConfigError(issues: reader.issues)
        }
        let resolvePath = { (path: String) -> String in
            guard !path.hasPrefix("/"), let baseDirectory, !baseDirectory.isEmpty else { return path }
            return baseDirectory.hasSuffix("/") ? baseDirectory + path : baseDirectory + "/" + path
        }
        let (config, issues, warnings) = withoutActuallyEscaping(readFile) { readFile in
            var builder = ConfigBuilder(
                reader: reader, environment: environment, resolvePath: resolvePath, readFile: readFile)
            let config = builder.build(root)
            // Values are quoted in messages to help; a secret pasted under the wrong key must not be.
            let (issues, warnings) = builder.reader.scrubbed()
            return (config, issues, warnings)
        }
        let orderedWarnings = inFileOrder(warnings) { ($0.line, nil) }
        guard issues.isEmpty, let config else {
            throw ConfigError(issues: inFileOrder(issues) { ($0.line, $0.column) }, warnings: orderedWarnings)
        }
        return Loaded(config: config, warnings: orderedWarnings)
    }

    /// Sorted by position so the operator can walk down the file; stable, unplaced items last.
    private static func inFileOrder<Item>(_ items: [Item], position: (Item) -> (Int?, Int?)) -> [Item] {
        items.enumerated().sorted { lhs, rhs in
            let (leftLine, leftColumn) = position(lhs.element)
            let (rightLine, rightColumn) = position(rhs.element)
            return (leftLine ?? Int.max, leftColumn ?? 0, lhs.offset) < (rightLine ?? Int.max, rightColumn ?? 0, rhs.offset)
        }.map(\.element)
    }

    /// Loads the config file at `path`, taking secrets from `environment` (the process
    /// environment by default) and resolving relative paths against the file's directory.
    public static func load(
        path: String,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ConfigError) -> Loaded {
        let text: String
        do {
            text = try ConfigFiles.read(path)
        } catch {
            throw ConfigError(ConfigError.Issue(kind: .unreadableFile, keyPath: nil, message: "\(error)"), file: path)
        }
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        do {
            return try load(yamlText: text, environment: environment, baseDirectory: directory,
                            readFile: ConfigFiles.read)
        } catch {
            throw error.withFile(path)
        }
    }

    /// Turns a Yams error into an issue with a position, without quoting the file: the line in
    /// question may hold a secret.
    private static func malformedYAMLIssue(_ error: any Error) -> ConfigError.Issue {
        let problem: String
        var mark: Mark?
        switch error as? YamlError {
        case .scanner(let context, let text, let problemMark, _),
             .parser(let context, let text, let problemMark, _),
             .composer(let context, let text, let problemMark, _):
            problem = [context?.text, text].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ": ")
            mark = problemMark
        case .duplicatedKeysInMapping(let duplicates, let context):
            problem = "the key \(duplicates.map { "'\($0)'" }.joined(separator: ", ")) appears more than once in the same mapping"
            mark = context.mark
        case .reader(let text, _, _, _):
            problem = "the text can't be read as YAML (\(text)); is the file UTF-8?"
        default:
            problem = "the text is not valid YAML"
        }
        var message = "not valid YAML: \(problem)"
        if mark == nil { message += " (position unknown)" }
        return ConfigError.Issue(kind: .malformedYAML, keyPath: nil, message: message,
                                 line: mark?.line, column: mark?.column)
    }
}

private extension Node {
    var isMapping: Bool { if case .mapping = self { true } else { false } }
}

/// Reads the files a config refers to, with errors that say what to check (and never the content).
enum ConfigFiles {
    struct ReadError: Error, CustomStringConvertible {
        let description: String
    }

    static func read(_ path: String) throws -> String {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ReadError(description: "the file '\(path)' does not exist")
        }
        guard !isDirectory.boolValue else { throw ReadError(description: "'\(path)' is a directory, not a file") }
        guard manager.isReadableFile(atPath: path), let data = manager.contents(atPath: path) else {
            throw ReadError(description: "the file '\(path)' is not readable by this user")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ReadError(description: "the file '\(path)' is not UTF-8 text")
        }
        return text
    }
}

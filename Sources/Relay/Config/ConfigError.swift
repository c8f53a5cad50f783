/// Why a configuration was rejected. Loading collects every problem it finds before failing, so
/// an operator fixes the file in one pass instead of one error per restart.
///
/// No issue ever contains a secret's value: secrets are described by key and source only, and a
/// malformed YAML file is reported by line and column, never by quoting the offending line.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The config file itself could not be read.
        case unreadableFile
        /// The text is not valid YAML (see `line`/`column`).
        case malformedYAML
        /// A required key is absent.
        case missingValue
        /// A key has a value of the wrong type or outside what is allowed.
        case invalidValue
        /// A required secret is not provided in any of the supported ways.
        case missingSecret
        /// A secret file is named but can't be read, or is empty.
        case unreadableSecret
    }

    public struct Issue: Sendable, Equatable, CustomStringConvertible {
        public let kind: Kind
        /// Dotted path of the key, e.g. `relay.video.mode`, or nil for whole-file problems.
        public let keyPath: String?
        /// What is wrong and what is allowed, e.g. "must be passthrough or transcode, got 'fast'".
        public let message: String
        /// 1-based position in the YAML text, when known.
        public let line: Int?
        public let column: Int?

        public init(kind: Kind, keyPath: String?, message: String, line: Int? = nil, column: Int? = nil) {
            self.kind = kind
            self.keyPath = keyPath
            self.message = message
            self.line = line
            self.column = column
        }

        public var description: String {
            var text = ""
            if let line {
                text += "line \(line)"
                if let column { text += ", column \(column)" }
                text += ": "
            }
            if let keyPath { text += "\(keyPath): " }
            return text + message
        }
    }

    public let issues: [Issue]
    /// Warnings found along the way; an unknown key (a typo) often explains a missing one.
    public let warnings: [ConfigWarning]
    /// The config file's path, when loaded from a file.
    public let file: String?

    public init(issues: [Issue], warnings: [ConfigWarning] = [], file: String? = nil) {
        self.issues = issues
        self.warnings = warnings
        self.file = file
    }

    public init(_ issue: Issue, file: String? = nil) {
        self.init(issues: [issue], file: file)
    }

    /// The first issue's key path; convenient when a test or caller expects one problem.
    public var keyPath: String? { issues.first?.keyPath }

    public func withFile(_ file: String) -> ConfigError { ConfigError(issues: issues, warnings: warnings, file: file) }

    public var description: String {
        let subject = file.map { "configuration \($0)" } ?? "configuration"
        if issues.count == 1 { return "\(subject) is invalid: \(issues[0])" }
        let list = issues.map { "  - \($0)" }.joined(separator: "\n")
        return "\(subject) has \(issues.count) problems:\n\(list)"
    }
}

/// Something in the config that works but deserves the operator's attention: an unknown key (a
/// typo, usually), a secret written inline, a setting that has no effect.
public struct ConfigWarning: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// A key relayd does not know; `suggestion` is the closest known key, if one is close.
        case unknownKey(suggestion: String?)
        /// A secret is written in the config file itself.
        case inlineSecret
        /// A secret source is set but a higher-priority source won (e.g. the env var over the file).
        case ignoredSecretSource
        /// A setting that is valid but has no effect, or an odd setup worth a second look.
        case ineffective
    }

    public let kind: Kind
    public let keyPath: String?
    public let message: String
    public let line: Int?

    public init(kind: Kind, keyPath: String?, message: String, line: Int? = nil) {
        self.kind = kind
        self.keyPath = keyPath
        self.message = message
        self.line = line
    }

    public var description: String {
        var text = ""
        if let line { text += "line \(line): " }
        if let keyPath { text += "\(keyPath): " }
        return text + message
    }
}

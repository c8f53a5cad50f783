import Foundation
import Yams

/// Walks the YAML node tree with key paths in hand: typed getters that record an issue (and
/// return the default) instead of stopping at the first problem, and mapping readers that warn
/// about unknown keys. Values are echoed in messages only through these getters, never for
/// secrets (those are read by `SecretResolver`, which never quotes a value).
struct ConfigNodeReader {
    var issues: [ConfigError.Issue] = []
    var warnings: [ConfigWarning] = []
    /// Every secret value seen (chosen or not), so that a secret pasted under the wrong key is
    /// still scrubbed from the messages (see `scrubbed`).
    var secretValues: [String] = []

    /// One YAML mapping, with its key path and the keys it contains, in order.
    struct Section {
        let path: String
        let entries: [(key: String, keyNode: Node, value: Node)]
        /// Where the section starts, for "is required" messages.
        let mark: Mark?

        static func empty(path: String, mark: Mark? = nil) -> Section {
            Section(path: path, entries: [], mark: mark)
        }

        func node(_ key: String) -> Node? {
            guard let value = entries.first(where: { $0.key == key })?.value else { return nil }
            return ConfigNodeReader.isNull(value) ? nil : value
        }

        func has(_ key: String) -> Bool { node(key) != nil }

        func path(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }
    }

    // MARK: - Mappings

    /// Reads `node` as a mapping at `path`; absent or null gives an empty section. Keys not in
    /// `known` produce warnings (unless `known` is nil: a mapping of user-chosen keys, like guests).
    mutating func section(_ node: Node?, path: String, known: [String]?, parentMark: Mark? = nil) -> Section {
        guard let node, !Self.isNull(node) else { return .empty(path: path, mark: parentMark) }
        guard case .mapping(let mapping) = node else {
            invalid(path, "must be a mapping of keys, got \(Self.describeShape(node))", node)
            return .empty(path: path, mark: node.mark)
        }
        var entries: [(key: String, keyNode: Node, value: Node)] = []
        var merged: [(key: String, keyNode: Node, value: Node)] = []
        for (keyNode, value) in mapping {
            guard case .scalar(let scalar) = keyNode else {
                invalid(path, "keys must be plain names, got \(Self.describeShape(keyNode)) as a key", keyNode)
                continue
            }
            if scalar.string == "<<", scalar.style == .plain || scalar.style == .any {
                merged += mergeEntries(value, path: path)
                continue
            }
            entries.append((scalar.string, keyNode, value))
        }
        // YAML merge keys (`<<: *defaults`): keys written in the mapping itself win.
        for entry in merged where !entries.contains(where: { $0.key == entry.key }) {
            entries.append(entry)
        }
        let section = Section(path: path, entries: entries, mark: node.mark)
        if let known {
            for entry in entries where !known.contains(entry.key) {
                warnUnknown(entry.key, in: section, known: known, at: entry.keyNode)
            }
        }
        return section
    }

    /// The entries a merge key brings in: one mapping, or a list of them (earlier ones win).
    private mutating func mergeEntries(_ value: Node, path: String) -> [(key: String, keyNode: Node, value: Node)] {
        let sources: [Node]
        switch value {
        case .mapping: sources = [value]
        case .sequence(let sequence): sources = Array(sequence)
        default:
            invalid(path, "a merge key (<<) needs a mapping or a list of mappings, got \(Self.describeShape(value))", value)
            return []
        }
        var result: [(key: String, keyNode: Node, value: Node)] = []
        for source in sources {
            guard case .mapping(let mapping) = source else {
                invalid(path, "a merge key (<<) needs a mapping or a list of mappings, got \(Self.describeShape(source))",
                        source)
                continue
            }
            for (keyNode, value) in mapping {
                guard case .scalar(let scalar) = keyNode, !result.contains(where: { $0.key == scalar.string })
                else { continue }
                result.append((scalar.string, keyNode, value))
            }
        }
        return result
    }

    private mutating func warnUnknown(_ key: String, in section: Section, known: [String], at node: Node) {
        let suggestion = KeySuggestion.closest(to: key, among: known)
        let keyPath = section.path(key)
        let message: String
        if let suggestion {
            message = "unknown key, ignored (did you mean '\(section.path(suggestion))'?)"
        } else if section.path.isEmpty {
            message = "unknown section, ignored (relayd reads \(Self.list(known, conjunction: "and")))"
        } else {
            message = "unknown key, ignored (known keys here: \(known.joined(separator: ", ")))"
        }
        warnings.append(ConfigWarning(kind: .unknownKey(suggestion: suggestion.map(section.path)),
                                      keyPath: keyPath, message: message, line: node.mark?.line))
    }

    // MARK: - Scalars

    mutating func string(_ section: Section, _ key: String) -> String? {
        guard let node = section.node(key) else { return nil }
        guard case .scalar(let scalar) = node else {
            invalid(section.path(key), "must be a text value, got \(Self.describeShape(node))", node)
            return nil
        }
        return scalar.string
    }

    /// A string that must be present and non-empty; `hint` says what it is and where to find it.
    mutating func requiredString(_ section: Section, _ key: String, hint: String) -> String? {
        guard section.has(key) else {
            issues.append(ConfigError.Issue(kind: .missingValue, keyPath: section.path(key),
                                            message: "is required: \(hint)", line: section.mark?.line))
            return nil
        }
        guard let value = string(section, key) else { return nil }
        if value.configTrimmed.isEmpty {
            invalid(section.path(key), "must not be empty: \(hint)", section.node(key))
            return nil
        }
        return value
    }

    mutating func int(_ section: Section, _ key: String, default fallback: Int, allowed: ClosedRange<Int>) -> Int {
        optionalInt(section, key, allowed: allowed) ?? fallback
    }

    mutating func optionalInt(_ section: Section, _ key: String, allowed: ClosedRange<Int>) -> Int? {
        guard let node = section.node(key) else { return nil }
        let rangeText = "between \(allowed.lowerBound) and \(allowed.upperBound)"
        guard case .scalar(let scalar) = node else {
            invalid(section.path(key), "must be a whole number \(rangeText), got \(Self.describeShape(node))", node)
            return nil
        }
        guard let value = Int(scalar.string.replacingUnderscores().configTrimmed) else {
            invalid(section.path(key), "must be a whole number \(rangeText), got \(Self.quote(scalar.string))", node)
            return nil
        }
        guard allowed.contains(value) else {
            invalid(section.path(key), "must be \(rangeText), got \(value)", node)
            return nil
        }
        return value
    }

    mutating func double(_ section: Section, _ key: String, default fallback: Double,
                         allowed: ClosedRange<Double>) -> Double {
        guard let node = section.node(key) else { return fallback }
        let rangeText = "between \(Self.format(allowed.lowerBound)) and \(Self.format(allowed.upperBound))"
        guard case .scalar(let scalar) = node else {
            invalid(section.path(key), "must be a number \(rangeText), got \(Self.describeShape(node))", node)
            return fallback
        }
        guard let value = Double(scalar.string.replacingUnderscores().configTrimmed), value.isFinite else {
            invalid(section.path(key), "must be a number \(rangeText), got \(Self.quote(scalar.string))", node)
            return fallback
        }
        guard allowed.contains(value) else {
            invalid(section.path(key), "must be \(rangeText), got \(Self.format(value))", node)
            return fallback
        }
        return value
    }

    mutating func bool(_ section: Section, _ key: String, default fallback: Bool) -> Bool {
        guard let node = section.node(key) else { return fallback }
        guard case .scalar(let scalar) = node else {
            invalid(section.path(key), "must be true or false, got \(Self.describeShape(node))", node)
            return fallback
        }
        switch scalar.string.configTrimmed.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            invalid(section.path(key), "must be true or false, got \(Self.quote(scalar.string))", node)
            return fallback
        }
    }

    /// One of a fixed set of words, e.g. `mode: passthrough | transcode`.
    mutating func choice<Value: RawRepresentable & CaseIterable>(
        _ section: Section, _ key: String, default fallback: Value
    ) -> Value where Value.RawValue == String {
        let allowed = Value.allCases.map(\.rawValue)
        guard let word = oneOf(section, key, allowed: allowed) else { return fallback }
        return Value(rawValue: word) ?? fallback
    }

    /// One of `allowed` (compared case-insensitively, answered in `allowed`'s spelling).
    mutating func oneOf(_ section: Section, _ key: String, allowed: [String], aliases: [String: String] = [:]) -> String? {
        guard let node = section.node(key) else { return nil }
        let allowedText = Self.list(allowed, conjunction: "or")
        guard case .scalar(let scalar) = node else {
            invalid(section.path(key), "must be \(allowedText), got \(Self.describeShape(node))", node)
            return nil
        }
        let word = scalar.string.configTrimmed.lowercased()
        if let match = allowed.first(where: { $0.lowercased() == word }) { return match }
        if let alias = aliases[word] { return alias }
        invalid(section.path(key), "must be \(allowedText), got \(Self.quote(scalar.string))", node)
        return nil
    }

    // MARK: - Recording problems

    mutating func invalid(_ keyPath: String?, _ message: String, _ node: Node?) {
        issues.append(ConfigError.Issue(kind: .invalidValue, keyPath: keyPath, message: message,
                                        line: node?.mark?.line, column: node?.mark?.column))
    }

    mutating func warn(_ kind: ConfigWarning.Kind, _ keyPath: String?, _ message: String, _ node: Node? = nil) {
        warnings.append(ConfigWarning(kind: kind, keyPath: keyPath, message: message, line: node?.mark?.line))
    }

    /// Issues and warnings with every secret value seen replaced by `<redacted>`.
    func scrubbed() -> (issues: [ConfigError.Issue], warnings: [ConfigWarning]) {
        // Values under 4 characters are not credentials, and scrubbing them would garble the text.
        let registry = SecretRegistry(secretValues.filter { $0.count >= 4 }.map(Secret.init))
        let issues = issues.map {
            ConfigError.Issue(kind: $0.kind, keyPath: $0.keyPath.map(registry.redact),
                              message: registry.redact($0.message), line: $0.line, column: $0.column)
        }
        let warnings = warnings.map {
            ConfigWarning(kind: $0.kind, keyPath: $0.keyPath.map(registry.redact),
                          message: registry.redact($0.message), line: $0.line)
        }
        return (issues, warnings)
    }

    // MARK: - Helpers

    /// YAML's null: an empty value, `~` or `null` written plainly (a quoted "null" is text).
    static func isNull(_ node: Node) -> Bool {
        guard case .scalar(let scalar) = node, scalar.style == .plain || scalar.style == .any else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    static func describeShape(_ node: Node) -> String {
        switch node {
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        case .scalar(let scalar): quote(scalar.string)
        }
    }

    /// A user's value in quotes, shortened and on one line so a pasted blob can't flood the error.
    static func quote(_ text: String) -> String {
        var shown = String(text.prefix(60)).replacingOccurrences(of: "\n", with: "\\n")
        if text.count > 60 { shown += "…" }
        return "'\(shown)'"
    }

    static func list(_ words: [String], conjunction: String) -> String {
        guard words.count > 1 else { return words.first ?? "" }
        return words.dropLast().joined(separator: ", ") + " \(conjunction) " + (words.last ?? "")
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}

extension String {
    /// Surrounding spaces and newlines removed (token files usually end in a newline).
    var configTrimmed: String { trimmingCharacters(in: .whitespacesAndNewlines) }

    /// YAML 1.1 allows `1_000` in numbers.
    fileprivate func replacingUnderscores() -> String { replacingOccurrences(of: "_", with: "") }
}

import Yams

/// How one secret may be provided, in priority order: environment variable, then a file named
/// by `<key>_file`, then the value written inline (which works, with a warning).
struct SecretSpec {
    /// e.g. "the Calls app token"
    let what: String
    let section: ConfigNodeReader.Section
    /// e.g. "calls_api_token"; the file key is this plus "_file".
    let key: String
    let environmentVariable: String
    let required: Bool

    var fileKey: String { key + "_file" }

    /// The three ways, spelled out, for the "missing" error and the inline warning.
    var waysToProvide: String {
        "(1) set the environment variable \(environmentVariable) (preferred), "
            + "(2) set \(section.path(fileKey)) to the path of a file that contains only the token, or "
            + "(3) write it inline as \(section.path(key)) (works, but keeps a secret in the config file)"
    }
}

extension ConfigNodeReader {
    /// Resolves a secret without ever putting its value into an issue or a warning.
    mutating func secret(
        _ spec: SecretSpec,
        environment: [String: String],
        resolvePath: (String) -> String,
        readFile: (String) throws -> String
    ) -> (Secret, SecretSource)? {
        let section = spec.section
        let fromEnvironment = environment[spec.environmentVariable].map(\.configTrimmed).flatMap { $0.isEmpty ? nil : $0 }
        let filePath = string(section, spec.fileKey)
        let inlineNode = section.node(spec.key)
        if let fromEnvironment { secretValues.append(fromEnvironment) }
        if let inlineNode { secretValues.append(contentsOf: Self.scalarTexts(in: inlineNode)) }

        if let inlineNode {
            var message = "\(spec.what) is written inline in the config file; it works, but move it to "
                + "the environment variable \(spec.environmentVariable) or to a file named by "
                + "\(section.path(spec.fileKey)) (readable only by relayd), and delete it from the config"
            if fromEnvironment != nil {
                message += " (it is ignored now: \(spec.environmentVariable) is set)"
            } else if filePath != nil {
                message += " (it is ignored now: \(section.path(spec.fileKey)) is set)"
            }
            warn(.inlineSecret, section.path(spec.key), message, inlineNode)
        }

        if let fromEnvironment {
            if filePath != nil {
                warn(.ignoredSecretSource, section.path(spec.fileKey),
                     "ignored: the environment variable \(spec.environmentVariable) is set and wins",
                     section.node(spec.fileKey))
            }
            return (Secret(fromEnvironment), .environment(spec.environmentVariable))
        }

        if let filePath {
            let fileKeyPath = section.path(spec.fileKey)
            let fileNode = section.node(spec.fileKey)
            guard !filePath.configTrimmed.isEmpty else {
                invalid(fileKeyPath, "must be a file path, got an empty value", fileNode)
                return nil
            }
            let resolved = resolvePath(filePath.configTrimmed)
            let contents: String
            do {
                contents = try readFile(resolved)
            } catch {
                issues.append(ConfigError.Issue(
                    kind: .unreadableSecret, keyPath: fileKeyPath,
                    message: "could not read \(spec.what) from '\(resolved)': \(error). "
                        + "Check that the file exists and that relayd's user may read it",
                    line: fileNode?.mark?.line, column: fileNode?.mark?.column))
                return nil
            }
            let token = contents.configTrimmed
            guard !token.isEmpty else {
                issues.append(ConfigError.Issue(
                    kind: .unreadableSecret, keyPath: fileKeyPath,
                    message: "the file '\(resolved)' is empty; it must contain \(spec.what)",
                    line: fileNode?.mark?.line, column: fileNode?.mark?.column))
                return nil
            }
            secretValues.append(token)
            return (Secret(token), .file(resolved))
        }

        if let inlineNode {
            // Never echo the value, not even a wrongly typed one.
            guard case .scalar(let scalar) = inlineNode else {
                invalid(section.path(spec.key), "must be a text value (the value is not shown)", inlineNode)
                return nil
            }
            let token = scalar.string.configTrimmed
            guard !token.isEmpty else {
                invalid(section.path(spec.key), "is empty; \(spec.what) can be provided in three ways: \(spec.waysToProvide)",
                        inlineNode)
                return nil
            }
            return (Secret(token), .inline(keyPath: section.path(spec.key)))
        }

        if spec.required {
            issues.append(ConfigError.Issue(
                kind: .missingSecret, keyPath: section.path(spec.key),
                message: "\(spec.what) is missing. Provide it in one of three ways: \(spec.waysToProvide)",
                line: section.mark?.line))
        }
        return nil
    }

    /// The texts of every scalar in a node (a secret written as a list is still a secret).
    static func scalarTexts(in node: Node) -> [String] {
        switch node {
        case .scalar(let scalar): [scalar.string.configTrimmed]
        case .sequence(let sequence): sequence.flatMap(scalarTexts)
        case .mapping(let mapping): mapping.values.flatMap(scalarTexts)
        case .alias: []
        }
    }
}

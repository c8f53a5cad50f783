import Relay

/// Loads YAML text with a scripted environment and scripted files (path → contents); a path
/// not in `files` fails to read.
struct ConfigHarness {
    var environment: [String: String] = [:]
    var files: [String: String] = [:]
    var baseDirectory: String? = nil

    struct MissingFile: Error, CustomStringConvertible {
        let path: String
        var description: String { "no such file '\(path)'" }
    }

    func load(_ yaml: String) throws(ConfigError) -> RelayConfig.Loaded {
        let files = self.files
        return try RelayConfig.load(yamlText: yaml, environment: environment, baseDirectory: baseDirectory) { path in
            guard let contents = files[path] else { throw MissingFile(path: path) }
            return contents
        }
    }

    /// The error loading fails with, or nil when it succeeds.
    func error(_ yaml: String) -> ConfigError? {
        do {
            _ = try load(yaml)
            return nil
        } catch {
            return error
        }
    }
}

/// A config with just the required keys, token given by env in the harness.
let configMinimalYAML = """
    cloudflare:
      calls_app_id: "app123"
    guests:
      guest1: {name: "Guest 1"}
    """

let configEnvToken = "env-token-5b1f0c2e9d"
let configEnvHarness = ConfigHarness(environment: [RelayConfig.callsTokenEnvironmentVariable: configEnvToken])

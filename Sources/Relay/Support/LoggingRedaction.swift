import Foundation
import Logging

/// The set of secret strings no log line may contain. `RedactingLogHandler` consults it on every
/// message, so secrets registered after logging was bootstrapped (say, once the config is
/// loaded) are covered too.
///
/// `@unchecked Sendable`: the only state is `secrets`, and every access holds `lock`.
public final class SecretRegistry: @unchecked Sendable {
    private let lock = NSLock()
    /// Longest first, so a secret containing another is replaced whole.
    private var secrets: [String] = []

    public init(_ secrets: [Secret] = []) {
        register(secrets)
    }

    /// The registry `RelayLogging.bootstrap` installs.
    public static let shared = SecretRegistry()

    public func register(_ secret: Secret) { register([secret]) }

    public func register(_ newSecrets: [Secret]) {
        let values = newSecrets.map { $0.reveal() }.filter { !$0.isEmpty }
        guard !values.isEmpty else { return }
        lock.lock()
        defer { lock.unlock() }
        secrets = Array(Set(secrets + values)).sorted { $0.utf8.count > $1.utf8.count }
    }

    /// `text` with every registered secret replaced by `<redacted>`.
    public func redact(_ text: String) -> String {
        let current = snapshot()
        guard !current.isEmpty else { return text }
        var result = text
        for secret in current where result.contains(secret) {
            result = result.replacingOccurrences(of: secret, with: Secret.redactedText)
        }
        return result
    }

    /// Metadata with every string inside (nested too) redacted; values without a secret are
    /// passed through untouched, keeping any attributes they carry.
    public func redact(_ metadata: Logger.Metadata) -> Logger.Metadata {
        guard !snapshot().isEmpty else { return metadata }
        return metadata.mapValues(redact)
    }

    public func redact(_ value: Logger.MetadataValue) -> Logger.MetadataValue {
        switch value {
        case .string(let text):
            let redacted = redact(text)
            return redacted == text ? value : .string(redacted)
        case .stringConvertible(let convertible):
            let text = convertible.description
            let redacted = redact(text)
            return redacted == text ? value : .string(redacted)
        case .dictionary(let dictionary):
            return .dictionary(dictionary.mapValues(redact))
        case .array(let array):
            return .array(array.map(redact))
        }
    }

    private func snapshot() -> [String] {
        lock.lock()
        defer { lock.unlock() }
        return secrets
    }
}

/// Wraps any `LogHandler` and replaces registered secrets with `<redacted>` in the message,
/// the metadata (call-site, logger-level and provider metadata) and the attached error, before
/// the wrapped handler sees them.
public struct RedactingLogHandler: LogHandler {
    public var wrapped: any LogHandler
    public let registry: SecretRegistry

    public init(wrapping handler: any LogHandler, registry: SecretRegistry = .shared) {
        self.wrapped = handler
        self.registry = registry
    }

    public func log(event: LogEvent) {
        var event = event
        event.message = Logger.Message(stringLiteral: registry.redact(event.message.description))
        if let metadata = event.metadata { event.metadata = registry.redact(metadata) }
        if let error = event.error {
            let text = String(describing: error)
            let redacted = registry.redact(text)
            if redacted != text { event.error = RedactedError(description: redacted) }
        }
        wrapped.log(event: event)
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { wrapped[metadataKey: key] }
        set { wrapped[metadataKey: key] = newValue.map(registry.redact) }
    }

    public var metadata: Logger.Metadata {
        get { wrapped.metadata }
        set { wrapped.metadata = registry.redact(newValue) }
    }

    public var logLevel: Logger.Level {
        get { wrapped.logLevel }
        set { wrapped.logLevel = newValue }
    }

    public var metadataProvider: Logger.MetadataProvider? {
        get { wrapped.metadataProvider }
        set {
            // The wrapped handler calls the provider itself, so redact inside the provider.
            let registry = self.registry
            wrapped.metadataProvider = newValue.map { provider in
                Logger.MetadataProvider { registry.redact(provider.get()) }
            }
        }
    }
}

/// Stands in for an error whose description contained a secret.
public struct RedactedError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

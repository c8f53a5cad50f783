/// A credential (the Calls app token, a bearer token) that must never reach a log line, an error
/// text or a debug dump. Every textual form of a `Secret` is `<redacted>`; the value is only
/// reachable through `reveal()`, so the one place that needs it (the `Authorization` header)
/// is easy to find.
public struct Secret: Sendable, Hashable {
    private let storage: String

    public init(_ value: String) { storage = value }

    /// The secret itself. Call it only where the value leaves the process on purpose.
    public func reveal() -> String { storage }

    /// Same as `reveal()`, for call sites that read better with a property.
    public var value: String { storage }

    /// True when the value is empty (an empty token is treated as "not configured").
    public var isEmpty: Bool { storage.isEmpty }

    /// Compares a candidate (say, the bearer token a client sent) with the secret in time that
    /// depends only on the candidate's length, so a remote client can't learn the secret a byte
    /// at a time from response timing.
    public func matches(_ candidate: String) -> Bool {
        let expected = Array(storage.utf8)
        let given = Array(candidate.utf8)
        var difference = UInt8(expected.count == given.count ? 0 : 1)
        for index in given.indices {
            let reference = expected.isEmpty ? 0 : expected[index % expected.count]
            difference |= reference ^ given[index]
        }
        return difference == 0 && !expected.isEmpty
    }

    public static let redactedText = "<redacted>"
}

extension Secret: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable,
    CustomLeafReflectable
{
    public var description: String { Secret.redactedText }
    public var debugDescription: String { Secret.redactedText }
    /// `dump()` and `Mirror` see no children, so reflection can't reach the stored value.
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}

/// Where a secret came from, for log lines such as "Calls token from RELAYD_CALLS_API_TOKEN".
public enum SecretSource: Sendable, Equatable, CustomStringConvertible {
    /// An environment variable, by name.
    case environment(String)
    /// A file, by (absolute) path; the file's content minus surrounding whitespace is the secret.
    case file(String)
    /// Written directly in the config file: works, but warned about.
    case inline(keyPath: String)

    public var description: String {
        switch self {
        case .environment(let name): "environment variable \(name)"
        case .file(let path): "file \(path)"
        case .inline(let keyPath): "inline \(keyPath) in the config file"
        }
    }
}

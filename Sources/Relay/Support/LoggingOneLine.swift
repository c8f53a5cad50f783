import Foundation
import Logging

/// Writes each entry as one readable line, e.g.
/// `2026-11-25T16:24:22.123Z info relayd.guest: Relay established guest=guest1 session=abc`.
/// `guest`, `session` and `subSession` come first (they are what an operator greps for), then
/// the rest sorted by key; values with spaces or quotes are quoted.
public struct OneLineLogHandler: LogHandler {
    public let label: String
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    /// Under systemd the journal stamps lines itself, so timestamps can be left out.
    public let timestamps: Bool
    private let output: @Sendable (String) -> Void

    /// - Parameter output: receives each finished line, without the newline.
    public init(label: String, level: Logger.Level, timestamps: Bool = true,
                output: @escaping @Sendable (String) -> Void = OneLineLogHandler.writeToStandardError)
    {
        self.label = label
        self.logLevel = level
        self.timestamps = timestamps
        self.output = output
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = Logger.Metadata.merged(handler: metadata, provider: metadataProvider, event: event)
        if let error = event.error { merged["error"] = .string(String(describing: error)) }
        output(Self.format(
            timestamp: timestamps ? Date() : nil, level: event.level, label: label,
            message: event.message.description, metadata: merged))
    }

    /// Keys that lead the metadata, in this order.
    public static let leadingKeys = ["guest", "session", "subSession"]

    /// The line for one entry; pure, so its shape is tested directly.
    public static func format(timestamp: Date?, level: Logger.Level, label: String, message: String,
                              metadata: Logger.Metadata) -> String
    {
        var line = ""
        if let timestamp { line += iso8601(timestamp) + " " }
        line += "\(level) \(label): \(message.replacingOccurrences(of: "\n", with: "\\n"))"
        let leading = leadingKeys.filter { metadata[$0] != nil }
        let rest = metadata.keys.filter { !leadingKeys.contains($0) }.sorted()
        for key in leading + rest {
            guard let value = metadata[key] else { continue }
            line += " \(key)=\(quoteIfNeeded("\(value)"))"
        }
        return line
    }

    static func quoteIfNeeded(_ value: String) -> String {
        guard value.isEmpty || value.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" || $0.isNewline })
        else { return value }
        let escaped = value.replacingOccurrences(of: "\\", with: "\\\\")
            .replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
        return "\"\(escaped)\""
    }

    /// `2026-11-25T16:24:22.123Z`, computed by hand: it runs per log line and needs no formatter.
    static func iso8601(_ date: Date) -> String {
        let totalMilliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        let days = Int64((Double(totalMilliseconds) / 86_400_000).rounded(.down))
        let millisecondsOfDay = totalMilliseconds - days * 86_400_000
        // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        let seconds = millisecondsOfDay / 1000
        func pad(_ value: Int64, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(seconds / 3600, 2)):"
            + "\(pad(seconds / 60 % 60, 2)):\(pad(seconds % 60, 2)).\(pad(millisecondsOfDay % 1000, 3))Z"
    }

    /// One `write(2)` per line, so lines from different threads don't interleave.
    public static let writeToStandardError: @Sendable (String) -> Void = { line in
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}

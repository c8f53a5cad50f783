import Foundation
import Logging

/// Collects log entries in memory so tests (and the demo's report) can assert on what was
/// logged. Thread-safe; waiters can await an entry that has not been logged yet.
///
/// ```swift
/// let capture = LogCapture()
/// let logger = capture.logger(label: "test")
/// … code under test logs through `logger` …
/// #expect(capture.messages.contains("Relay established"))
/// ```
///
/// `@unchecked Sendable`: `storage`, `waiters` and the waiter bookkeeping are only touched while holding `lock`.
public final class LogCapture: @unchecked Sendable {
    public struct Entry: Sendable, CustomStringConvertible {
        public let label: String
        public let level: Logger.Level
        public let message: String
        /// Handler metadata merged with call-site metadata (call site wins).
        public let metadata: Logger.Metadata
        public let errorDescription: String?
        public let source: String
        public let file: String
        public let function: String
        public let line: UInt

        /// A metadata value as text (`entry["guest"] == "guest1"`).
        public subscript(key: String) -> String? { metadata[key].map { "\($0)" } }

        /// One line: `level label: message k=v … error=…`, metadata sorted by key.
        public var description: String {
            var text = "\(level) \(label): \(message)"
            for key in metadata.keys.sorted() { text += " \(key)=\(metadata[key].map { "\($0)" } ?? "")" }
            if let errorDescription { text += " error=\(errorDescription)" }
            return text
        }
    }

    private let lock = NSLock()
    private var storage: [Entry] = []
    private var waiters: [UInt64: Waiter] = [:]
    private var nextWaiterId: UInt64 = 0
    /// Timeouts that fired before their waiter was registered.
    private var expiredWaiters: Set<UInt64> = []

    private struct Waiter {
        let predicate: @Sendable (Entry) -> Bool
        let continuation: CheckedContinuation<Entry?, Never>
    }

    public init() {}

    /// A logger writing into this capture (no global bootstrap needed).
    public func logger(label: String, level: Logger.Level = .trace) -> Logger {
        var logger = Logger(label: label) { label in CapturingLogHandler(label: label, capture: self) }
        logger.logLevel = level
        return logger
    }

    /// Same as `logger(label:level:)`, with secrets redacted before they reach the capture,
    /// which is how the production handler is wired.
    public func redactingLogger(label: String, level: Logger.Level = .trace, registry: SecretRegistry) -> Logger {
        var logger = Logger(label: label) { label in
            RedactingLogHandler(wrapping: CapturingLogHandler(label: label, capture: self), registry: registry)
        }
        logger.logLevel = level
        return logger
    }

    public var entries: [Entry] {
        lock.lock()
        defer { lock.unlock() }
        return storage
    }

    public var messages: [String] { entries.map(\.message) }

    /// Every entry rendered as one line, joined by newlines: the text to search for leaks.
    public var text: String { entries.map(\.description).joined(separator: "\n") }

    public func entries(at level: Logger.Level) -> [Entry] { entries.filter { $0.level == level } }

    /// True when some message contains `fragment`.
    public func contains(_ fragment: String) -> Bool { entries.contains { $0.message.contains(fragment) } }

    public func removeAll() {
        lock.lock()
        storage.removeAll()
        lock.unlock()
    }

    /// Adds an entry (the capturing handler calls this) and wakes waiters it satisfies.
    public func append(_ entry: Entry) {
        lock.lock()
        storage.append(entry)
        var satisfied: [CheckedContinuation<Entry?, Never>] = []
        for (id, waiter) in waiters where waiter.predicate(entry) {
            satisfied.append(waiter.continuation)
            waiters[id] = nil
        }
        lock.unlock()
        for continuation in satisfied { continuation.resume(returning: entry) }
    }

    /// The first entry (already logged or logged within `timeout`) that matches, or nil on timeout.
    public func waitForEntry(
        timeout: Duration = .seconds(5),
        where predicate: @escaping @Sendable (Entry) -> Bool
    ) async -> Entry? {
        let id = allocateWaiterId()
        let timer = Task { [weak self] in
            do { try await Task.sleep(for: timeout) } catch { return }  // cancelled: the wait is over
            self?.cancelWaiter(id)
        }
        defer { timer.cancel() }
        return await withCheckedContinuation { continuation in
            lock.lock()
            if let existing = storage.first(where: predicate) {
                lock.unlock()
                continuation.resume(returning: existing)
                return
            }
            if expiredWaiters.remove(id) != nil {
                // The timeout fired before this waiter was registered.
                lock.unlock()
                continuation.resume(returning: nil)
                return
            }
            waiters[id] = Waiter(predicate: predicate, continuation: continuation)
            lock.unlock()
        }
    }

    /// Waits for an entry whose message contains `fragment`.
    public func waitForMessage(containing fragment: String, timeout: Duration = .seconds(5)) async -> Entry? {
        await waitForEntry(timeout: timeout) { $0.message.contains(fragment) }
    }

    private func allocateWaiterId() -> UInt64 {
        lock.lock()
        defer { lock.unlock() }
        nextWaiterId += 1
        return nextWaiterId
    }

    private func cancelWaiter(_ id: UInt64) {
        lock.lock()
        let waiter = waiters.removeValue(forKey: id)
        if waiter == nil { expiredWaiters.insert(id) }
        lock.unlock()
        waiter?.continuation.resume(returning: nil)
    }
}

/// The `LogHandler` that feeds a `LogCapture`.
public struct CapturingLogHandler: LogHandler {
    public let label: String
    public let capture: LogCapture
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .trace
    public var metadataProvider: Logger.MetadataProvider?

    public init(label: String, capture: LogCapture) {
        self.label = label
        self.capture = capture
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let merged = Logger.Metadata.merged(handler: metadata, provider: metadataProvider, event: event)
        capture.append(LogCapture.Entry(
            label: label, level: event.level, message: event.message.description, metadata: merged,
            errorDescription: event.error.map { String(describing: $0) }, source: event.source,
            file: event.file, function: event.function, line: event.line))
    }
}

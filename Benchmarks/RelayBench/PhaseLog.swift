import Logging
import Synchronization

/// The instants relayd logged its setup milestones at (lines 7–16 of the deployment's log
/// sequence): a log handler that keeps (message prefix, instant) for the setup-latency breakdown.
final class PhaseLog: Sendable {
    /// The milestones of one join, in the order they happen.
    static let milestones: [(prefix: String, label: String)] = [
        ("Created subscriber session", "sessions/new"),
        ("Successfully subscribed", "tracks/new+renegotiate"),
        ("Relay established", "UDP driver up"),
        ("Received video track", "first picture"),
        ("RTMP relay started successfully", "RTMP publishing"),
    ]

    private let marks = Mutex<[(String, ContinuousClock.Instant)]>([])

    var logger: Logger { Logger(label: "relayd-bench-phases", factory: { [self] _ in Handler(log: self) }) }

    func reset() { marks.withLock { $0.removeAll() } }

    /// When each milestone was first logged since `reset`, nil for those not seen.
    func instants() -> [ContinuousClock.Instant?] {
        let all = marks.withLock { $0 }
        return Self.milestones.map { milestone in all.first { $0.0.hasPrefix(milestone.prefix) }?.1 }
    }

    fileprivate func record(_ message: String) {
        let now = ContinuousClock.now
        guard Self.milestones.contains(where: { message.hasPrefix($0.prefix) }) else { return }
        marks.withLock { $0.append((message, now)) }
    }

    private struct Handler: LogHandler {
        let log: PhaseLog
        var metadata: Logger.Metadata = [:]
        var metadataProvider: Logger.MetadataProvider?
        var logLevel: Logger.Level = .info

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) { log.record(event.message.description) }
    }
}

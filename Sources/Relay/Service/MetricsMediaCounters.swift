import Foundation

/// One guest's receive-side counters, as the media thread last published them. The pipelines
/// and `GuestMediaSession` are confined to the UDP driver's thread, so a scrape must not read
/// them directly: the media thread copies their counters here about once a second (and at the
/// end), and `/metrics` reads the copy.
struct GuestMediaCounters: Sendable, Equatable {
    var rtpPackets = 0
    var rtpBytes = 0
    var videoFrames = 0
    var audioFrames = 0
    var packetsLost = 0
    var nacksSent = 0
    var plisSent = 0
}

/// The hand-over point between the media thread (writer) and scrapes (readers).
/// @unchecked Sendable: `lock` guards `latest`.
final class PublishedMediaCounters: @unchecked Sendable {
    private let lock = NSLock()
    private var latest = GuestMediaCounters()

    func store(_ counters: GuestMediaCounters) { lock.withLock { latest = counters } }
    var value: GuestMediaCounters { lock.withLock { latest } }
}

extension GuestMediaSession {
    /// The counters as they stand; on the media thread only.
    var currentCounters: GuestMediaCounters {
        GuestMediaCounters(
            rtpPackets: packets, rtpBytes: bytesReceived,
            videoFrames: video?.stats.framesOut ?? 0,
            // One Opus frame per RTP packet (WebRTC sends 20 ms packets).
            audioFrames: audio?.stats.jitter.received ?? 0,
            packetsLost: (video?.stats.jitter.lost ?? 0) + (audio?.stats.jitter.lost ?? 0),
            nacksSent: nacksSent, plisSent: plisSent)
    }
}

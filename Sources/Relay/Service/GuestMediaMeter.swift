import Foundation

/// Measures one leg's incoming media for the status page: bitrate and frame rate over the last
/// two seconds, loss, feedback sent, the picture size. Fed on the UDP driver thread with every RTP
/// packet (counting only; a lock four times a second for the arrival time); once per window (2 s) it copies its figures into a snapshot that
/// other threads read under a lock — one lock per window, not per packet.
///
/// `@unchecked Sendable`: the counters below `lock` are touched only by the driver thread (the
/// one calling `received`); `published` and `lastPacket` only while holding `lock`.
final class GuestMediaMeter: @unchecked Sendable {
    struct Snapshot: Sendable, Equatable {
        /// Measured over the last window, kbit/s of RTP (headers included).
        var bitrateKbps: Int?
        /// Pictures the video pipeline put out per second over the last window.
        var framesPerSecond: Double?
        var width: Int?
        var height: Int?
        var packetsReceived = 0
        var packetsLost = 0
        var nacksSent = 0
        var plisSent = 0
        var videoFramesOut = 0
        /// How long the video jitter buffer holds packets now (ms).
        var jitterBufferDelayMs: Double?
        /// The guest's audio level as sent to MediaMTX (RMS dBFS of the last 100 ms).
        var audioLevelDBFS: Double?

        /// Lost / (received + lost), in percent; nil before any packet.
        var lossPercent: Double? {
            let total = packetsReceived + packetsLost
            guard total > 0 else { return nil }
            return (Double(packetsLost) * 1000 / Double(total)).rounded() / 10
        }
    }

    let window: Duration
    private let lock = NSLock()
    private var published = Snapshot()
    private var lastPacket: ContinuousClock.Instant?
    // Driver thread only.
    private var bytes = 0
    private var windowStart: ContinuousClock.Instant?
    private var framesAtWindowStart = 0
    private var lastPacketMark = ContinuousClock.now

    init(window: Duration = .seconds(2)) { self.window = window }

    /// When the last RTP packet arrived (nil: none yet on this leg).
    var lastMedia: ContinuousClock.Instant? { lock.withLock { lastPacket } }

    var snapshot: Snapshot { lock.withLock { published } }

    /// On the driver thread, per packet.
    func received(bytes count: Int, now: ContinuousClock.Instant, media: GuestMediaSession) {
        bytes += count
        guard let start = windowStart else {
            windowStart = now
            framesAtWindowStart = media.video?.stats.framesOut ?? 0
            lock.withLock { lastPacket = now }
            return
        }
        // The arrival time feeds the silence check: kept fresh to a quarter second.
        if now - lastPacketMark >= .milliseconds(250) {
            lastPacketMark = now
            lock.withLock { lastPacket = now }
        }
        let elapsed = now - start
        guard elapsed >= window else { return }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        var next = Snapshot()
        next.bitrateKbps = Int((Double(bytes) * 8 / 1000 / seconds).rounded())
        let frames = media.video?.stats.framesOut ?? 0
        if media.video != nil {
            next.framesPerSecond = (Double(frames - framesAtWindowStart) / seconds * 10).rounded() / 10
        }
        next.width = media.video?.stream?.width
        next.height = media.video?.stream?.height
        let videoJitter = media.video?.stats.jitter ?? JitterBuffer.Stats()
        let audioJitter = media.audio?.stats.jitter ?? JitterBuffer.Stats()
        next.packetsReceived = videoJitter.received + audioJitter.received
        next.packetsLost = videoJitter.lost + audioJitter.lost
        next.nacksSent = media.nacksSent
        next.plisSent = media.plisSent
        next.videoFramesOut = frames
        next.jitterBufferDelayMs = media.video?.stats.jitterBufferDelayMilliseconds
        next.audioLevelDBFS = media.audio.map { ($0.transcoderStats.levelDBFS * 10).rounded() / 10 }
        bytes = 0
        windowStart = now
        framesAtWindowStart = frames
        lock.withLock {
            published = next
            lastPacket = now
        }
    }
}

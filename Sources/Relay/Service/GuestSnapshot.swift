import Foundation

/// The operator page's thumbnail of one guest: the last keyframe relayd sent to MediaMTX,
/// decoded and shrunk to a JPEG `width` pixels wide, at most once per `interval`.
///
/// The media thread only hands over a keyframe it already has (one array copy every 2 s);
/// decoding, scaling and encoding run on a shared utility queue, so a thumbnail never delays
/// a guest's media. Output-side H.264 is used in both passthrough and transcode, so one path
/// serves every guest.
///
/// `@unchecked Sendable`: `lock` guards `latest`, `lastTaken`, `busy`, `spent`, `renders` and
/// `failure`; the renderer is used on `queue` only.
public final class GuestSnapshot: @unchecked Sendable {
    public struct Picture: Sendable {
        public let jpeg: [UInt8]
        public let size: VideoSize
        public let takenAt: Date
    }

    public static let defaultWidth = 320
    private static let queue = DispatchQueue(label: "relayd.snapshots", qos: .utility)

    public let interval: Duration
    private let lock = NSLock()
    private var latest: Picture?
    private var lastTaken: ContinuousClock.Instant?
    private var busy = false
    private var spent: Double = 0
    private var renders = 0
    private var failure: String?
    private let renderer: SnapshotRenderer

    public init(width: Int = GuestSnapshot.defaultWidth, interval: Duration = .seconds(2)) {
        self.interval = interval
        renderer = SnapshotRenderer(width: width)
    }

    /// The newest thumbnail, nil until the first keyframe was rendered.
    public var picture: Picture? { lock.withLock { latest } }
    /// Thread CPU seconds spent decoding and encoding thumbnails so far, and how many.
    public var cost: (cpuSeconds: Double, renders: Int) { lock.withLock { (spent, renders) } }
    /// Why the last render failed, if it did.
    public var lastFailure: String? { lock.withLock { failure } }

    /// Called for every access unit sent out; takes a keyframe when the last one is `interval`
    /// old and no render is running.
    public func offer(_ unit: H264AccessUnit, now: ContinuousClock.Instant) {
        guard unit.isKeyframe else { return }
        let take = lock.withLock {
            guard !busy, lastTaken.map({ now - $0 >= interval }) ?? true else { return false }
            busy = true
            lastTaken = now
            return true
        }
        guard take else { return }
        Self.queue.async { [self] in
            let started = Self.threadCPUSeconds()
            let result = Result { try renderer.render(unit) }
            let cost = Self.threadCPUSeconds() - started
            lock.withLock {
                busy = false
                spent += cost
                renders += 1
                switch result {
                case .success(let picture):
                    latest = picture
                    failure = nil
                case .failure(let error):
                    failure = "\(error)"
                }
            }
        }
    }

    /// Waits until every render queued so far has finished (tests, benchmarks).
    public func drain() { Self.queue.sync {} }

    static func threadCPUSeconds() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}

/// Keyframe → small JPEG. `@unchecked Sendable` because it is used on the serial snapshot queue
/// only (its libavcodec contexts are never touched from two threads).
final class SnapshotRenderer: @unchecked Sendable {
    private let width: Int
    private var decoder: AVVideoDecoder?
    private var scaler: FrameScaler?
    private var encoder: JPEGEncoder?

    init(width: Int) { self.width = width }

    func render(_ unit: H264AccessUnit) throws -> GuestSnapshot.Picture {
        let decoder = try decoder ?? AVVideoDecoder(codec: .h264)
        let scaler = try scaler ?? FrameScaler(width: width)
        let encoder = try encoder ?? JPEGEncoder()
        (self.decoder, self.scaler, self.encoder) = (decoder, scaler, encoder)
        var picture: GuestSnapshot.Picture?
        var failure: Error?
        let take: (DecodedPicture) -> Void = { decoded in
            guard picture == nil else { return }
            do {
                let small = try scaler.convert(decoded)
                picture = GuestSnapshot.Picture(jpeg: try encoder.encode(small), size: small.size, takenAt: Date())
            } catch { failure = error }
        }
        decoder.decode(.h264(unit), pts: 0, take)
        // Each snapshot is a lone keyframe: flush so a decoder holding it back lets it out,
        // and starts clean for the next one.
        decoder.flush(take)
        if let picture { return picture }
        throw failure ?? VideoEncoderError("the keyframe did not decode to a picture")
    }
}

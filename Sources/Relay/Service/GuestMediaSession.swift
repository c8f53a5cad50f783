import Foundation

/// One guest's media on the relay's side of the SFU connection: routes decrypted RTP by payload
/// type to the video and audio pipelines (RTX unwrapped to its original sequence number), keeps
/// RFC 3550 statistics per source (dropping sequence jumps too large to be loss), and produces
/// the RTCP the sender needs (NACK, PLI at start and after loss, REMB so the browser keeps its
/// bitrate up, a receiver report with a block per source about once a second). The guest's
/// Sender Reports (`handle(rtcp:now:)`) put both tracks on one timeline.
///
/// Confined to the UDP driver's thread: every call comes from that driver's event callback, so
/// no packet crosses an actor or a lock. (`@unchecked Sendable` only so the callback may hold it;
/// `figures` alone is read from other threads, under its own lock.)
final class GuestMediaSession: @unchecked Sendable {
    struct Routes {
        var videoPayloadType: Int?
        var videoRTXPayloadType: Int?
        var videoCodec: VideoReceivePipeline.InputCodec?
        var audioPayloadType: Int?
    }

    let routes: Routes
    let video: VideoReceivePipeline?
    let audio: AudioReceivePipeline?
    let sink: MediaSink
    /// Both tracks' output times, aligned by the guest's Sender Reports.
    let timeline = SharedMediaTimeline()
    private let localSSRC = UInt32.random(in: 1...UInt32.max)
    private var videoSource: ReceivedSource?
    private var audioSource: ReceivedSource?
    /// Sender Reports from sources not seen in RTP yet (a report can come first), by SSRC.
    private var earlyReports: [UInt32: (report: RTCPSenderReport, arrival: ContinuousClock.Instant)] = [:]
    private var droppedVideoPackets = 0
    /// The last video packet dropped as a sequence jump, kept in case the next one confirms it.
    private var suspectVideo: HeldPacket?
    private var droppedAudioPackets = 0
    private var senderReports = 0
    private var lastPLI: ContinuousClock.Instant?
    private var lastReport: ContinuousClock.Instant?
    /// Set from the RTMP thread when the output needs a keyframe (after a reconnect).
    private let keyframeWanted = AtomicFlag()
    private(set) var packets = 0
    private(set) var bytesReceived = 0
    /// Read by `/metrics` from other threads; refreshed once a second (with REMB) and at the end.
    let published = PublishedMediaCounters()
    private(set) var plisSent = 0
    private(set) var nacksSent = 0
    /// Guards `publishedFigures`: written on the media thread, read by the status page.
    private let figuresLock = NSLock()
    private var publishedFigures = MediaReceiveFigures()

    init(routes: Routes, video: VideoReceivePipeline?, audio: AudioReceivePipeline?, sink: MediaSink) {
        self.routes = routes
        self.video = video
        self.audio = audio
        self.sink = sink
        video?.timeline = timeline
        audio?.timeline = timeline
    }

    /// Thread-safe: the RTMP publisher asks for a keyframe from its own thread.
    func requestKeyframe() { keyframeWanted.set() }

    /// Thread-safe: the reception figures as of the last receiver report (about once a second).
    var figures: MediaReceiveFigures { figuresLock.withLock { publishedFigures } }

    /// Handles one RTP packet and returns the RTCP to send now.
    func handle(_ rtp: ReceivedRTP, now: ContinuousClock.Instant) -> [RTCPPacket] {
        packets += 1
        bytesReceived += rtp.bytes.count
        let header = rtp.header
        let payloadType = Int(header.payloadType)
        rtp.bytes.withUnsafeBytes { bytes in
            guard header.payloadRange.upperBound <= bytes.count else { return }
            let payload = UnsafeRawBufferPointer(rebasing: bytes[header.payloadRange])
            if payloadType == routes.videoPayloadType, let video {
                let restarts = videoSource?.statistics.restarts
                guard let sequence = accept(.video, header: header, now: now) else {
                    droppedVideoPackets += 1
                    suspectVideo = HeldPacket(sequence: header.sequenceNumber, timestamp: header.timestamp,
                                              marker: header.marker, payload: Array(payload))
                    return
                }
                timeline.timeline.observe(.video, rtpTimestamp: header.timestamp, arrival: now)
                if let held = suspectVideo, videoSource?.statistics.restarts != restarts, restarts != nil,
                   held.sequence == header.sequenceNumber &- 1, sequence > 0 {
                    // This packet confirmed the jump: the one held back starts the new numbering
                    // (often a keyframe's first packet, which the stream cannot do without).
                    droppedVideoPackets -= 1
                    video.receive(payload: held.payload, sequence: sequence - 1, timestamp: held.timestamp, marker: held.marker, arrival: now)
                }
                suspectVideo = nil
                video.receive(payload: payload, sequence: sequence, timestamp: header.timestamp, marker: header.marker, arrival: now)
            } else if payloadType == routes.videoRTXPayloadType, let video, payload.count > 2,
                      let original = header.rtxOriginalSequenceNumber(in: bytes) {
                // RTX: the original sequence number leads the payload; the rest is the packet.
                guard let sequence = videoSource?.accept(sequence: original, timestamp: header.timestamp, arrival: now,
                                                         retransmission: true) else {
                    droppedVideoPackets += 1
                    return
                }
                video.receive(payload: UnsafeRawBufferPointer(rebasing: payload[(payload.startIndex + 2)...]),
                              sequence: sequence, timestamp: header.timestamp, marker: header.marker, arrival: now)
            } else if payloadType == routes.audioPayloadType, let audio {
                guard let sequence = accept(.audio, header: header, now: now) else {
                    droppedAudioPackets += 1
                    return
                }
                timeline.timeline.observe(.audio, rtpTimestamp: header.timestamp, arrival: now)
                audio.receive(payload: payload, sequence: sequence, timestamp: header.timestamp, arrival: now)
            }
        }
        return tick(now: now)
    }

    /// Takes the RTCP the guest's sources sent (after SRTCP unprotect): Sender Reports place
    /// the tracks on one clock and are echoed in the receiver reports.
    func handle(rtcp packets: [RTCPPacket], now: ContinuousClock.Instant) {
        for case .senderReport(let report) in packets {
            if !apply(report, arrival: now) {
                if earlyReports.count >= 8 { earlyReports.removeAll() }  // bounded: sources we never saw
                earlyReports[report.ssrc] = (report, now)
            }
        }
    }

    /// Counts a packet on its track's source (a new SSRC starts a new source) and gives its
    /// extended sequence number, or nil when it must be dropped.
    private func accept(_ track: MediaTimeline.Track, header: RTPPacketView, now: ContinuousClock.Instant) -> UInt64? {
        var source = track == .video ? videoSource : audioSource
        let isNew = source?.ssrc != header.ssrc
        if isNew {
            source = ReceivedSource(ssrc: header.ssrc, clockRate: track == .video ? 90000 : 48000, after: source)
        }
        let sequence = source?.accept(sequence: header.sequenceNumber, timestamp: header.timestamp, arrival: now)
        if track == .video { videoSource = source } else { audioSource = source }
        if isNew, let early = earlyReports.removeValue(forKey: header.ssrc) { _ = apply(early.report, arrival: early.arrival) }
        return sequence
    }

    /// Applies a Sender Report to the track whose source sent it; false when none did.
    private func apply(_ report: RTCPSenderReport, arrival: ContinuousClock.Instant) -> Bool {
        let track: MediaTimeline.Track
        if report.ssrc == videoSource?.ssrc {
            videoSource?.senderReport(report, arrival: arrival)
            track = .video
        } else if report.ssrc == audioSource?.ssrc {
            audioSource?.senderReport(report, arrival: arrival)
            track = .audio
        } else {
            return false
        }
        senderReports += 1
        timeline.timeline.senderReport(track, ntpTimestamp: report.ntpTimestamp, rtpTimestamp: report.rtpTimestamp, arrival: arrival)
        return true
    }

    /// Lets buffered media leave and says what feedback is due. Runs on every packet, so
    /// deadlines are met to within one packet interval (audio arrives every 20 ms).
    func tick(now: ContinuousClock.Instant) -> [RTCPPacket] {
        video?.process(now: now, into: sink)
        audio?.process(now: now, into: sink)
        var feedback: [RTCPPacket] = []
        if let video, let ssrc = videoSource?.ssrc {
            let lost = video.nackList(now: now)
            if !lost.isEmpty {
                feedback.append(.genericNACK(RTCPGenericNACK(senderSSRC: localSSRC, mediaSSRC: ssrc,
                                                             lost: lost.map { UInt16(truncatingIfNeeded: $0) })))
                nacksSent += lost.count
            }
            if keyframeWanted.take() { video.requestKeyframe() }
            if video.takeKeyframeRequest() {
                // At most one PLI per 300 ms once pictures flow: the sender needs time to make the
                // keyframe. Before the first one, every 100 ms: a PLI sent while the SFU is still
                // setting up the route can be lost, and each retry gap adds to the join time.
                let gap: Duration = video.stats.keyframesOut == 0 ? .milliseconds(100) : .milliseconds(300)
                if lastPLI.map({ now - $0 >= gap }) ?? true {
                    feedback.append(.pictureLossIndication(RTCPPictureLossIndication(senderSSRC: localSSRC, mediaSSRC: ssrc)))
                    lastPLI = now
                    plisSent += 1
                } else {
                    video.requestKeyframe()  // keep the request for the next chance
                }
            }
        }
        if lastReport.map({ now - $0 >= .seconds(1) }) ?? true, let ssrc = videoSource?.ssrc ?? audioSource?.ssrc {
            // A generous estimate: the relay is on a LAN or a good uplink; without REMB Chrome
            // settles near 300 kbit/s.
            feedback.append(.receiverEstimatedMaxBitrate(RTCPReceiverEstimatedMaxBitrate(
                senderSSRC: localSSRC, bitrate: 4_000_000, ssrcs: [ssrc] + (videoSource != nil ? audioSource.map { [$0.ssrc] } ?? [] : []))))
            feedback.append(.receiverReport(receiverReport(now: now)))
            lastReport = now
            published.store(currentCounters)
        }
        return feedback
    }

    /// One report block per source (RFC 3550 §6.4.2), and a fresh snapshot for the status page.
    private func receiverReport(now: ContinuousClock.Instant) -> RTCPReceiverReport {
        var blocks: [RTCPReportBlock] = []
        var figures = MediaReceiveFigures()
        if var source = videoSource {
            blocks.append(source.reportBlock(now: now))
            figures.video = Self.figures(source, bufferDelay: video?.stats.jitterBufferDelayMilliseconds ?? 0,
                                         dropped: droppedVideoPackets)
            videoSource = source
        }
        if var source = audioSource {
            blocks.append(source.reportBlock(now: now))
            figures.audio = Self.figures(source, bufferDelay: audio?.stats.jitterBufferDelayMilliseconds ?? 0,
                                         dropped: droppedAudioPackets)
            audioSource = source
        }
        figures.packets = packets
        figures.nacksSent = nacksSent
        figures.plisSent = plisSent
        figures.senderReports = senderReports
        figuresLock.withLock { publishedFigures = figures }
        return RTCPReceiverReport(ssrc: localSSRC, reports: blocks)
    }

    private static func figures(_ source: ReceivedSource, bufferDelay: Double, dropped: Int) -> MediaReceiveFigures.Track {
        let statistics = source.statistics
        return MediaReceiveFigures.Track(
            ssrc: source.ssrc, packetsReceived: statistics.received, packetsLost: statistics.cumulativeLost,
            lossPercent: Double(statistics.lastFractionLost) * 100 / 256, jitterMilliseconds: statistics.jitterMilliseconds,
            jitterBufferDelayMilliseconds: bufferDelay, packetsDropped: dropped)
    }

    func finish() {
        audio?.finish(into: sink)
        published.store(currentCounters)
    }
}

/// A packet held back outside the jitter buffer.
struct HeldPacket {
    var sequence: UInt16
    var timestamp: UInt32
    var marker: Bool
    var payload: [UInt8]
}

/// A flag one thread sets and another takes.
final class AtomicFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false

    func set() { lock.withLock { value = true } }

    func take() -> Bool {
        lock.withLock {
            defer { value = false }
            return value
        }
    }
}

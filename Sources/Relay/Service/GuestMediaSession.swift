import Foundation

/// One guest's media on the relay's side of the SFU connection: routes decrypted RTP by payload
/// type to the video and audio pipelines (RTX unwrapped to its original sequence number), and
/// produces the RTCP the sender needs (NACK, PLI at start and after loss, REMB so the browser
/// keeps its bitrate up, receiver reports).
///
/// Confined to the UDP driver's thread: every call comes from that driver's event callback, so
/// no packet crosses an actor or a lock. (`@unchecked Sendable` only so the callback may hold it.)
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
    private let localSSRC = UInt32.random(in: 1...UInt32.max)
    private var videoSequences = RTPSequenceExtender()
    private var audioSequences = RTPSequenceExtender()
    private var videoSSRC: UInt32?
    private var audioSSRC: UInt32?
    private var lastPLI: ContinuousClock.Instant?
    private var lastREMB: ContinuousClock.Instant?
    /// Set from the RTMP thread when the output needs a keyframe (after a reconnect).
    private let keyframeWanted = AtomicFlag()
    private(set) var packets = 0
    private(set) var bytesReceived = 0
    /// Read by `/metrics` from other threads; refreshed once a second (with REMB) and at the end.
    let published = PublishedMediaCounters()
    private(set) var plisSent = 0
    private(set) var nacksSent = 0

    init(routes: Routes, video: VideoReceivePipeline?, audio: AudioReceivePipeline?, sink: MediaSink) {
        self.routes = routes
        self.video = video
        self.audio = audio
        self.sink = sink
    }

    /// Thread-safe: the RTMP publisher asks for a keyframe from its own thread.
    func requestKeyframe() { keyframeWanted.set() }

    /// Handles one RTP packet and returns the RTCP to send now.
    func handle(_ rtp: ReceivedRTP, now: ContinuousClock.Instant) -> [RTCPPacket] {
        packets += 1
        bytesReceived += rtp.bytes.count
        let header = rtp.header
        let payloadType = Int(header.payloadType)
        rtp.bytes.withUnsafeBytes { bytes in
            let payload = UnsafeRawBufferPointer(rebasing: bytes[header.payloadRange])
            if payloadType == routes.videoPayloadType, let video {
                videoSSRC = header.ssrc
                video.receive(payload: payload, sequence: UInt64(videoSequences.extend(header.sequenceNumber)),
                              timestamp: header.timestamp, marker: header.marker, arrival: now)
            } else if payloadType == routes.videoRTXPayloadType, let video, payload.count > 2,
                      let original = header.rtxOriginalSequenceNumber(in: bytes) {
                // RTX: the original sequence number leads the payload; the rest is the packet.
                video.receive(payload: UnsafeRawBufferPointer(rebasing: payload[(payload.startIndex + 2)...]),
                              sequence: UInt64(videoSequences.extend(original)), timestamp: header.timestamp,
                              marker: header.marker, arrival: now)
            } else if payloadType == routes.audioPayloadType, let audio {
                audioSSRC = header.ssrc
                audio.receive(payload: payload, sequence: UInt64(audioSequences.extend(header.sequenceNumber)),
                              timestamp: header.timestamp, arrival: now)
            }
        }
        return tick(now: now)
    }

    /// Lets buffered media leave and says what feedback is due. Runs on every packet, so
    /// deadlines are met to within one packet interval (audio arrives every 20 ms).
    func tick(now: ContinuousClock.Instant) -> [RTCPPacket] {
        video?.process(now: now, into: sink)
        audio?.process(now: now, into: sink)
        var feedback: [RTCPPacket] = []
        if let video, let ssrc = videoSSRC {
            let lost = video.nackList(now: now)
            if !lost.isEmpty {
                feedback.append(.genericNACK(RTCPGenericNACK(senderSSRC: localSSRC, mediaSSRC: ssrc,
                                                             lost: lost.map { UInt16(truncatingIfNeeded: $0) })))
                nacksSent += lost.count
            }
            if keyframeWanted.take() { video.requestKeyframe() }
            if video.takeKeyframeRequest() {
                // At most one PLI per 300 ms: the sender needs time to produce the keyframe.
                if lastPLI.map({ now - $0 >= .milliseconds(300) }) ?? true {
                    feedback.append(.pictureLossIndication(RTCPPictureLossIndication(senderSSRC: localSSRC, mediaSSRC: ssrc)))
                    lastPLI = now
                    plisSent += 1
                } else {
                    video.requestKeyframe()  // keep the request for the next chance
                }
            }
        }
        if lastREMB.map({ now - $0 >= .seconds(1) }) ?? true, let ssrc = videoSSRC ?? audioSSRC {
            // A generous estimate: the relay is on a LAN or a good uplink; without REMB Chrome
            // settles near 300 kbit/s.
            feedback.append(.receiverEstimatedMaxBitrate(RTCPReceiverEstimatedMaxBitrate(
                senderSSRC: localSSRC, bitrate: 4_000_000, ssrcs: [ssrc] + (audioSSRC.map { [$0] } ?? []))))
            feedback.append(.receiverReport(RTCPReceiverReport(ssrc: localSSRC)))
            lastREMB = now
            published.store(currentCounters)
        }
        return feedback
    }

    func finish() {
        audio?.finish(into: sink)
        published.store(currentCounters)
    }
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

import Foundation
import Relay

/// A published track played from a file, sans-IO: the file is read and packetized once at load,
/// then `packets(dueBy:)` hands out the RTP of every frame whose send time has come, looping
/// forever. Time is passed in; the driver decides when to call (its poll deadline is `nextDeadline`).
///
/// Video: H.264 Annex-B (one access unit per frame) or VP8 IVF, 30 fps, 90 kHz clock.
/// Audio: Ogg Opus, one packet per 20 ms, 48 kHz clock. Sequence numbers and timestamps carry on
/// across loops, so a receiver sees one endless stream.
struct FixtureMediaSource {
    struct LoadError: Error, CustomStringConvertible {
        var description: String
    }

    /// One frame's RTP payloads (the last carries the marker bit).
    private struct Frame {
        var payloads: [[UInt8]]
        var isKeyframe: Bool
    }

    let mid: String
    let kind: String
    let payloadType: UInt8
    let ssrc: UInt32
    let clockRate: Int
    /// RTP ticks between frames (3000 at 30 fps, 960 per 20 ms of Opus).
    let ticksPerFrame: UInt32
    let frameInterval: Duration
    private let frames: [Frame]
    private var index = 0
    private var sequenceNumber: UInt16
    private let firstTimestamp: UInt32
    private var framesSent: UInt64 = 0
    private(set) var nextDeadline: ContinuousClock.Instant
    private let start: ContinuousClock.Instant
    private(set) var packetCount: UInt32 = 0
    private(set) var octetCount: UInt32 = 0
    private(set) var keyframeRestarts = 0

    /// - Parameter path: `.h264` (Annex-B), `.ivf` (VP8) or `.ogg`/`.opus` (Ogg Opus).
    init(path: String, mid: String, ssrc: UInt32, start: ContinuousClock.Instant) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LoadError(description: "cannot read the fixture file \(path): check the path")
        }
        let bytes = [UInt8](data)
        var frames: [Frame] = []
        let lower = path.lowercased()
        if lower.hasSuffix(".ogg") || lower.hasSuffix(".opus") {
            let reader: OggOpusReader
            do { reader = try OggOpusReader(bytes) } catch {
                throw LoadError(description: "\(path) is not Ogg Opus: \(error)")
            }
            frames = reader.packets.map { Frame(payloads: [$0.data], isKeyframe: true) }
            kind = "audio"
            payloadType = 111
            clockRate = 48_000
            ticksPerFrame = 960
            frameInterval = .milliseconds(20)
        } else if lower.hasSuffix(".ivf") {
            let reader: IVFReader
            do { reader = try IVFReader(bytes) } catch {
                throw LoadError(description: "\(path) is not an IVF file: \(error)")
            }
            guard reader.fourCC.uppercased() == "VP80" else {
                throw LoadError(description: "\(path) holds \(reader.fourCC), only VP8 IVF is played")
            }
            var packetizer = VP8Packetizer()
            // VP8 keyframe: bit 0 of the first byte of the frame tag is 0 (RFC 6386 §9.1).
            frames = reader.frames.map { Frame(payloads: packetizer.payloads(for: $0.data),
                                               isKeyframe: ($0.data.first ?? 1) & 0x01 == 0) }
            kind = "video"
            payloadType = 96
            clockRate = 90_000
            ticksPerFrame = 3000
            frameInterval = .nanoseconds(33_333_333)
        } else {
            let packetizer = H264Packetizer()
            frames = AnnexB.accessUnits(bytes).map { units in
                Frame(payloads: packetizer.payloads(for: units),
                      isKeyframe: units.contains { ($0.first ?? 0) & 0x1F == 5 })
            }
            kind = "video"
            payloadType = 125
            clockRate = 90_000
            ticksPerFrame = 3000
            frameInterval = .nanoseconds(33_333_333)
        }
        guard !frames.isEmpty, frames.contains(where: { !$0.payloads.isEmpty }) else {
            throw LoadError(description: "\(path) holds no frames")
        }
        self.frames = frames
        self.mid = mid
        self.ssrc = ssrc
        self.start = start
        nextDeadline = start
        sequenceNumber = UInt16.random(in: 0...UInt16.max)
        firstTimestamp = UInt32.random(in: 0...UInt32.max)
    }

    /// The SFU's codec for this track (what subscribers are offered).
    var sdpCodec: SDPCodec {
        switch payloadType {
        case 111: .opus()
        case 96: .vp8()
        default: .h264()
        }
    }

    /// Appends the RTP packets of every frame due by `now` to `out` and advances. A driver that
    /// fell more than a second behind skips ahead instead of bursting.
    mutating func packets(dueBy now: ContinuousClock.Instant, into out: inout [[UInt8]]) {
        if now - nextDeadline > .seconds(1) {
            let behind = (now - nextDeadline) / frameInterval
            framesSent += UInt64(max(0, Int(behind)))
            nextDeadline = start + frameInterval * Double(framesSent)
        }
        while nextDeadline <= now {
            let frame = frames[index]
            let timestamp = firstTimestamp &+ UInt32(truncatingIfNeeded: framesSent &* UInt64(ticksPerFrame))
            for (position, payload) in frame.payloads.enumerated() {
                let packet = RTPPacketBuilder(marker: kind == "video" && position == frame.payloads.count - 1,
                                              payloadType: payloadType, sequenceNumber: sequenceNumber,
                                              timestamp: timestamp, ssrc: ssrc, payload: payload).serialize()
                sequenceNumber &+= 1
                packetCount &+= 1
                octetCount &+= UInt32(truncatingIfNeeded: payload.count)
                out.append(packet)
            }
            index = (index + 1) % frames.count
            framesSent += 1
            nextDeadline = start + frameInterval * Double(framesSent)
        }
    }

    /// A keyframe was asked for (PLI/FIR): play on from the next keyframe (the loop's first one
    /// when none follows), at the next frame time.
    mutating func restartFromKeyframe() {
        guard kind == "video", !frames[index].isKeyframe else { return }
        let count = frames.count
        for step in 1...count where frames[(index + step) % count].isKeyframe {
            index = (index + step) % count
            keyframeRestarts += 1
            return
        }
    }

    /// The RTP timestamp that corresponds to `now` on this track's clock (for Sender Reports).
    func rtpTimestamp(at now: ContinuousClock.Instant) -> UInt32 {
        let elapsed = now - start
        let (seconds, attoseconds) = elapsed.components
        let ticks = Int64(seconds) * Int64(clockRate) + Int64(Double(attoseconds) * 1e-18 * Double(clockRate))
        return firstTimestamp &+ UInt32(truncatingIfNeeded: ticks)
    }
}

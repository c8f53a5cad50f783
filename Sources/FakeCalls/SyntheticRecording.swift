import Foundation
import Relay

/// Recordings made from the repository's media files (Fixtures/media *.h264 / *.ivf at 30 fps,
/// Fixtures/audio *.ogg in 20 ms packets), in the layout real browser recordings have: the
/// datagrams of `video.pcap` / `audio.pcap` (RTP to port 5004, Sender Reports to 5005, capture
/// times). Tests write them to temp directories; the demo plays them directly when
/// Fixtures/rtp has no recording of a codec.
public enum SyntheticRecording {
    public struct Options: Sendable {
        public var payloadType: UInt8
        public var ssrc: UInt32
        /// Capture time of the first frame (µs since 1970); the sender's clock is the same clock.
        public var startMicros: UInt64
        /// Adds what Chrome's captures hold besides media: an RTX stream (`rtxPayloadType`) with a
        /// retransmission of every 25th packet and a few padding-only probes.
        public var rtxPayloadType: UInt8?
        public var rtxSSRC: UInt32
        /// One Sender Report per second (with the mapping of the capture clock).
        public var senderReports: Bool
        /// Capture-time lateness per packet, µs (deterministic pattern 0…jitter).
        public var captureJitterMicros: UInt64

        public init(payloadType: UInt8, ssrc: UInt32 = 0x1234_5678, startMicros: UInt64 = 1_700_000_000_000_000,
                    rtxPayloadType: UInt8? = nil, rtxSSRC: UInt32 = 0x8765_4321, senderReports: Bool = true,
                    captureJitterMicros: UInt64 = 0) {
            self.payloadType = payloadType
            self.ssrc = ssrc
            self.startMicros = startMicros
            self.rtxPayloadType = rtxPayloadType
            self.rtxSSRC = rtxSSRC
            self.senderReports = senderReports
            self.captureJitterMicros = captureJitterMicros
        }
    }

    /// The codec and per-frame RTP payloads of a media file, and the RTP ticks between frames.
    public static func payloads(ofMediaFile path: String) throws -> (codec: RecordedTrack.Codec, frames: [[[UInt8]]], frameTicks: Int64) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RecordedTrack.LoadError(description: "cannot read the media file \(path): check the path")
        }
        let bytes = [UInt8](data)
        let lower = path.lowercased()
        if lower.hasSuffix(".ogg") || lower.hasSuffix(".opus") {
            let reader: OggOpusReader
            do { reader = try OggOpusReader(bytes) } catch {
                throw RecordedTrack.LoadError(description: "\(path) is not Ogg Opus: \(error)")
            }
            return (.opus, reader.packets.map { [$0.data] }, 960)
        }
        if lower.hasSuffix(".ivf") {
            let reader: IVFReader
            do { reader = try IVFReader(bytes) } catch {
                throw RecordedTrack.LoadError(description: "\(path) is not an IVF file: \(error)")
            }
            var packetizer = VP8Packetizer()
            return (.vp8, reader.frames.map { packetizer.payloads(for: $0.data) }, 3000)
        }
        let packetizer = H264Packetizer()
        return (.h264, AnnexB.accessUnits(bytes).map { packetizer.payloads(for: $0) }, 3000)
    }

    /// The track a recording of this file would load as (no pcap in between).
    public static func track(ofMediaFile path: String) throws -> RecordedTrack {
        let (codec, frames, frameTicks) = try payloads(ofMediaFile: path)
        let frameNanos = MediaTime.nanos(ticks: frameTicks, rate: codec.clockRate)
        let origin: Int64 = 3_900_000_000 * 1_000_000_000
        return RecordedTrack(codec: codec, frames: frames.enumerated().map { index, payloads in
            RecordedTrack.Frame(rtpTimestamp: Int64(index) * frameTicks,
                                packets: payloads.enumerated().map { .init(marker: codec.kind == "video" && $0.offset == payloads.count - 1, payload: $0.element) },
                                isKeyframe: false, wallNanos: origin + Int64(index) * frameNanos)
        }, frameTicks: frameTicks)
    }

    /// The datagrams of a capture of this file as one browser track.
    public static func datagrams(ofMediaFile path: String, options: Options) throws -> [Pcap.Datagram] {
        let (codec, frames, frameTicks) = try payloads(ofMediaFile: path)
        let rate = UInt64(codec.clockRate)
        let firstTimestamp: UInt32 = 0xFFFF_0000  // wraps within the first second: exercises unwrapping
        var sequence: UInt16 = 0xFFF0
        var rtxSequence: UInt16 = 100
        var out: [Pcap.Datagram] = []
        var packetCount: UInt32 = 0, octetCount: UInt32 = 0
        var nextReport: UInt64 = 0
        var jitterStep: UInt64 = 0
        for (index, payloads) in frames.enumerated() {
            let ticks = UInt64(index) * UInt64(frameTicks)
            let micros = options.startMicros + ticks * 1_000_000 / rate
            let timestamp = firstTimestamp &+ UInt32(truncatingIfNeeded: ticks)
            if options.senderReports, micros >= nextReport {
                nextReport = micros + 1_000_000
                let seconds = micros / 1_000_000 + 2_208_988_800
                let fraction = (micros % 1_000_000) << 32 / 1_000_000
                let report = RTCPSenderReport(ssrc: options.ssrc, ntpTimestamp: seconds << 32 | fraction,
                                              rtpTimestamp: timestamp, packetCount: packetCount, octetCount: octetCount)
                out.append(Pcap.Datagram(timestampMicros: micros, sourcePort: 5005, destinationPort: 5005,
                                         payload: RTCPPacket.senderReport(report).serialize()))
            }
            if let rtx = options.rtxPayloadType, index == 1 {
                for _ in 0..<3 {  // padding-only probes, as Chrome sends while it ramps up
                    out.append(Pcap.Datagram(timestampMicros: micros, sourcePort: 5004, destinationPort: 5004, payload:
                        RTPPacketBuilder(payloadType: rtx, sequenceNumber: rtxSequence, timestamp: timestamp, ssrc: options.rtxSSRC,
                                         paddingLength: 200).serialize()))
                    rtxSequence &+= 1
                }
            }
            for (position, payload) in payloads.enumerated() {
                jitterStep = (jitterStep + 7) % 11
                let capture = micros + (options.captureJitterMicros * jitterStep) / 10
                let packet = RTPPacketBuilder(marker: codec.kind == "video" && position == payloads.count - 1,
                                              payloadType: options.payloadType, sequenceNumber: sequence,
                                              timestamp: timestamp, ssrc: options.ssrc, payload: payload).serialize()
                out.append(Pcap.Datagram(timestampMicros: capture, sourcePort: 5004, destinationPort: 5004, payload: packet))
                if let rtx = options.rtxPayloadType, sequence % 25 == 0 {
                    // A retransmission: the original sequence number, then the original payload.
                    let retransmission = RTPPacketBuilder(payloadType: rtx, sequenceNumber: rtxSequence, timestamp: timestamp,
                                                          ssrc: options.rtxSSRC,
                                                          payload: [UInt8(sequence >> 8), UInt8(sequence & 0xFF)] + payload)
                    out.append(Pcap.Datagram(timestampMicros: capture + 30_000, sourcePort: 5004, destinationPort: 5004,
                                             payload: retransmission.serialize()))
                    rtxSequence &+= 1
                }
                sequence &+= 1
                packetCount &+= 1
                octetCount &+= UInt32(payload.count)
            }
        }
        return out.sorted { $0.timestampMicros < $1.timestampMicros }
    }
}

import Relay

/// One track of a recorded browser publish (Fixtures/rtp/<name>/video.pcap or audio.pcap), read
/// once into frames a `RecordedRTPPlayer` can replay.
///
/// A capture holds the publisher's decrypted RTP to UDP port 5004 (the media SSRC and maybe its
/// RTX stream) and its decrypted RTCP to port 5005, with capture times. Kept: the media packets'
/// payloads and marker bits, in sequence order, grouped into frames by RTP timestamp; dropped:
/// RTX (retransmissions and padding probes), duplicates, header extensions and padding (an SFU
/// writes its own headers per subscriber).
///
/// Every frame also gets a time on the sender's clock (`wallNanos`, nanoseconds since 1900), so
/// the audio and video of one recording can be lined up as they were captured: from the first
/// Sender Report when the capture has one (the browser's own RTP↔NTP mapping), else from the
/// capture times (the least-delayed packet gives the offset).
public struct RecordedTrack: Sendable {
    public enum Codec: String, Sendable, Equatable, CaseIterable {
        case h264 = "H264"
        case vp8 = "VP8"
        case opus = "opus"

        public var kind: String { self == .opus ? "audio" : "video" }
        public var clockRate: Int { self == .opus ? 48_000 : 90_000 }

        /// The codec an SDP rtpmap names, if one this player understands.
        public init?(sdpName: String) {
            switch sdpName.lowercased() {
            case "h264": self = .h264
            case "vp8": self = .vp8
            case "opus": self = .opus
            default: return nil
            }
        }
    }

    public struct LoadError: Error, CustomStringConvertible, Equatable {
        public var description: String
    }

    /// One RTP packet's worth of a frame.
    public struct Packet: Sendable, Equatable {
        public var marker: Bool
        public var payload: [UInt8]

        public init(marker: Bool, payload: [UInt8]) {
            self.marker = marker
            self.payload = payload
        }
    }

    public struct Frame: Sendable, Equatable {
        /// The recorded RTP timestamp, unwrapped (never goes back across a 32-bit wrap).
        public var rtpTimestamp: Int64
        public var packets: [Packet]
        /// H.264: an IDR with SPS and PPS in the same access unit; VP8: a key frame; audio: always.
        public var isKeyframe: Bool
        /// When the sender sampled this frame, on its NTP clock (ns since 1900): from its Sender
        /// Report when the capture has one, else `captureWallNanos`.
        public var wallNanos: Int64
        /// The same from the capture times (the recorder's clock, ns since 1900).
        public var captureWallNanos: Int64

        public init(rtpTimestamp: Int64, packets: [Packet], isKeyframe: Bool, wallNanos: Int64, captureWallNanos: Int64? = nil) {
            self.rtpTimestamp = rtpTimestamp
            self.packets = packets
            self.isKeyframe = isKeyframe
            self.wallNanos = wallNanos
            self.captureWallNanos = captureWallNanos ?? wallNanos
        }
    }

    public let codec: Codec
    public let frames: [Frame]
    /// The recorded media SSRC and payload type (informational: playback uses its own).
    public let recordedSSRC: UInt32
    public let recordedPayloadType: UInt8
    /// RTP ticks between frames (the median step: 3000 at 30 fps, 960 for 20 ms Opus).
    public let frameTicks: Int64
    /// True when `wallNanos` came from a Sender Report rather than capture times.
    public let clockFromSenderReport: Bool

    public var clockRate: Int { codec.clockRate }
    public var keyframeCount: Int { frames.lazy.filter(\.isKeyframe).count }

    /// - Parameters:
    ///   - datagrams: the capture's UDP datagrams (`Pcap.datagrams(in:)`).
    ///   - mediaPayloadTypes: the payload types of `codec` in the recording's offer (empty: any
    ///     type not in `rtxPayloadTypes`); `rtxPayloadTypes` are dropped.
    public init(datagrams: [Pcap.Datagram], codec: Codec, mediaPayloadTypes: Set<UInt8> = [],
                rtxPayloadTypes: Set<UInt8> = [], rtpPort: UInt16 = 5004, rtcpPort: UInt16 = 5005) throws {
        struct Parsed {
            var ssrc: UInt32
            var payloadType: UInt8
            var sequence: UInt16
            var timestamp: UInt32
            var marker: Bool
            var payload: [UInt8]
            var captureMicros: UInt64
        }
        var parsed: [Parsed] = []
        var reports: [(ssrc: UInt32, report: RTCPSenderReport)] = []
        for datagram in datagrams {
            if datagram.destinationPort == rtpPort {
                guard let view = try? RTPPacketView.parse(datagram.payload), view.payloadLength > 0 else { continue }
                if rtxPayloadTypes.contains(view.payloadType) { continue }
                if !mediaPayloadTypes.isEmpty && !mediaPayloadTypes.contains(view.payloadType) { continue }
                parsed.append(Parsed(ssrc: view.ssrc, payloadType: view.payloadType, sequence: view.sequenceNumber,
                                     timestamp: view.timestamp, marker: view.marker,
                                     payload: Array(datagram.payload[view.payloadRange]),
                                     captureMicros: datagram.timestampMicros))
            } else if datagram.destinationPort == rtcpPort {
                guard let packets = try? RTCPCompound.parse(datagram.payload) else { continue }
                for case .senderReport(let report) in packets { reports.append((report.ssrc, report)) }
            }
        }
        // The media stream is the (SSRC, payload type) with the most packets that carry data:
        // RTX padding probes were dropped above, retransmissions are few.
        var counts: [UInt64: Int] = [:]
        for packet in parsed { counts[UInt64(packet.ssrc) << 8 | UInt64(packet.payloadType), default: 0] += 1 }
        guard let best = counts.max(by: { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) })?.key else {
            throw LoadError(description: "the capture holds no \(codec.rawValue) RTP to port \(rtpPort): check it is the decrypted media of one track")
        }
        let ssrc = UInt32(best >> 8), payloadType = UInt8(best & 0xFF)
        var media = parsed.filter { $0.ssrc == ssrc && $0.payloadType == payloadType }

        // Unwrap sequence numbers and timestamps in capture order, then sort and deduplicate.
        var sequenceUnwrapper = Unwrapper(bits: 16)
        var timestampUnwrapper = Unwrapper(bits: 32)
        var keyed: [(sequence: Int64, timestamp: Int64, index: Int)] = []
        for (index, packet) in media.enumerated() {
            keyed.append((sequenceUnwrapper.unwrap(UInt64(packet.sequence)),
                          timestampUnwrapper.unwrap(UInt64(packet.timestamp)), index))
        }
        keyed.sort { $0.sequence < $1.sequence }
        var frames: [Frame] = []
        var captureOffsets: [Int64] = []  // capture time − media time, per packet (ns)
        var lastSequence: Int64?
        var current: (timestamp: Int64, packets: [Packet])?
        func closeFrame() {
            guard let frame = current, !frame.packets.isEmpty else { return }
            frames.append(Frame(rtpTimestamp: frame.timestamp, packets: frame.packets,
                                isKeyframe: Self.isKeyframe(frame.packets, codec: codec), wallNanos: 0, captureWallNanos: 0))
        }
        for entry in keyed {
            if entry.sequence == lastSequence { continue }
            lastSequence = entry.sequence
            let packet = media[entry.index]
            if current?.timestamp != entry.timestamp {
                closeFrame()
                current = (entry.timestamp, [])
            }
            current?.packets.append(Packet(marker: packet.marker, payload: packet.payload))
            captureOffsets.append(Int64(packet.captureMicros) * 1000 - MediaTime.nanos(ticks: entry.timestamp, rate: codec.clockRate))
        }
        closeFrame()
        media.removeAll()
        guard !frames.isEmpty else { throw LoadError(description: "the capture holds no complete \(codec.rawValue) frame") }
        // Frames must play in timestamp order: drop any that went back (reordered whole frames).
        var ordered: [Frame] = []
        for frame in frames where frame.rtpTimestamp > (ordered.last?.rtpTimestamp ?? .min) { ordered.append(frame) }

        // The capture clock: the least-delayed packet gives the offset (1900 → 1970 is 2 208 988 800 s).
        let captureAnchor = (captureOffsets.min() ?? 0) + 2_208_988_800 * 1_000_000_000
        // The sender's clock: its first Sender Report, or the capture times.
        let anchorRTP: Int64
        let anchorWall: Int64
        if let report = reports.first(where: { $0.ssrc == ssrc })?.report {
            // The SR's 32-bit timestamp, placed next to the first frame's unwrapped one.
            let first = ordered[0].rtpTimestamp
            let delta = Int64(Int32(bitPattern: report.rtpTimestamp &- UInt32(truncatingIfNeeded: first)))
            anchorRTP = first + delta
            anchorWall = Self.nanos(ntp: report.ntpTimestamp)
            clockFromSenderReport = true
        } else {
            anchorRTP = 0
            anchorWall = captureAnchor
            clockFromSenderReport = false
        }
        for index in ordered.indices {
            ordered[index].wallNanos = anchorWall + MediaTime.nanos(ticks: ordered[index].rtpTimestamp - anchorRTP, rate: codec.clockRate)
            ordered[index].captureWallNanos = captureAnchor + MediaTime.nanos(ticks: ordered[index].rtpTimestamp, rate: codec.clockRate)
        }
        var steps = zip(ordered.dropFirst(), ordered).map { $0.rtpTimestamp - $1.rtpTimestamp }.filter { $0 > 0 }.sorted()
        if steps.isEmpty { steps = [codec == .opus ? 960 : 3000] }
        self.frames = ordered
        self.codec = codec
        recordedSSRC = ssrc
        recordedPayloadType = payloadType
        frameTicks = steps[steps.count / 2]
    }

    /// Frames made directly (synthetic recordings); `wallNanos` of each must be set.
    public init(codec: Codec, frames: [Frame], frameTicks: Int64, recordedSSRC: UInt32 = 0, recordedPayloadType: UInt8 = 0) {
        var frames = frames
        for index in frames.indices { frames[index].isKeyframe = Self.isKeyframe(frames[index].packets, codec: codec) }
        self.codec = codec
        self.frames = frames
        self.frameTicks = frameTicks
        self.recordedSSRC = recordedSSRC
        self.recordedPayloadType = recordedPayloadType
        clockFromSenderReport = false
    }

    static func nanos(ntp: UInt64) -> Int64 {
        let seconds = Int64(ntp >> 32)
        let fraction = Int64(ntp & 0xFFFF_FFFF)
        return seconds * 1_000_000_000 + (fraction * 1_000_000_000) >> 32
    }

    // MARK: Keyframes

    static func isKeyframe(_ packets: [Packet], codec: Codec) -> Bool {
        switch codec {
        case .opus: return true
        case .vp8: return packets.first.map { isVP8Keyframe($0.payload) } ?? false
        case .h264:
            var types = Set<UInt8>()
            for packet in packets { h264NALTypes(packet.payload, into: &types) }
            return types.contains(5) && types.contains(7) && types.contains(8)
        }
    }

    /// NAL unit types in one H.264 RTP payload (RFC 6184): single NAL, STAP-A, or the first
    /// fragment of an FU-A.
    static func h264NALTypes(_ payload: [UInt8], into types: inout Set<UInt8>) {
        guard let first = payload.first else { return }
        switch first & 0x1F {
        case 1...23:
            types.insert(first & 0x1F)
        case 24:
            var offset = 1
            while offset + 2 < payload.count {
                let size = Int(payload[offset]) << 8 | Int(payload[offset + 1])
                offset += 2
                guard size > 0, offset + size <= payload.count else { return }
                types.insert(payload[offset] & 0x1F)
                offset += size
            }
        case 28:
            if payload.count >= 2, payload[1] & 0x80 != 0 { types.insert(payload[1] & 0x1F) }
        default:
            break
        }
    }

    /// A VP8 payload (RFC 7741) that starts a key frame: S=1, partition 0, P bit of the frame tag 0.
    static func isVP8Keyframe(_ payload: [UInt8]) -> Bool {
        guard let first = payload.first, first & 0x10 != 0, first & 0x07 == 0 else { return false }
        var offset = 1
        if first & 0x80 != 0 {
            guard offset < payload.count else { return false }
            let extensions = payload[offset]
            offset += 1
            if extensions & 0x80 != 0 {
                guard offset < payload.count else { return false }
                offset += payload[offset] & 0x80 != 0 ? 2 : 1
            }
            if extensions & 0x40 != 0 { offset += 1 }
            if extensions & 0x30 != 0 { offset += 1 }
        }
        guard offset < payload.count else { return false }
        return payload[offset] & 0x01 == 0
    }
}

/// Extends wrapping counters (RTP sequence numbers, timestamps) to 64 bits in arrival order,
/// tolerating reordering of less than half the range.
struct Unwrapper {
    let bits: Int
    private var last: Int64?

    init(bits: Int) { self.bits = bits }

    mutating func unwrap(_ value: UInt64) -> Int64 {
        let range = Int64(1) << bits
        guard let last else {
            self.last = Int64(value)
            return Int64(value)
        }
        let lastLow = last & (range - 1)
        var delta = Int64(value) - lastLow
        if delta > range / 2 { delta -= range } else if delta < -range / 2 { delta += range }
        let unwrapped = last + delta
        if unwrapped > last { self.last = unwrapped }
        return unwrapped
    }
}

/// Nanoseconds ↔ RTP ticks without overflowing Int64 for long runs (rounded to nearest).
enum MediaTime {
    static func nanos(ticks: Int64, rate: Int) -> Int64 {
        let rate = Int64(rate)
        let (whole, rest) = ticks.quotientAndRemainder(dividingBy: rate)
        return whole * 1_000_000_000 + (rest * 1_000_000_000 + (rest >= 0 ? rate / 2 : -rate / 2)) / rate
    }

    static func ticks(nanos: Int64, rate: Int) -> Int64 {
        let (whole, rest) = nanos.quotientAndRemainder(dividingBy: 1_000_000_000)
        return whole * Int64(rate) + (rest * Int64(rate) + (rest >= 0 ? 500_000_000 : -500_000_000)) / 1_000_000_000
    }

    static func nanos(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}

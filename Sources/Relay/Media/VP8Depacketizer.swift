/// One VP8 frame reassembled from RTP.
public struct VP8Frame: Sendable, Equatable {
    public var rtpTimestamp: UInt32
    public var data: [UInt8]
    public var isKeyframe: Bool
    /// From the keyframe header; nil on inter frames.
    public var width: Int?
    public var height: Int?
}

/// Reassembles VP8 frames from RTP payloads (RFC 7741) arriving in sequence order. Like the
/// H.264 depacketizer it emits only frames a decoder can use, and asks for a keyframe after loss.
public struct VP8Depacketizer: Sendable {
    public let maxFrameBytes: Int
    public private(set) var stats = DepacketizerStats()
    public var keyframeNeeded: Bool { gate.keyframeNeeded }

    private var gate = DecodabilityGate()
    private var boundary = PictureBoundary()
    private var buffer: [UInt8] = []
    private var started = false
    private var corrupt = false
    private var oversized = false

    public init(maxFrameBytes: Int = 4 << 20) {
        self.maxFrameBytes = maxFrameBytes
        buffer.reserveCapacity(64 * 1024)
    }

    public mutating func takeKeyframeRequest() -> Bool { gate.takeKeyframeRequest() }

    /// Bytes of the frame being assembled (never more than `maxFrameBytes`).
    public var bufferedBytes: Int { buffer.count }

    public mutating func push(payload: UnsafeRawBufferPointer, timestamp: UInt32, sequence: UInt64, marker: Bool) -> VP8Frame? {
        let step = boundary.observe(sequence: sequence, timestamp: timestamp)
        var completed: VP8Frame?
        if step.finishesPrevious {
            if step.gap { corrupt = true }
            completed = finishFrame()
        }
        if step.gap { corrupt = true }
        boundary.begin(timestamp: timestamp)
        if let descriptor = VP8PayloadDescriptor(payload) {
            if descriptor.startsPicture {
                if started || !buffer.isEmpty { corrupt = true }  // two starts in one picture
                started = true
            } else if !started {
                corrupt = true  // the picture's first packet was lost
            }
            let data = UnsafeRawBufferPointer(rebasing: payload[descriptor.length...])
            if buffer.count + data.count > maxFrameBytes {
                oversized = true
                buffer.removeAll(keepingCapacity: true)
            } else if !oversized {
                buffer.append(contentsOf: data)
            }
        } else {
            stats.malformedPackets += 1
            corrupt = true
        }
        if marker {
            let finished = finishFrame()
            return completed ?? finished
        }
        return completed
    }

    public mutating func push(payload: [UInt8], timestamp: UInt32, sequence: UInt64, marker: Bool) -> VP8Frame? {
        payload.withUnsafeBytes { push(payload: $0, timestamp: timestamp, sequence: sequence, marker: marker) }
    }

    private mutating func finishFrame() -> VP8Frame? {
        defer {
            buffer.removeAll(keepingCapacity: true)
            boundary.end()
            started = false
            corrupt = false
            oversized = false
        }
        guard let timestamp = boundary.timestamp else { return nil }
        let header = VP8FrameHeader(buffer)
        let isKeyframe = header?.isKeyframe ?? false
        let verdict = gate.judge(corrupt: corrupt || header == nil, oversized: oversized, isKeyframe: isKeyframe,
                                 canStartDecoding: header?.width != nil, stats: &stats)
        guard verdict == .emit, let header else { return nil }
        return VP8Frame(rtpTimestamp: timestamp, data: buffer, isKeyframe: isKeyframe, width: header.width, height: header.height)
    }
}

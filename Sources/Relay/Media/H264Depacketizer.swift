/// Reassembles H.264 pictures from RTP payloads (RFC 6184: single NAL units, STAP-A, FU-A)
/// arriving in sequence order from the jitter buffer.
///
/// It only ever emits pictures a decoder can use: any loss inside a picture, a malformed
/// packet or an oversized picture drops that picture and every following one until the next
/// IDR with known SPS/PPS, and raises `keyframeNeeded` so the receiver can send a PLI.
public struct H264Depacketizer: Sendable {
    public let maxAccessUnitBytes: Int
    public private(set) var stats = DepacketizerStats()
    /// Set when the stream needs an IDR to continue; `takeKeyframeRequest()` clears it.
    public var keyframeNeeded: Bool { gate.keyframeNeeded }
    private var gate = DecodabilityGate()

    private var buffer: [UInt8] = []
    private var boundary = PictureBoundary()
    private var corrupt = false
    private var oversized = false
    private var fuLengthOffset: Int?
    private var hasIDR = false
    private var hasReference = false
    private var sps: [UInt8]?
    private var pps: [UInt8]?
    private var parameterSetsChanged = false

    public init(maxAccessUnitBytes: Int = 4 << 20) {
        self.maxAccessUnitBytes = maxAccessUnitBytes
        buffer.reserveCapacity(64 * 1024)
    }

    public mutating func takeKeyframeRequest() -> Bool { gate.takeKeyframeRequest() }

    /// Bytes of the picture being assembled (never more than `maxAccessUnitBytes`).
    public var bufferedBytes: Int { buffer.count }

    /// Feeds one RTP packet's payload. Returns the picture this packet completed, if any (on the
    /// marker bit, or the previous picture when the timestamp moves on without one).
    public mutating func push(payload: UnsafeRawBufferPointer, timestamp rtpTimestamp: UInt32,
                              sequence: UInt64, marker: Bool) -> H264AccessUnit? {
        // Any hole means lost data: the picture in progress (if the packets were its tail) and
        // the one starting now (its head, or a whole picture it depends on) are both damaged.
        let step = boundary.observe(sequence: sequence, timestamp: rtpTimestamp)
        var completed: H264AccessUnit?
        if step.finishesPrevious {
            if step.gap { corrupt = true }
            completed = finishPicture()
        }
        if step.gap { corrupt = true }
        boundary.begin(timestamp: rtpTimestamp)
        append(payload: payload)
        if marker {
            let finished = finishPicture()
            return completed ?? finished
        }
        return completed
    }

    public mutating func push(payload: [UInt8], timestamp: UInt32, sequence: UInt64, marker: Bool) -> H264AccessUnit? {
        payload.withUnsafeBytes { push(payload: $0, timestamp: timestamp, sequence: sequence, marker: marker) }
    }

    private mutating func append(payload: UnsafeRawBufferPointer) {
        guard let first = payload.first else {
            markMalformed()
            return
        }
        let type = H264NALType.of(first)
        switch type {
        case 1...23:
            fuLengthOffset.map { _ in markMalformed() }  // a FU-A never ended
            fuLengthOffset = nil
            appendNAL(UnsafeRawBufferPointer(rebasing: payload[...]))
        case H264NALType.stapA.rawValue:
            appendSTAPA(payload)
        case H264NALType.fuA.rawValue:
            appendFUA(payload)
        default:
            markMalformed()  // STAP-B, MTAP, FU-B: not used by browsers in packetization-mode 1
        }
    }

    private mutating func appendSTAPA(_ payload: UnsafeRawBufferPointer) {
        // Validate every length before copying anything, so a lying aggregate adds nothing.
        var offset = 1
        var units: [Range<Int>] = []
        while offset < payload.count {
            guard offset + 2 <= payload.count else { return markMalformed() }
            let length = Int(payload[offset]) << 8 | Int(payload[offset + 1])
            offset += 2
            guard length > 0, offset + length <= payload.count else { return markMalformed() }
            units.append(offset..<offset + length)
            offset += length
        }
        guard !units.isEmpty else { return markMalformed() }
        for range in units { appendNAL(UnsafeRawBufferPointer(rebasing: payload[range])) }
    }

    private mutating func appendFUA(_ payload: UnsafeRawBufferPointer) {
        guard payload.count >= 3 else { return markMalformed() }
        let indicator = payload[0], header = payload[1]
        let isStart = header & 0x80 != 0, isEnd = header & 0x40 != 0
        let nalHeader = (indicator & 0xE0) | (header & 0x1F)
        let fragment = UnsafeRawBufferPointer(rebasing: payload[2...])
        if isStart {
            if fuLengthOffset != nil { markMalformed() }
            guard reserve(4 + 1 + fragment.count) else { return }
            fuLengthOffset = buffer.count
            buffer.append(contentsOf: [0, 0, 0, 0, nalHeader])
            noteNALHeader(nalHeader)
        } else {
            guard fuLengthOffset != nil else {
                corrupt = true  // its start was lost
                return
            }
            guard reserve(fragment.count) else { return }
        }
        buffer.append(contentsOf: fragment)
        if isEnd, let offset = fuLengthOffset {
            writeLength(at: offset)
            fuLengthOffset = nil
        }
    }

    private mutating func appendNAL(_ nal: UnsafeRawBufferPointer) {
        guard let header = nal.first else { return markMalformed() }
        switch H264NALType.of(header) {
        case H264NALType.accessUnitDelimiter.rawValue:
            return  // FLV needs none; dropping keeps AVCC output minimal
        case H264NALType.sps.rawValue:
            if sps.map({ !$0.elementsEqual(nal) }) ?? true { parameterSetsChanged = true }
            sps = Array(nal)
        case H264NALType.pps.rawValue:
            if pps.map({ !$0.elementsEqual(nal) }) ?? true { parameterSetsChanged = true }
            pps = Array(nal)
        default:
            break
        }
        noteNALHeader(header)
        guard reserve(4 + nal.count) else { return }
        let count = UInt32(nal.count)
        buffer.append(contentsOf: [UInt8(count >> 24), UInt8(count >> 16 & 0xFF), UInt8(count >> 8 & 0xFF), UInt8(count & 0xFF)])
        buffer.append(contentsOf: nal)
    }

    private mutating func noteNALHeader(_ header: UInt8) {
        let type = H264NALType.of(header)
        if type == H264NALType.idrSlice.rawValue { hasIDR = true }
        if (type == 1 || type == 5), h264IsReference(header) { hasReference = true }
    }

    private mutating func reserve(_ extra: Int) -> Bool {
        if buffer.count + extra > maxAccessUnitBytes {
            oversized = true
            buffer.removeAll(keepingCapacity: true)
            fuLengthOffset = nil
            return false
        }
        return !oversized
    }

    private mutating func writeLength(at offset: Int) {
        let length = UInt32(buffer.count - offset - 4)
        buffer[offset] = UInt8(length >> 24)
        buffer[offset + 1] = UInt8(length >> 16 & 0xFF)
        buffer[offset + 2] = UInt8(length >> 8 & 0xFF)
        buffer[offset + 3] = UInt8(length & 0xFF)
    }

    private mutating func markMalformed() {
        stats.malformedPackets += 1
        corrupt = true
    }

    /// Ends the picture in progress and decides whether it may leave.
    private mutating func finishPicture() -> H264AccessUnit? {
        defer {
            buffer.removeAll(keepingCapacity: true)
            boundary.end()
            corrupt = false
            oversized = false
            fuLengthOffset = nil
            hasIDR = false
            hasReference = false
        }
        guard let rtpTimestamp = boundary.timestamp else { return nil }
        if fuLengthOffset != nil { corrupt = true }  // the FU-A's end was lost
        let verdict = gate.judge(corrupt: corrupt || buffer.isEmpty, oversized: oversized, isKeyframe: hasIDR,
                                 canStartDecoding: sps != nil && pps != nil, stats: &stats)
        guard verdict == .emit else { return nil }
        let unit = H264AccessUnit(rtpTimestamp: rtpTimestamp, avcc: buffer, isKeyframe: hasIDR,
                                  isReference: hasReference || hasIDR, sps: sps, pps: pps,
                                  parameterSetsChanged: parameterSetsChanged)
        parameterSetsChanged = false
        return unit
    }
}

/// Reassembles RTMP messages from chunks. Incremental: feed bytes in any slicing (one at a
/// time works) and get whole messages out. Bounded: message size and the number of chunk
/// streams holding partial messages are limited, so a hostile peer cannot make it hoard memory.
///
/// Set Chunk Size and Abort are applied by the reader itself (and still returned).
public struct RTMPChunkReader: Sendable {
    public struct Limits: Sendable {
        public var maxMessageSize = 8 << 20
        public var maxPartialStreams = 32
        public var maxChunkSize = 16 << 20
        public init() {}
    }

    public private(set) var chunkSize = 128
    public let limits: Limits

    private struct StreamState {
        var timestamp: UInt32 = 0
        var timestampDelta: UInt32 = 0
        var length: Int = 0
        var typeID: UInt8 = 0
        var messageStreamID: UInt32 = 0
        var extended = false
        var hasHeader = false
        var inProgress = false
    }
    private var streams: [UInt32: StreamState] = [:]
    /// Kept apart from the headers so appending happens in place (no copy per chunk).
    private var partials: [UInt32: [UInt8]] = [:]
    private var buffer: [UInt8] = []
    private var readOffset = 0

    public init(limits: Limits = Limits()) { self.limits = limits }

    /// The peer's Set Chunk Size. Sizes outside 1…limits.maxChunkSize are rejected.
    public mutating func setChunkSize(_ size: UInt32) throws(RTMPError) {
        let value = Int(size & 0x7FFF_FFFF)
        guard size & 0x8000_0000 == 0, value >= 1, value <= limits.maxChunkSize else {
            throw RTMPError(.badChunkSize, "peer asked for chunk size \(size); accepted range is 1…\(limits.maxChunkSize)")
        }
        chunkSize = value
    }

    /// The peer's Abort message: drop the partial message on that chunk stream.
    public mutating func abort(chunkStreamID: UInt32) {
        partials[chunkStreamID] = nil
        streams[chunkStreamID]?.inProgress = false
    }

    /// Appends bytes and returns every message they complete.
    public mutating func feed<C: Collection>(_ bytes: C) throws(RTMPError) -> [RTMPMessage] where C.Element == UInt8 {
        buffer.append(contentsOf: bytes)
        var messages: [RTMPMessage] = []
        while let parsed = try parseChunk() {
            guard let message = parsed else { continue }
            // Set Chunk Size and Abort change how the very next chunk is parsed, and that chunk
            // may already be buffered, so they are applied here rather than by the owner.
            if message.typeID == RTMPMessageType.setChunkSize, let size = RTMPControl.readBE32(message.payload) {
                try setChunkSize(size)
            } else if message.typeID == RTMPMessageType.abort, let csid = RTMPControl.readBE32(message.payload) {
                abort(chunkStreamID: csid)
            }
            messages.append(message)
        }
        if readOffset > 65536 || readOffset == buffer.count {
            buffer.removeFirst(readOffset)
            readOffset = 0
        }
        return messages
    }

    /// Parses one chunk from the buffer. Returns nil when more bytes are needed,
    /// `.some(nil)` for a chunk that didn't complete a message, `.some(message)` otherwise.
    private mutating func parseChunk() throws(RTMPError) -> RTMPMessage?? {
        var c = ByteCursor(buffer, offset: readOffset)
        guard let first = c.u8() else { return nil }
        let fmt = first >> 6
        var csid = UInt32(first & 0x3F)
        if csid == 0 {
            guard let b = c.u8() else { return nil }
            csid = 64 + UInt32(b)
        } else if csid == 1 {
            guard let lo = c.u8(), let hi = c.u8() else { return nil }
            csid = 64 + UInt32(lo) + UInt32(hi) * 256
        }
        var state = streams[csid] ?? StreamState()
        if fmt != 0 && !state.hasHeader {
            throw RTMPError(.badChunk, "chunk stream \(csid) starts with a fmt \(fmt) header that refers to a previous header it never sent")
        }
        var timeField: UInt32 = 0
        switch fmt {
        case 0, 1, 2:
            guard let t = c.u24() else { return nil }
            timeField = t
            if fmt <= 1 {
                guard let len = c.u24(), let type = c.u8() else { return nil }
                state.length = Int(len)
                state.typeID = type
            }
            if fmt == 0 {
                guard let b0 = c.u8(), let b1 = c.u8(), let b2 = c.u8(), let b3 = c.u8() else { return nil }
                state.messageStreamID = UInt32(b0) | UInt32(b1) << 8 | UInt32(b2) << 16 | UInt32(b3) << 24
            }
            state.extended = timeField == 0xFFFFFF
            if state.extended {
                guard let ext = c.u32() else { return nil }
                timeField = ext
            }
        default:
            // fmt 3 repeats the extended field when the header it continues had one.
            if state.extended {
                guard let ext = c.u32() else { return nil }
                timeField = ext
            }
        }

        let startsMessage = !state.inProgress
        if !startsMessage && fmt != 3 {
            throw RTMPError(.badChunk, "chunk stream \(csid) got a fmt \(fmt) header in the middle of a message (only fmt 3 may continue one)")
        }
        if startsMessage {
            guard state.length <= limits.maxMessageSize else {
                throw RTMPError(.messageTooLarge, "peer sent a \(state.length)-byte message; the limit is \(limits.maxMessageSize)")
            }
            let partialCount = partials.count
            if state.length > chunkSize && partialCount >= limits.maxPartialStreams {
                throw RTMPError(.badChunk, "peer interleaves more than \(limits.maxPartialStreams) partial messages")
            }
        }
        let have = partials[csid]?.count ?? 0
        let want = min(chunkSize, state.length - have)
        guard let data = c.take(want) else { return nil }

        // The whole chunk is available: commit.
        readOffset = c.offset
        if startsMessage {
            switch fmt {
            case 0: state.timestamp = timeField; state.timestampDelta = 0
            case 1, 2: state.timestampDelta = timeField; state.timestamp &+= timeField
            default:
                // fmt 3 starting a new message: same delta as before.
                if state.hasHeader { state.timestamp &+= state.timestampDelta }
            }
        }
        state.hasHeader = true
        if startsMessage && data.count >= state.length {
            // Single-chunk message: no reassembly buffer needed.
            state.inProgress = false
            streams[csid] = state
            return .some(RTMPMessage(chunkStreamID: csid, timestamp: state.timestamp, typeID: state.typeID,
                                     messageStreamID: state.messageStreamID, payload: Array(data)))
        }
        if startsMessage { partials[csid] = [] }
        partials[csid, default: []].append(contentsOf: data)
        if have + data.count >= state.length {
            let message = RTMPMessage(chunkStreamID: csid, timestamp: state.timestamp, typeID: state.typeID,
                                      messageStreamID: state.messageStreamID, payload: partials.removeValue(forKey: csid) ?? [])
            state.inProgress = false
            streams[csid] = state
            return .some(message)
        }
        state.inProgress = true
        streams[csid] = state
        return .some(nil)
    }
}

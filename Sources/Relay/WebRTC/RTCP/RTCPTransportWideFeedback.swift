/// Transport-wide congestion control feedback, RTPFB (PT 205) FMT 15
/// (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1): for each transport-wide sequence
/// number from the base, whether it arrived and its arrival time delta.
public struct RTCPTransportWideFeedback: Sendable, Equatable {
    public static let packetType: UInt8 = 205
    public static let format: UInt8 = 15
    /// Units of the receive deltas, in microseconds.
    public static let deltaUnitMicroseconds: Int64 = 250
    /// Units of the reference time, in microseconds.
    public static let referenceTimeUnitMicroseconds: Int64 = 64_000

    public enum Symbol: UInt8, Sendable, Equatable {
        case notReceived = 0
        /// Received; delta 0…255 (× 250 µs) in one byte.
        case smallDelta = 1
        /// Received; signed 16-bit delta (× 250 µs) in two bytes.
        case largeDelta = 2
    }

    public struct PacketStatus: Sendable, Equatable {
        public var sequenceNumber: UInt16
        public var symbol: Symbol
        /// Arrival delta to the previous received packet (the reference time for the first),
        /// in 250 µs units; nil when not received.
        public var delta: Int16?

        public init(sequenceNumber: UInt16, symbol: Symbol, delta: Int16?) {
            self.sequenceNumber = sequenceNumber
            self.symbol = symbol
            self.delta = delta
        }

        public static func notReceived(_ sequenceNumber: UInt16) -> PacketStatus {
            PacketStatus(sequenceNumber: sequenceNumber, symbol: .notReceived, delta: nil)
        }

        /// Picks the smallest symbol that carries `delta`.
        public static func received(_ sequenceNumber: UInt16, delta: Int16) -> PacketStatus {
            PacketStatus(sequenceNumber: sequenceNumber, symbol: (0...255).contains(delta) ? .smallDelta : .largeDelta, delta: delta)
        }
    }

    public var senderSSRC: UInt32
    public var mediaSSRC: UInt32
    public var baseSequenceNumber: UInt16
    /// Signed 24-bit, in units of 64 ms.
    public var referenceTime: Int32
    public var feedbackPacketCount: UInt8
    /// One entry per packet status, starting at baseSequenceNumber. Its count is the packet's
    /// "packet status count".
    public var packets: [PacketStatus]

    public init(
        senderSSRC: UInt32, mediaSSRC: UInt32, baseSequenceNumber: UInt16, referenceTime: Int32,
        feedbackPacketCount: UInt8, packets: [PacketStatus]
    ) {
        self.senderSSRC = senderSSRC
        self.mediaSSRC = mediaSSRC
        self.baseSequenceNumber = baseSequenceNumber
        self.referenceTime = referenceTime
        self.feedbackPacketCount = feedbackPacketCount
        self.packets = packets
    }

    public var packetStatusCount: Int { packets.count }

    static func parse(_ body: UnsafeRawBufferPointer) throws(RTCPParseError) -> RTCPTransportWideFeedback {
        guard body.count >= 16 else { throw .truncatedBody(packetType: packetType, needed: 16, available: body.count) }
        let base = RTPBytes.u16(body, 8)
        let statusCount = Int(RTPBytes.u16(body, 10))
        let reference = Int32(bitPattern: RTPBytes.u24(body, 12) << 8) >> 8
        let feedbackCount = body[15]

        // Packet chunks until every status is covered.
        var symbols: [UInt8] = []
        symbols.reserveCapacity(statusCount)
        var i = 16
        while symbols.count < statusCount {
            guard i + 2 <= body.count else {
                throw .malformed(packetType: packetType, reason: "TWCC chunks end after \(symbols.count) of \(statusCount) statuses")
            }
            let chunk = RTPBytes.u16(body, i)
            i += 2
            let remaining = statusCount - symbols.count
            if chunk & 0x8000 == 0 {
                let symbol = UInt8((chunk >> 13) & 0x03)
                let run = Int(chunk & 0x1FFF)
                symbols.append(contentsOf: repeatElement(symbol, count: min(run, remaining)))
            } else if chunk & 0x4000 == 0 {
                for bit in 0..<min(14, remaining) { symbols.append(UInt8((chunk >> (13 - bit)) & 0x01)) }
            } else {
                for slot in 0..<min(7, remaining) { symbols.append(UInt8((chunk >> (12 - 2 * slot)) & 0x03)) }
            }
        }

        var packets: [PacketStatus] = []
        packets.reserveCapacity(statusCount)
        for (index, raw) in symbols.enumerated() {
            let sequence = base &+ UInt16(truncatingIfNeeded: index)
            switch raw {
            case 0:
                packets.append(.notReceived(sequence))
            case 1:
                guard i + 1 <= body.count else { throw Self.deltasTruncated(at: index) }
                packets.append(PacketStatus(sequenceNumber: sequence, symbol: .smallDelta, delta: Int16(body[i])))
                i += 1
            case 2:
                guard i + 2 <= body.count else { throw Self.deltasTruncated(at: index) }
                let delta = Int16(bitPattern: RTPBytes.u16(body, i))
                packets.append(PacketStatus(sequenceNumber: sequence, symbol: .largeDelta, delta: delta))
                i += 2
            default:
                throw .malformed(packetType: packetType, reason: "TWCC status symbol 3 (reserved) for sequence \(sequence)")
            }
        }
        return RTCPTransportWideFeedback(
            senderSSRC: RTPBytes.u32(body, 0), mediaSSRC: RTPBytes.u32(body, 4), baseSequenceNumber: base,
            referenceTime: reference, feedbackPacketCount: feedbackCount, packets: packets
        )
    }

    private static func deltasTruncated(at index: Int) -> RTCPParseError {
        .malformed(packetType: packetType, reason: "TWCC receive deltas end at status \(index)")
    }

    /// Writes at most 65535 statuses. Chunks: run-length for runs of 14 or more, otherwise a
    /// one-bit vector when the next 14 fit it, else a two-bit vector of 7.
    public func write(to out: inout [UInt8]) {
        let statuses = packets.prefix(0xFFFF)
        let symbols = statuses.map(\.symbol.rawValue)
        RTCPWriter.packet(count: Self.format, type: Self.packetType, to: &out) { out in
            RTPBytes.append(senderSSRC, to: &out)
            RTPBytes.append(mediaSSRC, to: &out)
            RTPBytes.append(baseSequenceNumber, to: &out)
            RTPBytes.append(UInt16(symbols.count), to: &out)
            RTPBytes.append24(UInt32(bitPattern: referenceTime) & 0xFF_FFFF, to: &out)
            out.append(feedbackPacketCount)

            var i = 0
            while i < symbols.count {
                var run = 1
                while i + run < symbols.count, symbols[i + run] == symbols[i], run < 0x1FFF { run += 1 }
                if run >= 14 {
                    RTPBytes.append(UInt16(symbols[i]) << 13 | UInt16(run), to: &out)
                    i += run
                } else if symbols[i..<min(i + 14, symbols.count)].allSatisfy({ $0 <= 1 }) {
                    var chunk: UInt16 = 0x8000
                    for bit in 0..<min(14, symbols.count - i) { chunk |= UInt16(symbols[i + bit]) << (13 - bit) }
                    RTPBytes.append(chunk, to: &out)
                    i += 14
                } else {
                    var chunk: UInt16 = 0xC000
                    for slot in 0..<min(7, symbols.count - i) { chunk |= UInt16(symbols[i + slot]) << (12 - 2 * slot) }
                    RTPBytes.append(chunk, to: &out)
                    i += 7
                }
            }
            for status in statuses {
                switch status.symbol {
                case .notReceived: break
                case .smallDelta: out.append(UInt8(truncatingIfNeeded: status.delta ?? 0))
                case .largeDelta: RTPBytes.append(UInt16(bitPattern: status.delta ?? 0), to: &out)
                }
            }
        }
    }
}

/// One reception report block (RFC 3550 §6.4.1), carried in SR and RR.
public struct RTCPReportBlock: Sendable, Equatable {
    public static let byteLength = 24

    public var ssrc: UInt32
    /// Fraction lost since the previous report, as a fixed-point number /256.
    public var fractionLost: UInt8
    /// Cumulative packets lost: a signed 24-bit value (duplicates can make it negative).
    public var cumulativeLost: Int32
    public var extendedHighestSequence: UInt32
    public var jitter: UInt32
    /// The middle 32 bits of the last SR's NTP timestamp (0 when none was received).
    public var lastSenderReport: UInt32
    /// Delay since that SR, in units of 1/65536 s.
    public var delaySinceLastSenderReport: UInt32

    public init(
        ssrc: UInt32, fractionLost: UInt8, cumulativeLost: Int32, extendedHighestSequence: UInt32,
        jitter: UInt32, lastSenderReport: UInt32, delaySinceLastSenderReport: UInt32
    ) {
        self.ssrc = ssrc
        self.fractionLost = fractionLost
        self.cumulativeLost = cumulativeLost
        self.extendedHighestSequence = extendedHighestSequence
        self.jitter = jitter
        self.lastSenderReport = lastSenderReport
        self.delaySinceLastSenderReport = delaySinceLastSenderReport
    }

    static func parse(_ b: UnsafeRawBufferPointer, at i: Int) -> RTCPReportBlock {
        let lost24 = RTPBytes.u24(b, i + 5)
        // Sign-extend the 24-bit field.
        let cumulative = Int32(bitPattern: lost24 << 8) >> 8
        return RTCPReportBlock(
            ssrc: RTPBytes.u32(b, i),
            fractionLost: b[i + 4],
            cumulativeLost: cumulative,
            extendedHighestSequence: RTPBytes.u32(b, i + 8),
            jitter: RTPBytes.u32(b, i + 12),
            lastSenderReport: RTPBytes.u32(b, i + 16),
            delaySinceLastSenderReport: RTPBytes.u32(b, i + 20)
        )
    }

    func write(to out: inout [UInt8]) {
        RTPBytes.append(ssrc, to: &out)
        out.append(fractionLost)
        let clamped = min(max(cumulativeLost, -0x80_0000), 0x7F_FFFF)
        RTPBytes.append24(UInt32(bitPattern: clamped) & 0xFF_FFFF, to: &out)
        RTPBytes.append(extendedHighestSequence, to: &out)
        RTPBytes.append(jitter, to: &out)
        RTPBytes.append(lastSenderReport, to: &out)
        RTPBytes.append(delaySinceLastSenderReport, to: &out)
    }

    static func parseList(_ body: UnsafeRawBufferPointer, at start: Int, count: Int, type: UInt8)
        throws(RTCPParseError) -> [RTCPReportBlock]
    {
        let needed = start + count * byteLength
        guard needed <= body.count else { throw .truncatedBody(packetType: type, needed: needed, available: body.count) }
        return (0..<count).map { parse(body, at: start + $0 * byteLength) }
    }
}

/// Sender Report, PT 200 (RFC 3550 §6.4.1). Profile-specific extensions are ignored.
public struct RTCPSenderReport: Sendable, Equatable {
    public static let packetType: UInt8 = 200

    public var ssrc: UInt32
    /// 64-bit NTP timestamp: seconds since 1900 in the high word, fraction in the low word.
    public var ntpTimestamp: UInt64
    public var rtpTimestamp: UInt32
    public var packetCount: UInt32
    public var octetCount: UInt32
    public var reports: [RTCPReportBlock]

    public init(
        ssrc: UInt32, ntpTimestamp: UInt64, rtpTimestamp: UInt32, packetCount: UInt32, octetCount: UInt32,
        reports: [RTCPReportBlock] = []
    ) {
        self.ssrc = ssrc
        self.ntpTimestamp = ntpTimestamp
        self.rtpTimestamp = rtpTimestamp
        self.packetCount = packetCount
        self.octetCount = octetCount
        self.reports = reports
    }

    /// The middle 32 bits of the NTP timestamp: what a receiver echoes as LSR.
    public var compactNTP: UInt32 { UInt32(truncatingIfNeeded: ntpTimestamp >> 16) }

    static func parse(_ body: UnsafeRawBufferPointer, count: Int) throws(RTCPParseError) -> RTCPSenderReport {
        guard body.count >= 24 else { throw .truncatedBody(packetType: packetType, needed: 24, available: body.count) }
        return RTCPSenderReport(
            ssrc: RTPBytes.u32(body, 0),
            ntpTimestamp: RTPBytes.u64(body, 4),
            rtpTimestamp: RTPBytes.u32(body, 12),
            packetCount: RTPBytes.u32(body, 16),
            octetCount: RTPBytes.u32(body, 20),
            reports: try RTCPReportBlock.parseList(body, at: 24, count: count, type: packetType)
        )
    }

    /// Writes at most 31 report blocks (the count field's limit).
    public func write(to out: inout [UInt8]) {
        let blocks = reports.prefix(31)
        RTCPWriter.packet(count: UInt8(blocks.count), type: Self.packetType, to: &out) { out in
            RTPBytes.append(ssrc, to: &out)
            RTPBytes.append(ntpTimestamp, to: &out)
            RTPBytes.append(rtpTimestamp, to: &out)
            RTPBytes.append(packetCount, to: &out)
            RTPBytes.append(octetCount, to: &out)
            for block in blocks { block.write(to: &out) }
        }
    }
}

/// Receiver Report, PT 201 (RFC 3550 §6.4.2).
public struct RTCPReceiverReport: Sendable, Equatable {
    public static let packetType: UInt8 = 201

    public var ssrc: UInt32
    public var reports: [RTCPReportBlock]

    public init(ssrc: UInt32, reports: [RTCPReportBlock] = []) {
        self.ssrc = ssrc
        self.reports = reports
    }

    static func parse(_ body: UnsafeRawBufferPointer, count: Int) throws(RTCPParseError) -> RTCPReceiverReport {
        guard body.count >= 4 else { throw .truncatedBody(packetType: packetType, needed: 4, available: body.count) }
        return RTCPReceiverReport(
            ssrc: RTPBytes.u32(body, 0),
            reports: try RTCPReportBlock.parseList(body, at: 4, count: count, type: packetType)
        )
    }

    /// Writes at most 31 report blocks (the count field's limit).
    public func write(to out: inout [UInt8]) {
        let blocks = reports.prefix(31)
        RTCPWriter.packet(count: UInt8(blocks.count), type: Self.packetType, to: &out) { out in
            RTPBytes.append(ssrc, to: &out)
            for block in blocks { block.write(to: &out) }
        }
    }
}

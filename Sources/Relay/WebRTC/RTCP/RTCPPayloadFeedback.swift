/// Picture Loss Indication, PSFB (PT 206) FMT 1 (RFC 4585 §6.3.1): "send me a keyframe".
public struct RTCPPictureLossIndication: Sendable, Equatable {
    public static let packetType: UInt8 = 206
    public static let format: UInt8 = 1

    public var senderSSRC: UInt32
    public var mediaSSRC: UInt32

    public init(senderSSRC: UInt32, mediaSSRC: UInt32) {
        self.senderSSRC = senderSSRC
        self.mediaSSRC = mediaSSRC
    }

    static func parse(_ body: UnsafeRawBufferPointer) throws(RTCPParseError) -> RTCPPictureLossIndication {
        guard body.count >= 8 else { throw .truncatedBody(packetType: packetType, needed: 8, available: body.count) }
        return RTCPPictureLossIndication(senderSSRC: RTPBytes.u32(body, 0), mediaSSRC: RTPBytes.u32(body, 4))
    }

    public func write(to out: inout [UInt8]) {
        RTCPWriter.packet(count: Self.format, type: Self.packetType, to: &out) { out in
            RTPBytes.append(senderSSRC, to: &out)
            RTPBytes.append(mediaSSRC, to: &out)
        }
    }
}

/// Full Intra Request, PSFB (PT 206) FMT 4 (RFC 5104 §4.3.1). The media SSRC field is 0; the
/// targets are in the entries, each with a command sequence number that increments per new request.
public struct RTCPFullIntraRequest: Sendable, Equatable {
    public static let packetType: UInt8 = 206
    public static let format: UInt8 = 4

    public struct Entry: Sendable, Equatable {
        public var ssrc: UInt32
        public var sequenceNumber: UInt8

        public init(ssrc: UInt32, sequenceNumber: UInt8) {
            self.ssrc = ssrc
            self.sequenceNumber = sequenceNumber
        }
    }

    public var senderSSRC: UInt32
    public var mediaSSRC: UInt32
    public var entries: [Entry]

    public init(senderSSRC: UInt32, mediaSSRC: UInt32 = 0, entries: [Entry]) {
        self.senderSSRC = senderSSRC
        self.mediaSSRC = mediaSSRC
        self.entries = entries
    }

    static func parse(_ body: UnsafeRawBufferPointer) throws(RTCPParseError) -> RTCPFullIntraRequest {
        guard body.count >= 8 else { throw .truncatedBody(packetType: packetType, needed: 8, available: body.count) }
        let count = (body.count - 8) / 8
        let entries = (0..<count).map { Entry(ssrc: RTPBytes.u32(body, 8 + 8 * $0), sequenceNumber: body[12 + 8 * $0]) }
        return RTCPFullIntraRequest(senderSSRC: RTPBytes.u32(body, 0), mediaSSRC: RTPBytes.u32(body, 4), entries: entries)
    }

    public func write(to out: inout [UInt8]) {
        RTCPWriter.packet(count: Self.format, type: Self.packetType, to: &out) { out in
            RTPBytes.append(senderSSRC, to: &out)
            RTPBytes.append(mediaSSRC, to: &out)
            for entry in entries {
                RTPBytes.append(entry.ssrc, to: &out)
                out.append(entry.sequenceNumber)
                out.append(contentsOf: [0, 0, 0])
            }
        }
    }
}

/// Receiver Estimated Maximum Bitrate: application-layer feedback, PSFB (PT 206) FMT 15 with
/// the identifier "REMB" (draft-alvestrand-rmcat-remb). Browsers lower their send bitrate hard
/// without REMB or TWCC feedback.
public struct RTCPReceiverEstimatedMaxBitrate: Sendable, Equatable {
    public static let packetType: UInt8 = 206
    public static let format: UInt8 = 15
    static let identifier: [UInt8] = Array("REMB".utf8)

    public var senderSSRC: UInt32
    /// Bits per second. On the wire: an 18-bit mantissa times 2^(6-bit exponent), so large values
    /// are rounded down to 18 significant bits.
    public var bitrate: UInt64
    /// The media sources the estimate applies to.
    public var ssrcs: [UInt32]

    public init(senderSSRC: UInt32, bitrate: UInt64, ssrcs: [UInt32]) {
        self.senderSSRC = senderSSRC
        self.bitrate = bitrate
        self.ssrcs = ssrcs
    }

    /// The exponent and mantissa the bitrate is written as.
    public var wireExponentAndMantissa: (exponent: UInt8, mantissa: UInt32) {
        var exponent: UInt8 = 0
        var mantissa = bitrate
        while mantissa >= (1 << 18), exponent < 63 {
            mantissa >>= 1
            exponent += 1
        }
        return (exponent, UInt32(truncatingIfNeeded: min(mantissa, (1 << 18) - 1)))
    }

    /// Nil when the application-layer FB is not REMB (another ALFB message): not an error.
    static func parse(_ body: UnsafeRawBufferPointer) throws(RTCPParseError) -> RTCPReceiverEstimatedMaxBitrate? {
        guard body.count >= 12, body[8] == 0x52, body[9] == 0x45, body[10] == 0x4D, body[11] == 0x42 else {
            return nil
        }
        guard body.count >= 16 else { throw .truncatedBody(packetType: packetType, needed: 16, available: body.count) }
        let count = Int(body[12])
        let exponent = body[13] >> 2
        let mantissa = UInt64(body[13] & 0x03) << 16 | UInt64(RTPBytes.u16(body, 14))
        guard 16 + 4 * count <= body.count else {
            throw .truncatedBody(packetType: packetType, needed: 16 + 4 * count, available: body.count)
        }
        // A 6-bit exponent can shift an 18-bit mantissa past 64 bits: saturate instead of trapping.
        let bitrate = mantissa == 0 ? 0 : (exponent > 46 ? UInt64.max : mantissa << exponent)
        return RTCPReceiverEstimatedMaxBitrate(
            senderSSRC: RTPBytes.u32(body, 0),
            bitrate: bitrate,
            ssrcs: (0..<count).map { RTPBytes.u32(body, 16 + 4 * $0) }
        )
    }

    /// Writes at most 255 SSRCs.
    public func write(to out: inout [UInt8]) {
        let written = ssrcs.prefix(255)
        let (exponent, mantissa) = wireExponentAndMantissa
        RTCPWriter.packet(count: Self.format, type: Self.packetType, to: &out) { out in
            RTPBytes.append(senderSSRC, to: &out)
            RTPBytes.append(UInt32(0), to: &out)  // media SSRC: unused, always 0
            out.append(contentsOf: Self.identifier)
            out.append(UInt8(written.count))
            out.append(exponent << 2 | UInt8(truncatingIfNeeded: mantissa >> 16))
            RTPBytes.append(UInt16(truncatingIfNeeded: mantissa), to: &out)
            for ssrc in written { RTPBytes.append(ssrc, to: &out) }
        }
    }
}

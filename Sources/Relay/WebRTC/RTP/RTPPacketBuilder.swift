/// Builds RTP packets: FakeCalls' fixture playback and tests use it to make packets with
/// CSRCs, RFC 8285 header extensions and padding.
public struct RTPPacketBuilder: Sendable, Equatable {
    public var marker: Bool
    public var payloadType: UInt8
    public var sequenceNumber: UInt16
    public var timestamp: UInt32
    public var ssrc: UInt32
    public var csrcs: [UInt32]
    public var extensions: [RTPHeaderExtensionElement]
    /// nil picks one-byte when every element fits it (id 1–14, 1–16 bytes), else two-byte.
    public var extensionForm: RTPHeaderExtensionForm?
    public var payload: [UInt8]
    /// Padding bytes to append (0 = none). The last padding byte holds this count.
    public var paddingLength: UInt8

    public init(
        marker: Bool = false,
        payloadType: UInt8,
        sequenceNumber: UInt16,
        timestamp: UInt32,
        ssrc: UInt32,
        csrcs: [UInt32] = [],
        extensions: [RTPHeaderExtensionElement] = [],
        extensionForm: RTPHeaderExtensionForm? = nil,
        payload: [UInt8] = [],
        paddingLength: UInt8 = 0
    ) {
        self.marker = marker
        self.payloadType = payloadType
        self.sequenceNumber = sequenceNumber
        self.timestamp = timestamp
        self.ssrc = ssrc
        self.csrcs = csrcs
        self.extensions = extensions
        self.extensionForm = extensionForm
        self.payload = payload
        self.paddingLength = paddingLength
    }

    /// The form that will be written: the explicit one, or the smallest that fits.
    public var effectiveExtensionForm: RTPHeaderExtensionForm {
        if let extensionForm { return extensionForm }
        let fitsOneByte = extensions.allSatisfy { (1...14).contains($0.id) && (1...16).contains($0.data.count) }
        return fitsOneByte ? .oneByte : .twoByte
    }

    public func serialize() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(12 + 4 * csrcs.count + 64 + payload.count + Int(paddingLength))
        write(to: &out)
        return out
    }

    /// Appends the packet to `out`. Elements that don't fit the chosen form are truncated to
    /// what it can carry (ids are masked, lengths clamped); callers who care pick the form.
    public func write(to out: inout [UInt8]) {
        let csrcCount = min(csrcs.count, 15)
        var first: UInt8 = 0x80 | UInt8(csrcCount)
        if paddingLength > 0 { first |= 0x20 }
        if !extensions.isEmpty { first |= 0x10 }
        out.append(first)
        out.append((marker ? 0x80 : 0) | (payloadType & 0x7F))
        RTPBytes.append(sequenceNumber, to: &out)
        RTPBytes.append(timestamp, to: &out)
        RTPBytes.append(ssrc, to: &out)
        for csrc in csrcs.prefix(csrcCount) { RTPBytes.append(csrc, to: &out) }

        if !extensions.isEmpty { writeExtensions(to: &out) }

        out.append(contentsOf: payload)
        if paddingLength > 0 {
            out.append(contentsOf: repeatElement(0, count: Int(paddingLength) - 1))
            out.append(paddingLength)
        }
    }

    private func writeExtensions(to out: inout [UInt8]) {
        let form = effectiveExtensionForm
        let headerAt = out.count
        switch form {
        case .oneByte: RTPBytes.append(RTPHeaderExtensionForm.oneByteProfile, to: &out)
        case .twoByte: RTPBytes.append(RTPHeaderExtensionForm.twoByteProfile, to: &out)
        case .other(let profile): RTPBytes.append(profile, to: &out)
        }
        RTPBytes.append(UInt16(0), to: &out)  // length in words, patched below
        let start = out.count
        for element in extensions {
            switch form {
            case .oneByte:
                let data = element.data.isEmpty ? [0] : Array(element.data.prefix(16))
                out.append((element.id & 0x0F) << 4 | UInt8(data.count - 1))
                out.append(contentsOf: data)
            case .twoByte:
                let data = element.data.prefix(255)
                out.append(element.id)
                out.append(UInt8(data.count))
                out.append(contentsOf: data)
            case .other:
                out.append(contentsOf: element.data)  // opaque: the caller's bytes as they are
            }
        }
        while (out.count - start) % 4 != 0 { out.append(0) }
        let words = UInt16(truncatingIfNeeded: (out.count - start) / 4)
        RTPBytes.put(words, at: headerAt + 2, in: &out)
    }
}

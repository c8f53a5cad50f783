/// Why a datagram is not an RTP packet. Parsing never traps; it reports one of these.
public enum RTPParseError: Error, Sendable, Equatable, CustomStringConvertible {
    case tooShort(length: Int)
    case badVersion(UInt8)
    case truncatedCSRCs(count: Int, length: Int)
    case truncatedExtension(declaredBytes: Int, available: Int)
    case badPadding(paddingLength: Int, available: Int)

    public var description: String {
        switch self {
        case .tooShort(let length):
            return "RTP packet of \(length) bytes is shorter than the 12-byte fixed header"
        case .badVersion(let v):
            return "RTP version is \(v), expected 2 (is this really RTP? check the demux)"
        case .truncatedCSRCs(let count, let length):
            return "RTP header declares \(count) CSRCs but the packet has only \(length) bytes"
        case .truncatedExtension(let declared, let available):
            return "RTP header extension declares \(declared) bytes, only \(available) remain"
        case .badPadding(let padding, let available):
            return "RTP padding length \(padding) exceeds the \(available) bytes after the header"
        }
    }
}

/// The wire form of an RTP header extension block (RFC 8285).
public enum RTPHeaderExtensionForm: Sendable, Equatable {
    /// Profile 0xBEDE: ids 1–14, 1–16 bytes each.
    case oneByte
    /// Profile 0x100X: ids 1–255, 0–255 bytes each.
    case twoByte
    /// Any other profile (RFC 3550 opaque extension); elements cannot be looked up.
    case other(profile: UInt16)

    public static let oneByteProfile: UInt16 = 0xBEDE
    public static let twoByteProfile: UInt16 = 0x1000

    init(profile: UInt16) {
        if profile == Self.oneByteProfile {
            self = .oneByte
        } else if profile & 0xFFF0 == Self.twoByteProfile {
            self = .twoByte
        } else {
            self = .other(profile: profile)
        }
    }
}

/// A parsed RTP header (RFC 3550 §5.1) as values plus byte offsets into the packet it was parsed
/// from: nothing is copied, so keep the packet bytes alongside. Offsets count from the first
/// byte of the buffer given to `parse`.
public struct RTPPacketView: Sendable, Equatable {
    public static let fixedHeaderLength = 12

    public let hasPadding: Bool
    public let hasExtension: Bool
    public let csrcCount: Int
    public let marker: Bool
    public let payloadType: UInt8
    public let sequenceNumber: UInt16
    public let timestamp: UInt32
    public let ssrc: UInt32
    /// The extension profile (0xBEDE, 0x100X, …), or nil when the X bit is clear.
    public let extensionProfile: UInt16?
    /// The extension elements' bytes (after the 4-byte profile/length word); empty when none.
    public let extensionRange: Range<Int>
    /// The payload, excluding the header and any padding.
    public let payloadRange: Range<Int>
    /// Padding bytes at the end (the last byte's value when P is set, else 0).
    public let paddingLength: Int

    public var version: UInt8 { 2 }
    public var headerLength: Int { payloadRange.lowerBound }
    public var payloadLength: Int { payloadRange.count }
    public var extensionForm: RTPHeaderExtensionForm? {
        extensionProfile.map(RTPHeaderExtensionForm.init(profile:))
    }

    public static func parse(_ packet: [UInt8]) throws(RTPParseError) -> RTPPacketView {
        let result = packet.withUnsafeBytes { bytes in Result { () throws(RTPParseError) in try parse(bytes) } }
        return try result.get()
    }

    public static func parse(_ b: UnsafeRawBufferPointer) throws(RTPParseError) -> RTPPacketView {
        let length = b.count
        guard length >= fixedHeaderLength else { throw .tooShort(length: length) }
        let first = b[0]
        guard first >> 6 == 2 else { throw .badVersion(first >> 6) }
        let hasPadding = first & 0x20 != 0
        let hasExtension = first & 0x10 != 0
        let csrcCount = Int(first & 0x0F)
        var offset = fixedHeaderLength + 4 * csrcCount
        guard offset <= length else { throw .truncatedCSRCs(count: csrcCount, length: length) }

        var profile: UInt16?
        var extensionRange = offset..<offset
        if hasExtension {
            guard offset + 4 <= length else {
                throw .truncatedExtension(declaredBytes: 4, available: length - offset)
            }
            profile = RTPBytes.u16(b, offset)
            let words = Int(RTPBytes.u16(b, offset + 2))
            let start = offset + 4
            guard start + 4 * words <= length else {
                throw .truncatedExtension(declaredBytes: 4 + 4 * words, available: length - offset)
            }
            extensionRange = start..<(start + 4 * words)
            offset = extensionRange.upperBound
        }

        var padding = 0
        if hasPadding {
            padding = Int(b[length - 1])
            // A zero padding count is invalid (the count byte itself is padding).
            guard padding >= 1, offset + padding <= length else {
                throw .badPadding(paddingLength: padding, available: length - offset)
            }
        }

        let second = b[1]
        return RTPPacketView(
            hasPadding: hasPadding,
            hasExtension: hasExtension,
            csrcCount: csrcCount,
            marker: second & 0x80 != 0,
            payloadType: second & 0x7F,
            sequenceNumber: RTPBytes.u16(b, 2),
            timestamp: RTPBytes.u32(b, 4),
            ssrc: RTPBytes.u32(b, 8),
            extensionProfile: profile,
            extensionRange: extensionRange,
            payloadRange: offset..<(length - padding),
            paddingLength: padding
        )
    }

    // MARK: CSRCs

    /// The CSRC at `index` (0..<csrcCount) from the packet this view was parsed from.
    public func csrc(at index: Int, in packet: UnsafeRawBufferPointer) -> UInt32? {
        let at = Self.fixedHeaderLength + 4 * index
        guard index >= 0, index < csrcCount, at + 4 <= packet.count else { return nil }
        return RTPBytes.u32(packet, at)
    }

    public func csrcs(in packet: [UInt8]) -> [UInt32] {
        packet.withUnsafeBytes { b in (0..<csrcCount).compactMap { csrc(at: $0, in: b) } }
    }

    // MARK: Header extension elements (RFC 8285)

    /// Calls `body` with each extension element's id and the range of its data in the packet.
    /// Stops quietly at a malformed element (a length running past the block).
    public func forEachExtensionElement(in packet: UnsafeRawBufferPointer, _ body: (UInt8, Range<Int>) -> Void) {
        guard let form = extensionForm, extensionRange.upperBound <= packet.count else { return }
        var i = extensionRange.lowerBound
        let end = extensionRange.upperBound
        switch form {
        case .oneByte:
            while i < end {
                let byte = packet[i]
                if byte == 0 { i += 1; continue }  // padding between elements
                let id = byte >> 4
                if id == 15 { return }  // reserved: stop processing (RFC 8285 §4.2)
                let dataLength = Int(byte & 0x0F) + 1
                let data = (i + 1)..<(i + 1 + dataLength)
                guard data.upperBound <= end else { return }
                body(id, data)
                i = data.upperBound
            }
        case .twoByte:
            while i < end {
                let id = packet[i]
                if id == 0 { i += 1; continue }
                guard i + 1 < end else { return }
                let dataLength = Int(packet[i + 1])
                let data = (i + 2)..<(i + 2 + dataLength)
                guard data.upperBound <= end else { return }
                body(id, data)
                i = data.upperBound
            }
        case .other:
            return
        }
    }

    /// The data range of the first extension element with `id`, or nil.
    public func extensionElement(id: UInt8, in packet: UnsafeRawBufferPointer) -> Range<Int>? {
        var found: Range<Int>?
        forEachExtensionElement(in: packet) { elementID, range in
            if found == nil, elementID == id { found = range }
        }
        return found
    }

    public func extensionElement(id: UInt8, in packet: [UInt8]) -> [UInt8]? {
        let range = packet.withUnsafeBytes { extensionElement(id: id, in: $0) }
        return range.map { Array(packet[$0]) }
    }

    /// Every element as (id, data), in wire order. Allocates; for tests and diagnostics.
    public func extensionElements(in packet: [UInt8]) -> [RTPHeaderExtensionElement] {
        var elements: [RTPHeaderExtensionElement] = []
        packet.withUnsafeBytes { b in
            forEachExtensionElement(in: b) { id, range in
                elements.append(RTPHeaderExtensionElement(id: id, data: Array(b[range])))
            }
        }
        return elements
    }

    // MARK: RTX (RFC 4588)

    /// For a packet on an RTX stream: the original sequence number carried in the first two
    /// payload bytes, or nil when the payload is shorter than that (an RTX padding probe).
    public func rtxOriginalSequenceNumber(in packet: UnsafeRawBufferPointer) -> UInt16? {
        guard payloadRange.count >= 2, payloadRange.upperBound <= packet.count else { return nil }
        return RTPBytes.u16(packet, payloadRange.lowerBound)
    }

    public func rtxOriginalSequenceNumber(in packet: [UInt8]) -> UInt16? {
        packet.withUnsafeBytes { rtxOriginalSequenceNumber(in: $0) }
    }

    // MARK: In-place rewrite (an SFU mapping SSRC, payload type and sequence numbers)

    /// Overwrites fixed-header fields in place; nil leaves a field as it is. Returns false
    /// (and changes nothing) when the packet is shorter than the fixed header.
    @discardableResult
    public static func rewriteHeader(
        of packet: inout [UInt8],
        payloadType: UInt8? = nil,
        sequenceNumber: UInt16? = nil,
        timestamp: UInt32? = nil,
        ssrc: UInt32? = nil
    ) -> Bool {
        guard packet.count >= fixedHeaderLength else { return false }
        if let payloadType { packet[1] = (packet[1] & 0x80) | (payloadType & 0x7F) }
        if let sequenceNumber { RTPBytes.put(sequenceNumber, at: 2, in: &packet) }
        if let timestamp { RTPBytes.put(timestamp, at: 4, in: &packet) }
        if let ssrc { RTPBytes.put(ssrc, at: 8, in: &packet) }
        return true
    }
}

/// One RFC 8285 header extension element.
public struct RTPHeaderExtensionElement: Sendable, Equatable {
    public var id: UInt8
    public var data: [UInt8]

    public init(id: UInt8, data: [UInt8]) {
        self.id = id
        self.data = data
    }
}

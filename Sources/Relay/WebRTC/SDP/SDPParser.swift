extension SDP {
    /// Largest SDP accepted (a browser offer with simulcast is ~6 KiB).
    public static let maxBytes = 64 * 1024
    /// Most m-lines accepted.
    public static let maxMediaSections = 64

    /// Parses raw bytes, refusing non-UTF-8 input before looking at it as text.
    public static func parse(bytes: [UInt8]) throws(SDPError) -> SDP {
        if bytes.count > maxBytes { throw .tooLarge(bytes: bytes.count, limit: maxBytes) }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw .notUTF8 }
        return try parse(text)
    }

    /// Lenient parse: LF or CRLF, blank lines and surrounding spaces/tabs ignored, unknown lines
    /// and attributes kept in order. Bounded by `maxBytes` and `maxMediaSections`.
    public static func parse(_ text: String) throws(SDPError) -> SDP {
        let size = text.utf8.count
        if size > maxBytes { throw .tooLarge(bytes: size, limit: maxBytes) }

        var sessionLines: [SDPLine] = []
        var mediaSections: [SDPMediaSection] = []
        var sawVersion = false
        var lineNumber = 0

        for rawLine in text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            guard let line = trimmed(rawLine) else { continue }
            let bytes = Array(line)
            if let bad = bytes.first(where: { $0 < 0x20 && $0 != 0x09 || $0 == 0x7F }) {
                throw .malformedLine(line: lineNumber, reason: "control character 0x\(String(bad, radix: 16))")
            }
            guard bytes.count >= 2, bytes[1] == UInt8(ascii: "="), isLetter(bytes[0]) else {
                throw .malformedLine(line: lineNumber, reason: "expected <letter>=<value>")
            }
            let type = Character(Unicode.Scalar(bytes[0]))
            let value = String(decoding: bytes[2...], as: UTF8.self)

            if !sawVersion {
                guard type == "v" else {
                    throw .malformedLine(line: lineNumber, reason: "SDP must start with v=0")
                }
                sawVersion = true
            }

            switch type {
            case "m":
                if mediaSections.count == maxMediaSections {
                    throw .tooManyMediaSections(count: mediaSections.count + 1, limit: maxMediaSections)
                }
                let mediaLine = try parseMediaLine(value, lineNumber: lineNumber)
                mediaSections.append(SDPMediaSection(mediaLine: mediaLine, lines: []))
            case "a":
                let parsed = SDPLine.attribute(parseAttribute(value))
                if mediaSections.isEmpty {
                    sessionLines.append(parsed)
                } else {
                    mediaSections[mediaSections.count - 1].lines.append(parsed)
                }
            default:
                let parsed = SDPLine.field(type: type, value: value)
                if mediaSections.isEmpty {
                    sessionLines.append(parsed)
                } else {
                    mediaSections[mediaSections.count - 1].lines.append(parsed)
                }
            }
        }
        if !sawVersion { throw .empty }
        return SDP(sessionLines: sessionLines, mediaSections: mediaSections)
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
    }

    /// The line without surrounding spaces, tabs and CR; nil if nothing is left.
    private static func trimmed(_ line: Substring.UTF8View.SubSequence) -> Substring.UTF8View.SubSequence? {
        let blank: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
        guard let start = line.firstIndex(where: { !blank($0) }),
              let end = line.lastIndex(where: { !blank($0) }) else { return nil }
        return line[start...end]
    }

    static func parseAttribute(_ value: String) -> SDPAttribute {
        guard let colon = value.firstIndex(of: ":") else { return SDPAttribute(name: value, value: nil) }
        return SDPAttribute(name: String(value[..<colon]), value: String(value[value.index(after: colon)...]))
    }

    private static func parseMediaLine(_ value: String, lineNumber: Int) throws(SDPError) -> SDPMediaLine {
        let parts = value.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard parts.count >= 3 else {
            throw .malformedLine(line: lineNumber, reason: "m-line needs <media> <port> <proto> <formats>")
        }
        let portParts = parts[1].split(separator: "/", omittingEmptySubsequences: false)
        guard let port = Int(portParts[0]), (0...65535).contains(port), portParts.count <= 2 else {
            throw .malformedLine(line: lineNumber, reason: "m-line port '\(parts[1])' is not a number 0-65535")
        }
        var portCount: Int?
        if portParts.count == 2 {
            guard let count = Int(portParts[1]), count > 0, count < 65536 else {
                throw .malformedLine(line: lineNumber, reason: "m-line port count '\(parts[1])' is invalid")
            }
            portCount = count
        }
        return SDPMediaLine(media: parts[0], port: port, portCount: portCount, proto: parts[2],
                            formats: Array(parts.dropFirst(3)))
    }
}

/// AMF0 values as RTMP commands and FLV script tags carry them.
/// Objects and ECMA arrays keep their key order (servers and ffprobe show them in order).
public enum AMF0Value: Sendable, Equatable {
    case number(Double)
    case boolean(Bool)
    case string(String)
    case object([(String, AMF0Value)])
    case null
    case undefined
    case ecmaArray([(String, AMF0Value)])
    case strictArray([AMF0Value])
    /// Decoded for completeness, never emitted (several consumers mishandle it).
    case date(millisecondsSince1970: Double, timezoneMinutes: Int16)

    public static func == (lhs: AMF0Value, rhs: AMF0Value) -> Bool {
        switch (lhs, rhs) {
        case let (.number(a), .number(b)): return a == b || (a.isNaN && b.isNaN)
        case let (.boolean(a), .boolean(b)): return a == b
        case let (.string(a), .string(b)): return a == b
        case (.null, .null), (.undefined, .undefined): return true
        case let (.object(a), .object(b)), let (.ecmaArray(a), .ecmaArray(b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        case let (.strictArray(a), .strictArray(b)): return a == b
        case let (.date(a, za), .date(b, zb)): return a == b && za == zb
        default: return false
        }
    }

    /// The value under `key` for objects and ECMA arrays.
    public subscript(key: String) -> AMF0Value? {
        switch self {
        case .object(let pairs), .ecmaArray(let pairs): return pairs.first { $0.0 == key }?.1
        default: return nil
        }
    }

    public var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    public var numberValue: Double? { if case .number(let n) = self { n } else { nil } }
}

public struct AMF0Error: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case truncated, unknownMarker(UInt8), tooDeep, tooLarge, invalidUTF8, unsupportedForEncoding
    }
    public let kind: Kind
    public let offset: Int

    public var description: String {
        switch kind {
        case .truncated: "AMF0 data ends early at byte \(offset): the message was cut short or its length field is wrong"
        case .unknownMarker(let m): "AMF0 type marker 0x\(String(m, radix: 16)) at byte \(offset) is not supported (AMF3 or corrupt data?)"
        case .tooDeep: "AMF0 nesting deeper than the limit at byte \(offset): refusing possibly hostile input"
        case .tooLarge: "AMF0 value at byte \(offset) declares more elements or bytes than the limit"
        case .invalidUTF8: "AMF0 string at byte \(offset) is not valid UTF-8"
        case .unsupportedForEncoding: "AMF0 encoder refuses to emit this value (Date is never emitted)"
        }
    }
}

enum AMF0Marker {
    static let number: UInt8 = 0x00, boolean: UInt8 = 0x01, string: UInt8 = 0x02, object: UInt8 = 0x03
    static let null: UInt8 = 0x05, undefined: UInt8 = 0x06, ecmaArray: UInt8 = 0x08, objectEnd: UInt8 = 0x09
    static let strictArray: UInt8 = 0x0A, date: UInt8 = 0x0B, longString: UInt8 = 0x0C
}

public enum AMF0 {
    // MARK: encoding

    public static func encode(_ values: [AMF0Value]) -> [UInt8] {
        var out: [UInt8] = []
        for value in values { encode(value, into: &out) }
        return out
    }

    public static func encode(_ value: AMF0Value, into out: inout [UInt8]) {
        switch value {
        case .number(let n):
            out.append(AMF0Marker.number)
            let bits = n.bitPattern
            for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8((bits >> UInt64(shift)) & 0xFF)) }
        case .boolean(let b):
            out.append(AMF0Marker.boolean); out.append(b ? 1 : 0)
        case .string(let s):
            let utf8 = Array(s.utf8)
            if utf8.count <= 0xFFFF {
                out.append(AMF0Marker.string); out.appendBE16(UInt16(utf8.count))
            } else {
                out.append(AMF0Marker.longString); out.appendBE32(UInt32(truncatingIfNeeded: utf8.count))
            }
            out.append(contentsOf: utf8)
        case .object(let pairs):
            out.append(AMF0Marker.object)
            encodeProperties(pairs, into: &out)
        case .null: out.append(AMF0Marker.null)
        case .undefined: out.append(AMF0Marker.undefined)
        case .ecmaArray(let pairs):
            out.append(AMF0Marker.ecmaArray); out.appendBE32(UInt32(truncatingIfNeeded: pairs.count))
            encodeProperties(pairs, into: &out)
        case .strictArray(let items):
            out.append(AMF0Marker.strictArray); out.appendBE32(UInt32(truncatingIfNeeded: items.count))
            for item in items { encode(item, into: &out) }
        case .date:
            // Never emitted: several RTMP consumers choke on it. Null keeps the shape of the message.
            out.append(AMF0Marker.null)
        }
    }

    private static func encodeProperties(_ pairs: [(String, AMF0Value)], into out: inout [UInt8]) {
        for (key, value) in pairs {
            let utf8 = Array(key.utf8.prefix(0xFFFF))
            out.appendBE16(UInt16(utf8.count)); out.append(contentsOf: utf8)
            encode(value, into: &out)
        }
        out.appendBE16(0); out.append(AMF0Marker.objectEnd)
    }

    // MARK: decoding

    public struct Limits: Sendable {
        public var maxDepth = 16
        public var maxElements = 4096
        public init() {}
    }

    /// Decodes every value in `bytes`.
    public static func decodeAll(_ bytes: [UInt8], limits: Limits = Limits()) throws(AMF0Error) -> [AMF0Value] {
        var cursor = ByteCursor(bytes)
        var values: [AMF0Value] = []
        while cursor.remaining > 0 {
            values.append(try decodeValue(&cursor, depth: 0, limits: limits))
        }
        return values
    }

    static func decodeValue(_ c: inout ByteCursor, depth: Int, limits: Limits) throws(AMF0Error) -> AMF0Value {
        guard depth <= limits.maxDepth else { throw AMF0Error(kind: .tooDeep, offset: c.offset) }
        let start = c.offset
        guard let marker = c.u8() else { throw AMF0Error(kind: .truncated, offset: start) }
        switch marker {
        case AMF0Marker.number:
            guard let bits = c.u64() else { throw AMF0Error(kind: .truncated, offset: c.offset) }
            return .number(Double(bitPattern: bits))
        case AMF0Marker.boolean:
            guard let b = c.u8() else { throw AMF0Error(kind: .truncated, offset: c.offset) }
            return .boolean(b != 0)
        case AMF0Marker.string:
            guard let len = c.u16() else { throw AMF0Error(kind: .truncated, offset: c.offset) }
            return .string(try readString(&c, count: Int(len)))
        case AMF0Marker.longString:
            guard let len = c.u32() else { throw AMF0Error(kind: .truncated, offset: c.offset) }
            return .string(try readString(&c, count: Int(len)))
        case AMF0Marker.object:
            return .object(try readProperties(&c, depth: depth, limits: limits))
        case AMF0Marker.null: return .null
        case AMF0Marker.undefined: return .undefined
        case AMF0Marker.ecmaArray:
            // The count is only a hint (FFmpeg writes 0 sometimes); the end marker decides.
            guard c.u32() != nil else { throw AMF0Error(kind: .truncated, offset: c.offset) }
            return .ecmaArray(try readProperties(&c, depth: depth, limits: limits))
        case AMF0Marker.strictArray:
            guard let count = c.u32() else { throw AMF0Error(kind: .truncated, offset: c.offset) }
            // Each element is at least one byte: a count larger than what's left is a lie.
            guard Int(count) <= limits.maxElements else { throw AMF0Error(kind: .tooLarge, offset: start) }
            guard Int(count) <= c.remaining else { throw AMF0Error(kind: .truncated, offset: c.offset) }
            var items: [AMF0Value] = []
            items.reserveCapacity(Int(count))
            for _ in 0..<count { items.append(try decodeValue(&c, depth: depth + 1, limits: limits)) }
            return .strictArray(items)
        case AMF0Marker.date:
            guard let bits = c.u64(), let tz = c.u16() else { throw AMF0Error(kind: .truncated, offset: c.offset) }
            return .date(millisecondsSince1970: Double(bitPattern: bits), timezoneMinutes: Int16(bitPattern: tz))
        default:
            throw AMF0Error(kind: .unknownMarker(marker), offset: start)
        }
    }

    private static func readString(_ c: inout ByteCursor, count: Int) throws(AMF0Error) -> String {
        let at = c.offset
        guard let raw = c.take(count) else { throw AMF0Error(kind: .truncated, offset: at) }
        guard let s = String(validating: raw, as: UTF8.self) else { throw AMF0Error(kind: .invalidUTF8, offset: at) }
        return s
    }

    private static func readProperties(_ c: inout ByteCursor, depth: Int, limits: Limits) throws(AMF0Error) -> [(String, AMF0Value)] {
        var pairs: [(String, AMF0Value)] = []
        while true {
            guard let keyLength = c.u16() else { throw AMF0Error(kind: .truncated, offset: c.offset) }
            if keyLength == 0 {
                let at = c.offset
                guard let end = c.u8() else { throw AMF0Error(kind: .truncated, offset: at) }
                if end == AMF0Marker.objectEnd { return pairs }
                throw AMF0Error(kind: .unknownMarker(end), offset: at)
            }
            let key = try readString(&c, count: Int(keyLength))
            guard pairs.count < limits.maxElements else { throw AMF0Error(kind: .tooLarge, offset: c.offset) }
            pairs.append((key, try decodeValue(&c, depth: depth + 1, limits: limits)))
        }
    }
}

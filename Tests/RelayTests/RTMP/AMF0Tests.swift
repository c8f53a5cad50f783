import Testing
@testable import Relay

@Suite("AMF0")
struct AMF0Tests {
    static let sample: [AMF0Value] = [
        .string("connect"), .number(1),
        .object([("app", .string("live")), ("type", .string("nonprivate")), ("fpad", .boolean(false)),
                 ("nested", .object([("x", .number(-2.5)), ("list", .strictArray([.null, .undefined, .string("é")]))]))]),
        .null, .undefined, .boolean(true),
        .ecmaArray([("width", .number(1280)), ("stereo", .boolean(true))]),
        .strictArray([]),
        .string(String(repeating: "a", count: 70000)),  // long string
    ]

    @Test func roundTripsEveryEmittedType() throws {
        let bytes = AMF0.encode(Self.sample)
        #expect(try AMF0.decodeAll(bytes) == Self.sample)
    }

    @Test func longStringUsesLongMarker() {
        let bytes = AMF0.encode([.string(String(repeating: "b", count: 0x10000))])
        #expect(bytes.first == 0x0C)
        #expect(AMF0.encode([.string("hi")]) == [0x02, 0, 2, 0x68, 0x69])
    }

    @Test func numberEncodingIsBigEndianDouble() {
        #expect(AMF0.encode([.number(1)]) == [0, 0x3F, 0xF0, 0, 0, 0, 0, 0, 0])
    }

    @Test func decodesDateButNeverEmitsIt() throws {
        let date: [UInt8] = [0x0B, 0x42, 0x77, 0, 0, 0, 0, 0, 0, 0, 0]
        let values = try AMF0.decodeAll(date)
        guard case .date = values.first else { Issue.record("expected a date, got \(values)"); return }
        #expect(!AMF0.encode(values).contains(0x0B))
    }

    @Test func everyTruncationThrowsTruncated() {
        let bytes = AMF0.encode(Array(Self.sample.prefix(8)))
        for cut in 1..<bytes.count {
            do {
                let values = try AMF0.decodeAll(Array(bytes.prefix(cut)))
                // A cut exactly at a value boundary decodes fine, but never to the full list.
                #expect(values.count < 8)
            } catch {
                #expect(error.kind == .truncated, "cut at \(cut): \(error)")
            }
        }
    }

    @Test func depthAndSizeLimits() {
        var deep: [UInt8] = []
        for _ in 0..<100 { deep += [0x0A, 0, 0, 0, 1] }
        deep += [0x05]
        #expect(throws: AMF0Error.self) { try AMF0.decodeAll(deep) }
        let huge: [UInt8] = [0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x05]
        #expect(throws: AMF0Error.self) { try AMF0.decodeAll(huge) }
    }

    @Test func randomBytesNeverCrash() {
        var rng = SeededRandom(seed: 7)
        for _ in 0..<5000 {
            let n = Int.random(in: 0..<64, using: &rng)
            let bytes = (0..<n).map { _ in UInt8.random(in: 0...12, using: &rng) }
            _ = try? AMF0.decodeAll(bytes)
        }
    }
}

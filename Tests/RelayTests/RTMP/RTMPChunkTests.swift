import Testing
@testable import Relay

@Suite("RTMP chunk stream")
struct RTMPChunkTests {
    static func randomMessages(_ rng: inout SeededRandom, count: Int) -> [RTMPMessage] {
        var timestamps: [UInt32: UInt32] = [:]
        return (0..<count).map { _ in
            let csid: UInt32 = [3, 4, 6, 63, 64, 300, 319, 320, 5000, 65599].randomElement(using: &rng) ?? 3
            let size = Int.random(in: 0...9000, using: &rng)
            var ts = timestamps[csid, default: 0]
            switch Int.random(in: 0..<10, using: &rng) {
            case 0: ts = UInt32.random(in: 0...UInt32.max, using: &rng)  // jumps, also backwards
            case 1: ts &+= 0x0100_0000  // extended delta
            default: ts &+= UInt32.random(in: 0...100, using: &rng)
            }
            timestamps[csid] = ts
            return RTMPMessage(chunkStreamID: csid, timestamp: ts, typeID: [8, 9, 18, 20].randomElement(using: &rng) ?? 8,
                               messageStreamID: UInt32.random(in: 0...2, using: &rng),
                               payload: (0..<size).map { _ in UInt8.random(in: 0...255, using: &rng) })
        }
    }

    @Test(arguments: [1, 7, 128, 4096, 65536])
    func roundTripWithRandomSizesDripFed(chunkSize: Int) throws {
        var rng = SeededRandom(seed: UInt64(chunkSize))
        let messages = Self.randomMessages(&rng, count: 24)
        var writer = RTMPChunkWriter()
        var wire: [UInt8] = []
        writer.write(RTMPControl.setChunkSize(UInt32(chunkSize)), into: &wire)
        writer.setChunkSize(chunkSize)
        for m in messages { writer.write(m, into: &wire) }

        // One byte at a time, then in random slices: both must give the same messages.
        var reader = RTMPChunkReader()
        var got: [RTMPMessage] = []
        for b in wire { got += try reader.feed([b]) }
        #expect(got.dropFirst().map(\.payload) == messages.map(\.payload))
        #expect(Array(got.dropFirst()) == messages)

        var reader2 = RTMPChunkReader()
        var got2: [RTMPMessage] = []
        var i = 0
        while i < wire.count {
            let n = min(wire.count - i, Int.random(in: 1...9000, using: &rng))
            got2 += try reader2.feed(wire[i..<i + n])
            i += n
        }
        #expect(got2 == got)
    }

    @Test func extendedTimestampIsRepeatedOnContinuationChunks() throws {
        var writer = RTMPChunkWriter()
        let message = RTMPMessage(chunkStreamID: 6, timestamp: 0x0123_4567, typeID: 9, messageStreamID: 1, payload: Array(repeating: 0xAB, count: 300))
        let wire = writer.write(message)
        // fmt 0 header: 1 + 11 + 4 extended, 128 bytes, then (1 + 4) + 128, (1 + 4) + 44.
        #expect(wire.count == 16 + 128 + 5 + 128 + 5 + 44)
        #expect(Array(wire[1...3]) == [0xFF, 0xFF, 0xFF])
        #expect(Array(wire[12...15]) == [0x01, 0x23, 0x45, 0x67])
        #expect(wire[144] == 0xC6)
        #expect(Array(wire[145...148]) == [0x01, 0x23, 0x45, 0x67])
        var reader = RTMPChunkReader()
        #expect(try reader.feed(wire) == [message])
    }

    @Test func headerFormatsShrinkForFollowingMessages() {
        var writer = RTMPChunkWriter()
        let a = RTMPMessage(chunkStreamID: 4, timestamp: 0, typeID: 8, messageStreamID: 1, payload: [1, 2])
        var b = a; b.timestamp = 21
        var c = b; c.timestamp = 42; c.payload = [1, 2, 3]
        #expect(writer.write(a).first == 0x04)           // fmt 0
        #expect(writer.write(b).first == 0x84)           // fmt 2: same length and type
        #expect(writer.write(c).first == 0x44)           // fmt 1: length changed
        #expect(writer.write(c).count == 1 + 3 + 3)      // fmt 2 with delta 0
    }

    @Test func chunkSizeOutOfRangeIsRejected() {
        for size: UInt32 in [0, 0x8000_0000, 0x7FFF_FFFF] {
            var writer = RTMPChunkWriter()
            var wire: [UInt8] = []
            writer.write(RTMPControl.control(RTMPMessageType.setChunkSize, RTMPControl.be32(size)), into: &wire)
            var reader = RTMPChunkReader()
            #expect(throws: RTMPError.self) { try reader.feed(wire) }
        }
    }

    @Test func abortDropsThePartialMessage() throws {
        var writer = RTMPChunkWriter()
        let big = RTMPMessage(chunkStreamID: 6, timestamp: 0, typeID: 9, messageStreamID: 1, payload: Array(repeating: 1, count: 200))
        let wire = writer.write(big)
        var reader = RTMPChunkReader()
        #expect(try reader.feed(wire.prefix(1 + 11 + 128)).isEmpty)
        var control: [UInt8] = []
        writer.write(RTMPControl.control(RTMPMessageType.abort, RTMPControl.be32(6)), into: &control)
        _ = try reader.feed(control)
        let small = RTMPMessage(chunkStreamID: 6, timestamp: 5, typeID: 9, messageStreamID: 1, payload: [9])
        var w2 = RTMPChunkWriter()
        #expect(try reader.feed(w2.write(small)) == [small])
    }

    @Test func fmt3ForNewMessageReusesDelta() throws {
        var reader = RTMPChunkReader()
        // fmt 0 at ts 10, fmt 2 delta 5 → 15, then fmt 3 new message → 20.
        let wire: [UInt8] = [0x04, 0, 0, 10, 0, 0, 1, 8, 1, 0, 0, 0, 0xAA,
                             0x84, 0, 0, 5, 0xBB,
                             0xC4, 0xCC]
        let got = try reader.feed(wire)
        #expect(got.map(\.timestamp) == [10, 15, 20])
        #expect(got.map(\.payload) == [[0xAA], [0xBB], [0xCC]])
    }

    @Test func oversizedMessageAndOrphanHeadersAreErrors() {
        var reader = RTMPChunkReader()
        #expect(throws: RTMPError.self) { try reader.feed([0x44, 0, 0, 0, 0, 0, 1, 8]) }  // fmt 1 first
        var limits = RTMPChunkReader.Limits(); limits.maxMessageSize = 1000
        var small = RTMPChunkReader(limits: limits)
        #expect(throws: RTMPError.self) { try small.feed([0x04, 0, 0, 0, 0xFF, 0xFF, 0xFF, 8, 1, 0, 0, 0]) }
    }

    @Test func newHeaderInsideAMessageIsAnError() throws {
        var reader = RTMPChunkReader()
        // A 200-byte message's first chunk, then a fmt 0 header on the same chunk stream.
        let first: [UInt8] = [0x06, 0, 0, 0, 0, 0, 200, 9, 1, 0, 0, 0] + Array(repeating: 0, count: 128)
        #expect(try reader.feed(first).isEmpty)
        #expect(throws: RTMPError.self) { try reader.feed([0x06, 0, 0, 0, 0, 0, 10, 9, 1, 0, 0, 0]) }
    }

    @Test func randomGarbageNeverCrashes() {
        var rng = SeededRandom(seed: 99)
        for _ in 0..<2000 {
            var reader = RTMPChunkReader()
            let bytes = (0..<Int.random(in: 0..<300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            _ = try? reader.feed(bytes)
        }
    }

    @Test func acknowledgesWhenThePeerWindowIsPassed() throws {
        var server = RTMPChunkWriter()
        var wire: [UInt8] = []
        server.write(RTMPControl.windowAckSize(1000), into: &wire)
        server.write(RTMPMessage(chunkStreamID: 6, timestamp: 0, typeID: 9, messageStreamID: 1, payload: Array(repeating: 0, count: 1200)), into: &wire)
        server.write(RTMPControl.userControl(event: RTMPControl.UserControlEvent.pingRequest, value: 77), into: &wire)
        var layer = RTMPMessageLayer()
        var replies: [UInt8] = []
        let up = try layer.receive(wire, replies: &replies)
        #expect(up.count == 1)
        var reader = RTMPChunkReader()
        let sent = try reader.feed(replies)
        #expect(sent.map(\.typeID) == [RTMPMessageType.userControl, RTMPMessageType.acknowledgement])
        #expect(sent.first?.payload == [0, 7, 0, 0, 0, 77])
        #expect(RTMPControl.readBE32(sent[1].payload) == UInt32(wire.count))
    }
}

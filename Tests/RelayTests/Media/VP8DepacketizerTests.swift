import Foundation
import Testing
@testable import Relay

@Suite struct VP8DepacketizerTests {
    struct Packet {
        var payload: [UInt8]
        var timestamp: UInt32
        var sequence: UInt64
        var marker: Bool
        var frameIndex: Int
    }

    func fixture() throws -> (IVFReader, [Packet]) {
        let ivf = try IVFReader([UInt8](Data(contentsOf: FixturePaths.url("media/testsrc2-320x240-60f.ivf"))))
        var packetizer = VP8Packetizer(maxPayloadSize: 600, firstPictureId: 0x7FF0)  // wraps the PictureID too
        var packets: [Packet] = []
        var sequence: UInt64 = 65000
        for (index, frame) in ivf.frames.enumerated() {
            let payloads = packetizer.payloads(for: frame.data)
            for (n, payload) in payloads.enumerated() {
                packets.append(Packet(payload: payload, timestamp: UInt32(index * 3000), sequence: sequence,
                                      marker: n == payloads.count - 1, frameIndex: index))
                sequence += 1
            }
        }
        return (ivf, packets)
    }

    func run(_ packets: [Packet], _ depacketizer: inout VP8Depacketizer) -> [VP8Frame] {
        packets.compactMap { depacketizer.push(payload: $0.payload, timestamp: $0.timestamp, sequence: $0.sequence, marker: $0.marker) }
    }

    @Test func framesComeBackByteExact() throws {
        let (ivf, packets) = try fixture()
        #expect(ivf.fourCC == "VP80" && ivf.width == 320 && ivf.height == 240)
        #expect(ivf.frames.count == 60)
        #expect(packets.count > 60)
        var depacketizer = VP8Depacketizer()
        let frames = run(packets, &depacketizer)
        #expect(frames.map(\.data) == ivf.frames.map(\.data))
        #expect(frames.filter(\.isKeyframe).count == 2)
        #expect(frames.first?.width == 320 && frames.first?.height == 240)
    }

    @Test func aLostPacketDropsFramesUntilTheNextKeyframe() throws {
        let (_, all) = try fixture()
        var packets = all
        packets.remove(at: try #require(packets.firstIndex { $0.frameIndex == 12 }))
        var depacketizer = VP8Depacketizer()
        let frames = run(packets, &depacketizer)
        #expect(frames.map { Int($0.rtpTimestamp / 3000) } == Array(0..<12) + Array(30..<60))
        #expect(depacketizer.stats.framesDroppedAwaitingKeyframe == 17)
        #expect(depacketizer.stats.framesDroppedCorrupt == 1)
    }

    @Test func descriptorVariantsParse() {
        func parse(_ bytes: [UInt8]) -> VP8PayloadDescriptor? { bytes.withUnsafeBytes { VP8PayloadDescriptor($0) } }
        #expect(parse([0x10, 0xAA])?.length == 1)
        #expect(parse([0x90, 0x80, 0x05, 0xAA])?.pictureId == 5)
        #expect(parse([0x90, 0x80, 0x85, 0x01, 0xAA])?.pictureId == 0x0501)
        #expect(parse([0x90, 0xF0, 0x85, 0x01, 0x07, 0x20, 0xAA])?.length == 6)  // I, L, T, K
        #expect(parse([0x90, 0xF0, 0x85, 0x01, 0x07, 0x20]) == nil)  // no data after it
        #expect(parse([0x90]) == nil)
        #expect(parse([]) == nil)
    }

    @Test func randomPayloadsNeverCrash() {
        var rng = SeededRandom(seed: 0x78)
        var depacketizer = VP8Depacketizer(maxFrameBytes: 32 * 1024)
        for n in 0..<5000 {
            let payload = (0..<Int(rng.next() % 200)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            _ = depacketizer.push(payload: payload, timestamp: UInt32(n / 3), sequence: UInt64(n), marker: rng.next() % 3 == 0)
        }
        #expect(depacketizer.stats.malformedPackets + depacketizer.stats.framesDroppedCorrupt > 0)
    }

    @Test func truncatedIVFIsAnError() throws {
        let bytes = try [UInt8](Data(contentsOf: FixturePaths.url("media/testsrc2-320x240-60f.ivf")))
        #expect(throws: IVFReader.FormatError.self) { try IVFReader(Array(bytes.prefix(1000))) }
        #expect(throws: IVFReader.FormatError.self) { try IVFReader([1, 2, 3]) }
    }
}

import Foundation
import Testing
@testable import Relay

/// RTP made from a real x264 stream (Fixtures/media), packetized like a browser does.
struct H264RTPStream {
    struct Packet {
        var payload: [UInt8]
        var timestamp: UInt32
        var sequence: UInt64
        var marker: Bool
        var frameIndex: Int
    }

    let pictures: [[ArraySlice<UInt8>]]
    let packets: [Packet]

    init(fixture: String = "media/testsrc2-320x240-60f.h264", maxPayloadSize: Int = 1172) throws {
        let stream = try [UInt8](Data(contentsOf: FixturePaths.url(fixture)))
        pictures = AnnexB.accessUnits(stream)
        let packetizer = H264Packetizer(maxPayloadSize: maxPayloadSize)
        var packets: [Packet] = []
        var sequence: UInt64 = 1000
        for (index, picture) in pictures.enumerated() {
            let payloads = packetizer.payloads(for: picture)
            for (n, payload) in payloads.enumerated() {
                packets.append(Packet(payload: payload, timestamp: UInt32(index * 3000), sequence: sequence,
                                      marker: n == payloads.count - 1, frameIndex: index))
                sequence += 1
            }
        }
        self.packets = packets
    }
}

@Suite struct H264DepacketizerTests {
    func depacketize(_ packets: [H264RTPStream.Packet], into depacketizer: inout H264Depacketizer) -> [H264AccessUnit] {
        packets.compactMap { depacketizer.push(payload: $0.payload, timestamp: $0.timestamp, sequence: $0.sequence, marker: $0.marker) }
    }

    @Test func everyPictureComesBackIntact() throws {
        let stream = try H264RTPStream()
        #expect(stream.pictures.count == 60)
        #expect(stream.packets.contains { H264NALType.of($0.payload[0]) == H264NALType.fuA.rawValue })
        #expect(stream.packets.contains { H264NALType.of($0.payload[0]) == H264NALType.stapA.rawValue })
        var depacketizer = H264Depacketizer()
        let units = depacketize(stream.packets, into: &depacketizer)
        #expect(units.count == 60)
        #expect(units.filter(\.isKeyframe).count == 2)
        for (unit, picture) in zip(units, stream.pictures) {
            let expected = picture.filter { H264NALType.of($0.first!) != H264NALType.accessUnitDelimiter.rawValue }
            #expect(unit.nalUnits.map(Array.init) == expected.map(Array.init))
        }
        #expect(units.first?.parameterSetsChanged == true)
        #expect(units.dropFirst().allSatisfy { !$0.parameterSetsChanged })
        let sps = try H264SPS(nal: try #require(units.first?.sps))
        #expect(sps.width == 320 && sps.height == 240)
        #expect(sps.profileIdc == 66)
        #expect(depacketizer.stats.framesEmitted == 60)
    }

    /// FFmpeg decodes our reassembled stream to exactly the frames of the original file.
    @Test func ffmpegDecodesTheSameFrames() throws {
        let stream = try H264RTPStream()
        var depacketizer = H264Depacketizer()
        let units = depacketize(stream.packets, into: &depacketizer)
        let dir = try ExternalTool.temporaryDirectory("h264")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out.h264")
        try Data(units.flatMap(\.annexB)).write(to: out)
        func md5s(_ path: String) throws -> [String] {
            let result = try ExternalTool.run("ffmpeg", ["-v", "error", "-i", path, "-map", "0:v", "-f", "framemd5", "-"])
            #expect(result.status == 0, "\(result.stderr)")
            return result.text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { String($0.split(separator: ",").last ?? "") }
        }
        let original = try md5s(FixturePaths.url("media/testsrc2-320x240-60f.h264").path)
        let relayed = try md5s(out.path)
        #expect(original.count == 60)
        #expect(relayed == original)
    }

    @Test func aLostPacketDropsFramesUntilTheNextKeyframe() throws {
        let stream = try H264RTPStream()
        let victim = try #require(stream.packets.firstIndex { $0.frameIndex == 10 })
        var packets = stream.packets
        packets.remove(at: victim)
        var depacketizer = H264Depacketizer()
        let initialRequest = depacketizer.takeKeyframeRequest()
        #expect(initialRequest)  // at start, until the first IDR
        var emitted: [Int] = []
        var requestedKeyframe = false
        for packet in packets {
            if let unit = depacketizer.push(payload: packet.payload, timestamp: packet.timestamp, sequence: packet.sequence, marker: packet.marker) {
                emitted.append(Int(unit.rtpTimestamp / 3000))
            }
            if depacketizer.takeKeyframeRequest() { requestedKeyframe = true }
        }
        #expect(requestedKeyframe)
        #expect(emitted == Array(0..<10) + Array(30..<60))
        #expect(depacketizer.stats.framesDroppedCorrupt == 1)
        #expect(depacketizer.stats.framesDroppedAwaitingKeyframe == 19)
    }

    @Test func framesBeforeTheFirstKeyframeAreHeldBack() throws {
        let stream = try H264RTPStream()
        // Start listening in the middle of the first GOP, as a late subscriber does.
        let late = stream.packets.filter { $0.frameIndex >= 5 }
        var depacketizer = H264Depacketizer()
        let units = depacketize(late, into: &depacketizer)
        #expect(units.first?.isKeyframe == true)
        #expect(units.count == 30)
    }

    @Test func malformedPacketsAreCountedNotFatal() throws {
        var depacketizer = H264Depacketizer()
        // FU-A middle without a start.
        do { let unit = depacketizer.push(payload: [0x7C, 0x05, 1, 2, 3], timestamp: 1, sequence: 1, marker: true); #expect(unit == nil) }
        // STAP-A whose length runs past the end.
        do { let unit = depacketizer.push(payload: [0x78, 0x00, 0x40, 0x67, 0x42], timestamp: 2, sequence: 2, marker: true); #expect(unit == nil) }
        // Empty payload, reserved type 0, FU-B.
        do { let unit = depacketizer.push(payload: [], timestamp: 3, sequence: 3, marker: true); #expect(unit == nil) }
        do { let unit = depacketizer.push(payload: [0x00, 1], timestamp: 4, sequence: 4, marker: true); #expect(unit == nil) }
        do { let unit = depacketizer.push(payload: [0x1D, 0x85, 1], timestamp: 5, sequence: 5, marker: true); #expect(unit == nil) }
        // A sequence jump of 30000.
        do { let unit = depacketizer.push(payload: [0x65, 0x88], timestamp: 6, sequence: 30005, marker: true); #expect(unit == nil) }
        #expect(depacketizer.stats.malformedPackets == 4)
        #expect(depacketizer.stats.framesEmitted == 0)
    }

    @Test func anOversizedPictureIsDroppedWithBoundedMemory() throws {
        var depacketizer = H264Depacketizer(maxAccessUnitBytes: 1 << 20)
        let chunk = [UInt8](repeating: 0xAB, count: 1170)
        _ = depacketizer.push(payload: [0x7C, 0x85] + chunk, timestamp: 9, sequence: 1, marker: false)
        // 10 MB of FU-A middles for one picture.
        for n in 0..<9000 {
            _ = depacketizer.push(payload: [0x7C, 0x05] + chunk, timestamp: 9, sequence: UInt64(2 + n), marker: false)
        }
        do { let unit = depacketizer.push(payload: [0x7C, 0x45, 1], timestamp: 9, sequence: 9002, marker: true); #expect(unit == nil) }
        #expect(depacketizer.stats.framesDroppedOversized == 1)
    }

    @Test func randomPayloadsNeverCrash() {
        var rng = SeededRandom(seed: 0x264)
        var depacketizer = H264Depacketizer(maxAccessUnitBytes: 64 * 1024)
        for n in 0..<5000 {
            let length = Int(rng.next() % 300)
            var payload = (0..<length).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            if !payload.isEmpty, n % 3 == 0 { payload[0] = [0x7C, 0x78, 0x65, 0x67][n % 4] }
            _ = depacketizer.push(payload: payload, timestamp: UInt32(n / 4), sequence: UInt64(n + Int(rng.next() % 2)),
                                  marker: rng.next() % 4 == 0)
        }
    }

    @Test func spsParserRejectsTruncatedInput() throws {
        let stream = try H264RTPStream()
        let sps = try #require(stream.pictures[0].first { H264NALType.of($0.first!) == 7 })
        for length in 0..<sps.count - 1 {
            _ = try? H264SPS(nal: sps.prefix(length))
        }
        #expect(throws: H264SPS.ParseError.self) { try H264SPS(nal: sps.prefix(5)) }
        #expect(try H264SPS(nal: sps).profileLevelId.hasPrefix("42"))
    }
}

import Foundation
import Relay
import Testing

@Suite("OggOpusReader")
struct OggOpusReaderTests {
    @Test("reads OpusHead and the audio packets with their granule positions")
    func readsFixture() throws {
        let reader = try AudioFixture.reader(AudioFixture.stereoTone)
        #expect(reader.channels == 2)
        #expect(reader.preSkip == 312)
        #expect(reader.inputSampleRate == 48000)
        #expect(reader.packets.count == 101)
        // The last granule is the playable end: 2 s of audio plus the pre-skip.
        let last = try #require(reader.packets.last)
        let granule: Int64? = 96000 + 312
        #expect(last.granulePosition == granule)
    }

    @Test("truncated and random files throw, never crash")
    func truncatedAndRandom() throws {
        let bytes = Array(try Data(contentsOf: FixturePaths.url(AudioFixture.monoTone)))
        let full = try OggOpusReader(bytes).packets
        for cut in 0..<28 {
            #expect(throws: OggOpusReader.FormatError.self) { _ = try OggOpusReader(Array(bytes.prefix(cut))) }
        }
        // A cut file either throws or yields a prefix of the packets (a page cut short throws).
        var throwing = 0
        for cut in stride(from: 28, to: bytes.count, by: 37) {
            if let packets = try? OggOpusReader(Array(bytes.prefix(cut))).packets {
                #expect(packets.count <= full.count && Array(full.prefix(packets.count)) == packets)
            } else {
                throwing += 1
            }
        }
        #expect(throwing > 0)
        var random = SeededRandom(seed: 0x066)
        for _ in 0..<500 {
            var mutated = bytes
            for _ in 0..<8 { mutated[Int.random(in: 0..<mutated.count, using: &random)] = UInt8.random(in: 0...255, using: &random) }
            _ = try? OggOpusReader(mutated)
            let noise = (0..<Int.random(in: 0...400, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            _ = try? OggOpusReader(Array("OggS".utf8) + noise)
        }
    }
}

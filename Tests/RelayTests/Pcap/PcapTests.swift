import Foundation
import Testing
@testable import Relay

@Suite struct PcapTests {
    private func sample(_ count: Int) -> [Pcap.Datagram] {
        (0..<count).map { index -> Pcap.Datagram in
            let length = 12 + index % 300
            var payload: [UInt8] = []
            for byte in 0..<length { payload.append(UInt8(truncatingIfNeeded: byte &* 7 &+ index)) }
            let micros = UInt64(1_764_000_000_000_000) + UInt64(index) * 20_000
            return Pcap.Datagram(timestampMicros: micros, sourcePort: 5004, destinationPort: 6004, payload: payload)
        }
    }

    @Test func writtenDatagramsReadBackExactly() throws {
        let datagrams = sample(50)
        let bytes = Pcap.fileHeader() + datagrams.flatMap(Pcap.record)
        #expect(try Pcap.datagrams(in: bytes) == datagrams)
    }

    @Test func theIPv4HeaderChecksumVerifies() {
        let record = Pcap.record(sample(1)[0])
        let ip = Array(record[16..<36])
        // Summing a header that includes its checksum gives 0xFFFF, so the complement is 0.
        #expect(Pcap.internetChecksum(ip) == 0)
    }

    @Test func theFileWriterProducesAFileTsharkDecodesAsRTP() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("pcap-\(UUID().uuidString).pcap").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let writer = try PcapFileWriter(path: path)
        for sequence in 0..<10 {
            let rtp = RTPPacketBuilder(marker: false, payloadType: 111, sequenceNumber: UInt16(100 + sequence),
                                       timestamp: UInt32(960 * sequence), ssrc: 0x1234_5678, payload: [1, 2, 3]).serialize()
            writer.write(Pcap.Datagram(timestampMicros: UInt64(sequence) * 20_000, sourcePort: 5004, destinationPort: 5004, payload: rtp))
        }
        writer.close()
        let read = try Pcap.datagrams(in: [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))))
        #expect(read.count == 10)
        let tshark = try ExternalTool.run("tshark", ["-r", path, "-d", "udp.port==5004,rtp", "-T", "fields", "-e", "rtp.seq"])
        #expect(tshark.status == 0, "\(tshark.stderr)")
        let sequences: [String] = tshark.text.split(separator: "\n").map { String($0) }
        let sent: [String] = (100..<110).map { String($0) }
        #expect(sequences == sent)
    }

    @Test func ethernetAndCookedCapturesOfUDPAreRead() throws {
        let datagram = sample(1)[0]
        let ipAndUDP = Array(Pcap.record(datagram)[16...])
        for (linkType, prefix) in [(UInt32(1), [UInt8](repeating: 0, count: 12) + [0x08, 0x00]),
                                   (UInt32(113), [UInt8](repeating: 0, count: 14) + [0x08, 0x00])] {
            var header = Pcap.fileHeader()
            header.replaceSubrange(20..<24, with: withUnsafeBytes(of: linkType.littleEndian, Array.init))
            let frame = prefix + ipAndUDP
            var record = Array(Pcap.record(datagram)[0..<8])
            record += withUnsafeBytes(of: UInt32(frame.count).littleEndian, Array.init)
            record += withUnsafeBytes(of: UInt32(frame.count).littleEndian, Array.init)
            #expect(try Pcap.datagrams(in: header + record + frame) == [datagram])
        }
    }

    @Test func truncatedAndForeignFilesAreClearErrors() throws {
        let full = Pcap.fileHeader() + sample(3).flatMap(Pcap.record)
        #expect(throws: Pcap.FormatError.self) { try Pcap.datagrams(in: Array(full.prefix(10))) }
        #expect(throws: Pcap.FormatError.self) { try Pcap.datagrams(in: Array(full.dropLast(5))) }
        #expect(throws: Pcap.FormatError.self) { try Pcap.datagrams(in: [0x0A, 0x0D, 0x0D, 0x0A] + [UInt8](repeating: 0, count: 40)) }
    }

    @Test func randomBytesNeverCrash() {
        var random = SeededRandom(seed: 7)
        let valid = Pcap.fileHeader() + sample(5).flatMap(Pcap.record)
        for _ in 0..<2000 {
            var bytes = valid
            for _ in 0..<Int.random(in: 1...8, using: &random) {
                bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            }
            _ = try? Pcap.datagrams(in: Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &random))))
        }
    }
}

@testable import Relay
import Testing

extension DTLSTests {
    @Suite struct RecordPacking {
        @Test func handshakeDetectionLooksAtTheFirstRecord() {
            #expect(DTLSRecordPacker.startsWithHandshake([22, 0xFE, 0xFD]))
            #expect(DTLSRecordPacker.startsWithHandshake([20]))
            #expect(!DTLSRecordPacker.startsWithHandshake([23, 0xFE, 0xFD]))
            #expect(!DTLSRecordPacker.startsWithHandshake([]))
        }

        @Test func recordsArePackedIntoDatagramsUnderTheMTU() {
            func record(_ bodyLength: Int, type: UInt8 = 22) -> [UInt8] {
                [type, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 1, UInt8(bodyLength >> 8), UInt8(bodyLength & 0xFF)]
                    + [UInt8](repeating: 0xAB, count: bodyLength)
            }
            let records = [record(500), record(600), record(300), record(1187)]
            let datagrams = DTLSRecordPacker.datagrams(from: records.flatMap { $0 }, mtu: 1200)
            #expect(datagrams == [records[0] + records[1], records[2], records[3]])
            #expect(datagrams.allSatisfy { $0.count <= 1200 })
            // A torn tail is passed on, not lost or looped on.
            #expect(DTLSRecordPacker.datagrams(from: record(10) + [22, 0xFE], mtu: 1200) == [record(10) + [22, 0xFE]])
            #expect(DTLSRecordPacker.datagrams(from: Array(record(100).prefix(50)), mtu: 1200).count == 1)
        }
    }
}

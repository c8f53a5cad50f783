import Relay
import Testing

@Suite struct PacketDemuxTests {
    @Test(arguments: [
        (UInt8(0), UInt8(1), DatagramKind.stun),
        (3, 0, .stun),
        (4, 0, .unknown),
        (16, 0, .unknown),  // ZRTP
        (19, 0, .unknown),
        (20, 0, .dtls),
        (22, 0xFE, .dtls),  // handshake record
        (63, 0, .dtls),
        (64, 0, .unknown),  // TURN channel
        (127, 0, .unknown),
        (0x80, 96, .rtp),
        (0x80, 0x80 | 96, .rtp),  // marker set
        (0x80, 0x80 | 63, .rtp),
        (0x80, 200, .rtcp),  // SR
        (0x81, 201, .rtcp),  // RR
        (0x8F, 206, .rtcp),  // PSFB
        (0x80, 192, .rtcp),
        (0x80, 223, .rtcp),
        (0x80, 224, .rtp),  // PT 96 with marker
        (0x80, 0x80 | 0x60, .rtp),
        (191, 0, .rtp),
        (192, 0, .unknown),
        (255, 0, .unknown),
    ])
    func classifiesByFirstTwoBytes(first: UInt8, second: UInt8, expected: DatagramKind) {
        #expect(PacketDemux.classify([first, second, 0, 0]) == expected)
        [first, second].withUnsafeBytes { #expect(PacketDemux.classify($0) == expected) }
    }

    @Test func emptyAndOneByteDatagrams() {
        #expect(PacketDemux.classify([]) == .unknown)
        #expect(PacketDemux.classify([0x00]) == .stun)
        #expect(PacketDemux.classify([0x16]) == .dtls)
        #expect(PacketDemux.classify([0x80]) == .unknown)  // RTP or RTCP, can't tell: too short anyway
    }
}

import Relay

/// SRTP unprotect + RTP parse on one core (issue 4: ≥ 200,000 packets/s), thread CPU time.
enum SRTPFigure {
    static func figures() throws -> [Figure] {
        var figures: [Figure] = []
        for profile in [SRTPProfile.aeadAes128Gcm, .aes128CmSha1_80] {
            for payloadSize in [160, 1200] {
                let key = try SRTPMasterKey(profile: profile, key: [UInt8](repeating: 7, count: profile.keyLength),
                                            salt: [UInt8](repeating: 9, count: profile.saltLength))
                let sender = try SRTPContext(key: key, direction: .outbound)
                let receiver = try SRTPContext(key: key, direction: .inbound)
                let count = 100_000
                var protected: [[UInt8]] = []
                protected.reserveCapacity(count)
                for n in 0..<count {
                    var packet = RTPPacketBuilder(marker: n % 10 == 0, payloadType: 96, sequenceNumber: UInt16(truncatingIfNeeded: n),
                                                  timestamp: UInt32(n * 3000), ssrc: 42,
                                                  payload: [UInt8](repeating: UInt8(truncatingIfNeeded: n), count: payloadSize)).serialize()
                    packet.reserveCapacity(packet.count + SRTPContext.protectOverhead)
                    _ = sender.protectRTP(&packet)
                    protected.append(packet)
                }
                var parsed = 0
                let begin = CPUTime.thread()
                for index in protected.indices {
                    if case .ok = receiver.unprotectRTP(&protected[index]), let view = try? RTPPacketView.parse(protected[index]) {
                        parsed += view.payloadLength > 0 ? 1 : 0
                    }
                }
                let rate = Double(parsed) / (CPUTime.thread() - begin)
                figures.append(Figure("SRTP unprotect + RTP parse, \(profile), \(payloadSize) B", value: rate.rounded(),
                                      unit: "pkt/s/core", goal: "≥ 200000", met: rate >= 200_000))
            }
        }
        return figures
    }
}

import Foundation
import Relay

/// SRTP unprotect + RTP parse on one core (issue 4: ≥ 200,000 packets/s), thread CPU time.
/// Reference: the ciphers alone in `openssl speed` (CPU time) for the same packet size — the
/// ceiling libsrtp (built on OpenSSL's crypto) cannot pass.
enum SRTPFigure {
    /// Packets per second OpenSSL's primitives manage on `bytes`-sized buffers: AES-128-GCM for
    /// the AEAD profile; AES-128-CTR then HMAC-SHA1 for AES_CM_128_HMAC_SHA1_80. nil if
    /// `openssl speed` is missing or says something unexpected.
    static func opensslPacketsPerSecond(_ profile: SRTPProfile, bytes: Int) -> Double? {
        func bytesPerSecond(_ algorithm: [String]) -> Double? {
            guard let run = try? ChildProcess.check("openssl", ["speed", "-seconds", "1", "-bytes", "\(bytes)", "-mr"] + algorithm,
                                                    captureOutput: true),
                  let line = run.stdout.split(separator: "\n").last(where: { $0.hasPrefix("+F:") }),
                  let value = line.split(separator: ":").last.flatMap({ Double($0) }), value > 0 else { return nil }
            return value
        }
        switch profile {
        case .aeadAes128Gcm:
            return bytesPerSecond(["-evp", "aes-128-gcm"]).map { $0 / Double(bytes) }
        default:
            guard let ctr = bytesPerSecond(["-evp", "aes-128-ctr"]), let hmac = bytesPerSecond(["-hmac", "sha1"]) else { return nil }
            return 1 / (Double(bytes) / ctr + Double(bytes) / hmac)
        }
    }

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
                let ceiling = opensslPacketsPerSecond(profile, bytes: payloadSize + 12)
                figures.append(Figure("SRTP unprotect + RTP parse, \(profile), \(payloadSize) B", value: rate.rounded(),
                                      unit: "pkt/s/core", reference: ceiling.map { "openssl cipher alone: \(Int($0)) pkt/s" } ?? "openssl speed failed",
                                      goal: "≥ 200000", met: rate >= 200_000,
                                      note: profile == .aeadAes128Gcm ? nil : "the reference is OpenSSL's AES-128-CTR + HMAC-SHA1 alone; libsrtp2 does its own crypto with the backend it was built with (Debian's uses NSS, not OpenSSL), so a gap here is the library's, not relayd's (which only calls srtp_unprotect)."))
            }
        }
        return figures
    }
}

import Foundation
import Relay

/// One track as SRTP packets the way a browser sends it, made once before anything is timed:
/// pictures packetized (H.264 mode 1 / VP8), 30 fps on a 90 kHz clock, or Opus every 20 ms
/// on 48 kHz; every packet protected with one AEAD-AES-128-GCM key. Receivers make their own
/// inbound context from `key`, so many guests can share one packet list.
struct RTPStream {
    struct Packet {
        var bytes: [UInt8]
        /// When it is due, seconds from the stream's start.
        var due: Double
        /// The picture (or audio packet) it belongs to.
        var frame: Int
        /// Last packet of its picture (the RTP marker bit for video).
        var endsFrame: Bool
        var timestamp: UInt32
    }

    enum Kind { case video, audio }

    let kind: Kind
    let payloadType: UInt8
    let packets: [Packet]
    let frames: Int
    let frameInterval: Double
    let key: SRTPMasterKey

    static let profile = SRTPProfile.aeadAes128Gcm
    static func makeKey() throws -> SRTPMasterKey {
        try SRTPMasterKey(profile: profile, key: (0..<profile.keyLength).map { UInt8($0 &* 7 &+ 1) },
                          salt: (0..<profile.saltLength).map { UInt8($0 &* 13 &+ 5) })
    }

    var seconds: Double { Double(frames) * frameInterval }

    /// H.264 Annex-B, one access unit per picture.
    static func h264(annexB path: URL) throws -> RTPStream {
        let pictures = AnnexB.accessUnits([UInt8](try Data(contentsOf: path)))
        let packetizer = H264Packetizer()
        return try make(kind: .video, payloadType: 125, ssrc: 0x1111, frames: pictures.map { packetizer.payloads(for: $0) },
                        ticks: 3000, interval: 1.0 / 30)
    }

    /// VP8 in IVF.
    static func vp8(ivf path: URL) throws -> RTPStream {
        let reader = try IVFReader([UInt8](try Data(contentsOf: path)))
        var packetizer = VP8Packetizer()
        return try make(kind: .video, payloadType: 96, ssrc: 0x2222, frames: reader.frames.map { packetizer.payloads(for: $0.data) },
                        ticks: 3000, interval: 1.0 / 30)
    }

    /// Ogg Opus, played `loops` times back to back.
    static func opus(ogg path: URL, loops: Int) throws -> RTPStream {
        let reader = try OggOpusReader([UInt8](try Data(contentsOf: path)))
        let once = reader.packets.map { [$0.data] }
        return try make(kind: .audio, payloadType: 111, ssrc: 0x3333, frames: Array((0..<loops).map { _ in once }.joined()),
                        ticks: 960, interval: 0.02)
    }

    private static func make(kind: Kind, payloadType: UInt8, ssrc: UInt32, frames: [[[UInt8]]], ticks: UInt32,
                             interval: Double) throws -> RTPStream {
        let key = try makeKey()
        let sender = try SRTPContext(key: key, direction: .outbound)
        var packets: [Packet] = []
        var sequence: UInt16 = 1000
        for (index, payloads) in frames.enumerated() {
            let timestamp = UInt32(truncatingIfNeeded: index) &* ticks &+ 12345
            for (position, payload) in payloads.enumerated() {
                let last = position == payloads.count - 1
                var bytes = RTPPacketBuilder(marker: kind == .video && last, payloadType: payloadType, sequenceNumber: sequence,
                                             timestamp: timestamp, ssrc: ssrc, payload: payload).serialize()
                bytes.reserveCapacity(bytes.count + SRTPContext.protectOverhead)
                _ = sender.protectRTP(&bytes)
                packets.append(Packet(bytes: bytes, due: Double(index) * interval, frame: index, endsFrame: last, timestamp: timestamp))
                sequence &+= 1
            }
        }
        return RTPStream(kind: kind, payloadType: payloadType, packets: packets, frames: frames.count, frameInterval: interval, key: key)
    }
}

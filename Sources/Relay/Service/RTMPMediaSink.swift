/// Sends a guest's H.264/AAC to the RTMP publisher. The publisher builds the AVC sequence
/// header from SPS/PPS it finds in keyframes, so every keyframe goes out with its parameter
/// sets in-band (browsers usually send them that way; x264 does with repeat headers).
final class RTMPMediaSink: MediaSink {
    let publisher: RTMPPublisher
    /// Called on the first picture (the seed's "Received video track" moment).
    var onFirstVideo: (() -> Void)?
    /// The operator page's thumbnail taker (sees every access unit, keeps a keyframe every 2 s).
    var snapshot: GuestSnapshot?

    init(publisher: RTMPPublisher) { self.publisher = publisher }

    func videoConfiguration(_ record: AVCDecoderConfiguration, stream: H264StreamInfo) {}

    func video(_ unit: H264AccessUnit, milliseconds: Int64) {
        if let first = onFirstVideo {
            onFirstVideo = nil
            first()
        }
        if unit.isKeyframe { snapshot?.offer(unit, now: .now) }
        var bytes = unit.avcc
        if unit.isKeyframe, let sps = unit.sps, let pps = unit.pps,
           !unit.nalUnits.contains(where: { H264NALType.of($0.first ?? 0) == H264NALType.sps.rawValue }) {
            bytes = Self.avcc([sps, pps]) + bytes
        }
        let time = Duration.milliseconds(milliseconds)
        publisher.send(video: bytes, pts: time, dts: time, isKeyframe: unit.isKeyframe)
    }

    func audioConfiguration(_ audioSpecificConfig: [UInt8]) {}

    func audio(_ frame: [UInt8], milliseconds: Int64) {
        publisher.send(audio: frame, pts: .milliseconds(milliseconds))
    }

    static func avcc(_ units: [[UInt8]]) -> [UInt8] {
        var out: [UInt8] = []
        for unit in units {
            let count = UInt32(unit.count)
            out += [UInt8(count >> 24), UInt8(count >> 16 & 0xFF), UInt8(count >> 8 & 0xFF), UInt8(count & 0xFF)] + unit
        }
        return out
    }
}

import Foundation
@testable import Relay


/// The generated fixture media (see Fixtures/rtmp/README.md), split into access units / frames.
struct RTMPFixtureMedia {
    struct AccessUnit { var bytes: [UInt8]; var isKeyframe: Bool }
    let accessUnits: [AccessUnit]
    let audioFrames: [[UInt8]]
    let audioConfig: [UInt8]
    let sps: [UInt8]

    static let frameRate = 30

    static func load() throws -> RTMPFixtureMedia {
        let video = try [UInt8](Data(contentsOf: FixturePaths.url("rtmp/video-320x240-30fps-baseline.h264")))
        let audio = try [UInt8](Data(contentsOf: FixturePaths.url("rtmp/audio-48k-stereo.aac")))
        // One slice per frame (see the README): each VCL NAL unit closes an access unit; the
        // SPS/PPS/SEI before it belong to it. Units are re-emitted in Annex-B form.
        var units: [AccessUnit] = []
        var pending: [UInt8] = []
        var sps: [UInt8] = []
        for nal in H264Bitstream.splitAnnexB(video) {
            let type = H264Bitstream.nalType(nal)
            if type == H264NALType.sps.rawValue, sps.isEmpty { sps = Array(nal) }
            pending += [0, 0, 0, 1] + nal
            if type == H264NALType.idrSlice.rawValue || type == H264NALType.nonIDRSlice.rawValue {
                units.append(AccessUnit(bytes: pending, isKeyframe: type == H264NALType.idrSlice.rawValue))
                pending = []
            }
        }
        let (frames, config) = AAC.splitADTS(audio)
        return RTMPFixtureMedia(accessUnits: units, audioFrames: frames.map(Array.init), audioConfig: config ?? [], sps: sps)
    }

    static func videoTime(_ index: Int) -> Duration { .microseconds(Int64(index) * 1_000_000 / Int64(frameRate)) }
    static func audioTime(_ index: Int) -> Duration { .microseconds(Int64(index) * 1024 * 1_000_000 / 48000) }
}

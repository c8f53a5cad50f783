@testable import FakeCalls
import Foundation
@testable import Relay

/// Writes browser-style recordings (the Fixtures/rtp layout: `offer.sdp`, `video.pcap`,
/// `audio.pcap`) made from the repository's media files, for tests that need a recording
/// before (or without) the real Chromium captures. The payload types are the offer's own.
enum SyntheticRecordingWriter {
    struct Layout {
        /// A Fixtures/ path of an `.h264` or `.ivf` file, or nil for no video.pcap.
        var video: String? = "media/testsrc2-320x240-60f.h264"
        var audio: String? = "audio/tone-440L-660R-stereo-2s.opus.ogg"
        /// A Fixtures/ path of the browser offer to copy as offer.sdp.
        var offer = "sdp/chromium-h264.sdp"
        /// Audio capture starts this long before the video's (a browser's microphone usually
        /// starts first); negative: after.
        var audioLeadMicros: Int64 = 0
        var rtx = true
        var senderReports = true
        var captureJitterMicros: UInt64 = 0
    }

    /// A new temporary recording directory (the caller removes it).
    static func write(_ layout: Layout, into parent: URL? = nil, name: String = "recording") throws -> URL {
        let directory = try parent.map { $0.appendingPathComponent(name) } ?? ExternalTool.temporaryDirectory("recording")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let offerText = try FixturePaths.text(layout.offer)
        try offerText.write(to: directory.appendingPathComponent("offer.sdp"), atomically: true, encoding: .utf8)
        let offer = try SDP.parse(offerText)
        let start: UInt64 = 1_700_000_000_000_000
        if let video = layout.video {
            let codec = video.hasSuffix(".ivf") ? "VP8" : "H264"
            let (pt, rtx) = try payloadTypes(codec, in: offer)
            let options = SyntheticRecording.Options(
                payloadType: pt, ssrc: 0x1111_0001, startMicros: start, rtxPayloadType: layout.rtx ? rtx : nil,
                rtxSSRC: 0x1111_0002, senderReports: layout.senderReports, captureJitterMicros: layout.captureJitterMicros)
            try writePcap(SyntheticRecording.datagrams(ofMediaFile: FixturePaths.url(video).path, options: options),
                          to: directory.appendingPathComponent("video.pcap"))
        }
        if let audio = layout.audio {
            let (pt, _) = try payloadTypes("opus", in: offer)
            let options = SyntheticRecording.Options(
                payloadType: pt, ssrc: 0x2222_0001, startMicros: UInt64(Int64(start) - layout.audioLeadMicros),
                senderReports: layout.senderReports, captureJitterMicros: layout.captureJitterMicros)
            try writePcap(SyntheticRecording.datagrams(ofMediaFile: FixturePaths.url(audio).path, options: options),
                          to: directory.appendingPathComponent("audio.pcap"))
        }
        return directory
    }

    /// The first payload type of `codec` in the offer and its RTX type.
    static func payloadTypes(_ codec: String, in offer: SDP) throws -> (UInt8, UInt8?) {
        for media in offer.mediaSections {
            let codecs = media.negotiatedCodecs
            if let match = codecs.codecs.first(where: { $0.name.lowercased() == codec.lowercased() }) {
                return (UInt8(match.payloadType), codecs.rtxPayloadType(forMedia: match.payloadType).map { UInt8($0) })
            }
        }
        throw RecordedTrack.LoadError(description: "the offer has no \(codec)")
    }

    static func writePcap(_ datagrams: [Pcap.Datagram], to url: URL) throws {
        let writer = try PcapFileWriter(path: url.path)
        for datagram in datagrams { writer.write(datagram) }
        writer.close()
    }
}

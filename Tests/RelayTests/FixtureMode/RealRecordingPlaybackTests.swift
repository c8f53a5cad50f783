@testable import FakeCalls
import Foundation
import Testing
@testable import Relay

/// The real Chromium recordings (Fixtures/rtp, when present) load and play: keyframe first,
/// continuous sequence numbers and timestamps over several loops and keyframe requests.
@Suite(.enabled(if: FileManager.default.fileExists(atPath: FixturePaths.url("rtp").path), "Fixtures/rtp is not there"))
struct RealRecordingPlaybackTests {
    @Test(arguments: ["chromium-h264-opus", "chromium-vp8-opus"])
    func recordingPlaysSeamlessly(name: String) throws {
        let directory = FixturePaths.url("rtp/\(name)").path
        guard FileManager.default.fileExists(atPath: directory) else { return }
        let recording = try FixtureCatalog.loadRecording(directory: directory)
        let video = try #require(recording.video)
        let audio = try #require(recording.audio)
        #expect(video.codec == (name.contains("vp8") ? .vp8 : .h264))
        #expect(video.keyframeCount >= 1)
        #expect(audio.codec == .opus)
        var random = SeededRandom(seed: 1)
        let start = ContinuousClock.now
        var player = try RecordedRTPPlayer(tracks: [.init(mid: "1", track: video, payloadType: 100, ssrc: 1),
                                                    .init(mid: "0", track: audio, payloadType: 111, ssrc: 2)],
                                           start: start, using: &random)
        var out: [RecordedRTPPlayer.Output] = []
        let seconds = Int(player.period / 1_000_000_000) * 2 + 3  // two loops and a bit
        for step in 0...(seconds * 100) {
            if step % 700 == 350 { player.requestKeyframe(track: 0) }
            player.packets(dueBy: start + .milliseconds(step * 10), into: &out)
        }
        #expect(player.keyframeRestarts > 0)
        #expect(player.framesSkipped == 0)
        for track in 0...1 {
            let packets = out.filter { $0.track == track }.compactMap { try? RTPPacketView.parse($0.packet) }
            #expect(zip(packets, packets.dropFirst()).allSatisfy { $1.sequenceNumber == $0.sequenceNumber &+ 1 })
            let steps = zip(packets, packets.dropFirst()).map { Int32(bitPattern: $1.timestamp &- $0.timestamp) }
            #expect(steps.allSatisfy { $0 >= 0 && $0 < (track == 0 ? 90_000 : 48_000) }, "timestamps only go forward, by less than a second")
        }
        let first = try #require(out.first { $0.track == 0 })
        let payload = Array(first.packet[12...])
        #expect(RecordedTrack.isKeyframe([.init(marker: false, payload: payload)], codec: video.codec)
            || video.codec == .h264)  // an H.264 keyframe spans several packets
    }
}

@testable import FakeCalls
import Foundation
import Testing
@testable import Relay

/// The recorded-RTP player with manual time: start at a keyframe, real-time pacing by RTP
/// timestamp, seamless loops, keyframe requests, Sender Reports that keep the A/V alignment.
@Suite struct RecordedRTPPlayerTests {
    struct Sent {
        var time: Int64  // ms after start
        var track: Int
        var view: RTPPacketView
        var payload: [UInt8]
    }

    static let h264Path = FixturePaths.url("media/testsrc2-320x240-60f.h264").path
    static let opusPath = FixturePaths.url("audio/tone-440L-660R-stereo-2s.opus.ogg").path

    /// A recorded track from explicit frames: `payloads[i]` sampled at `wallMs[i]`.
    static func track(_ codec: RecordedTrack.Codec, payloads: [[[UInt8]]], frameMs: Double, startMs: Double = 0) -> RecordedTrack {
        let ticks = Int64((frameMs * Double(codec.clockRate) / 1000).rounded())
        return RecordedTrack(codec: codec, frames: payloads.enumerated().map { index, packets in
            RecordedTrack.Frame(rtpTimestamp: 1000 + Int64(index) * ticks,
                                packets: packets.enumerated().map { .init(marker: $0.offset == packets.count - 1, payload: $0.element) },
                                isKeyframe: false,
                                wallNanos: Int64((startMs + Double(index) * frameMs) * 1_000_000) + 3_900_000_000_000_000_000)
        }, frameTicks: ticks)
    }

    static func player(_ tracks: [RecordedTrack]) throws -> (RecordedRTPPlayer, ContinuousClock.Instant) {
        var random = SeededRandom(seed: 42)
        let start = ContinuousClock.now
        let setups = tracks.enumerated().map { index, track in
            RecordedRTPPlayer.TrackSetup(mid: String(index), track: track, payloadType: track.codec == .opus ? 111 : 109,
                                         ssrc: UInt32(0xA000 + index))
        }
        return (try RecordedRTPPlayer(tracks: setups, start: start, using: &random), start)
    }

    /// Drives the player in 1 ms steps up to `untilMs`, recording when each packet came out.
    static func run(_ player: inout RecordedRTPPlayer, start: ContinuousClock.Instant, fromMs: Int = 0, untilMs: Int) -> [Sent] {
        var sent: [Sent] = []
        var out: [RecordedRTPPlayer.Output] = []
        for ms in fromMs...untilMs {
            player.packets(dueBy: start + .milliseconds(ms), into: &out)
            for output in out {
                guard let view = try? RTPPacketView.parse(output.packet) else { continue }
                sent.append(Sent(time: Int64(ms), track: output.track, view: view, payload: Array(output.packet[view.payloadRange])))
            }
            out.removeAll()
        }
        return sent
    }

    static func frames(_ sent: [Sent], track: Int) -> [[Sent]] {
        var frames: [[Sent]] = []
        for packet in sent where packet.track == track {
            if let last = frames.last?.last, last.view.timestamp == packet.view.timestamp {
                frames[frames.count - 1].append(packet)
            } else {
                frames.append([packet])
            }
        }
        return frames
    }

    @Test func startsAtTheFirstKeyframeWithAudioAtTheSameMoment() throws {
        let video = try SyntheticRecording.payloads(ofMediaFile: Self.h264Path).frames
        let audio = try SyntheticRecording.payloads(ofMediaFile: Self.opusPath).frames
        // The recording begins 5 frames before the keyframe (joined mid-GOP).
        let rotated = Array(video[55...]) + Array(video[..<55])
        var (player, start) = try Self.player([Self.track(.h264, payloads: rotated, frameMs: 1000.0 / 30),
                                               Self.track(.opus, payloads: audio, frameMs: 20)])
        let sent = Self.run(&player, start: start, untilMs: 120)
        let videoFrames = Self.frames(sent, track: 0)
        #expect(videoFrames.first?.map(\.payload) == video[0])  // the keyframe, at once
        #expect(videoFrames.first?.first?.time == 0)
        #expect(videoFrames.map { $0[0].time } == [0, 34, 67, 100])  // 30 fps by RTP timestamp (ms rounded up)
        // The keyframe was sampled at 166.7 ms; the first audio frame at or after it is #9 (180 ms).
        let audioFrames = Self.frames(sent, track: 1)
        #expect(audioFrames.first?.first?.payload == audio[9][0])
        #expect(audioFrames.first?.first?.time == 14)
        #expect(sent.allSatisfy { $0.view.ssrc == UInt32(0xA000 + $0.track) })
        #expect(sent.allSatisfy { $0.view.payloadType == ($0.track == 0 ? 109 : 111) })
        #expect(!sent.contains { $0.view.hasExtension })
    }

    @Test func loopsSeamlesslyWithContinuousSequenceNumbersAndTimestamps() throws {
        var (player, start) = try Self.player([SyntheticRecording.track(ofMediaFile: Self.h264Path),
                                               SyntheticRecording.track(ofMediaFile: Self.opusPath)])
        #expect(abs(player.period - 2_000_000_000) < 1_000)
        let sent = Self.run(&player, start: start, untilMs: 4_500)
        let source = try SyntheticRecording.payloads(ofMediaFile: Self.h264Path).frames
        for track in 0...1 {
            let packets = sent.filter { $0.track == track }
            #expect(zip(packets, packets.dropFirst()).allSatisfy { $1.view.sequenceNumber == $0.view.sequenceNumber &+ 1 })
            let frames = Self.frames(sent, track: track)
            let step: UInt32 = track == 0 ? 3000 : 960
            #expect(zip(frames, frames.dropFirst()).allSatisfy { $1[0].view.timestamp &- $0[0].view.timestamp == step },
                    "track \(track): timestamps must go on by one frame, across loops too")
            #expect(frames.count == (track == 0 ? 136 : 226), "\(frames.count)")  // 4.5 s at 30 fps / 50 per s, plus the first
        }
        // Each loop starts again at the keyframe, and plays the recording's frames in order.
        let video = Self.frames(sent, track: 0)
        #expect(video[60].map(\.payload) == source[0])
        #expect(video[120].map(\.payload) == source[0])
        #expect(video[60][0].time == 2_000)
        #expect(video.prefix(60).map { $0.map(\.payload) } == source)
    }

    @Test func keyframeRequestJumpsToTheNextKeyframeAtTheNextFrameTime() throws {
        let video = try SyntheticRecording.payloads(ofMediaFile: Self.h264Path).frames
        let audio = try SyntheticRecording.payloads(ofMediaFile: Self.opusPath).frames
        // Keyframes at 0 and 30 (1 s).
        let twoGOPs = Array(video[..<30]) + Array(video[..<30])
        var (player, start) = try Self.player([Self.track(.h264, payloads: twoGOPs, frameMs: 1000.0 / 30),
                                               Self.track(.opus, payloads: audio, frameMs: 20)])
        var sent = Self.run(&player, start: start, untilMs: 320)
        let jumped = player.requestKeyframe(track: 0)
        let jumpedAgain = player.requestKeyframe(track: 0)
        let audioJumped = player.requestKeyframe(track: 1)
        #expect(jumped)
        #expect(!jumpedAgain, "the next frame is a keyframe already")
        #expect(!audioJumped, "audio has no keyframes to jump to")
        #expect(player.nextDeadline == start + .nanoseconds(333_333_333), "the keyframe goes out at the next frame time")
        sent += Self.run(&player, start: start, fromMs: 321, untilMs: 700)
        #expect(player.keyframeRestarts == 1)

        let frames = Self.frames(sent, track: 0)
        #expect(frames[9].map(\.payload) == twoGOPs[9])
        #expect(frames[10].map(\.payload) == video[0], "frame 10 is the second GOP's keyframe")
        #expect(frames[10][0].time == 334)
        #expect(frames[11].map(\.payload) == twoGOPs[31])
        let packets = sent.filter { $0.track == 0 }
        #expect(zip(packets, packets.dropFirst()).allSatisfy { $1.view.sequenceNumber == $0.view.sequenceNumber &+ 1 })
        #expect(zip(frames, frames.dropFirst()).allSatisfy { $1[0].view.timestamp &- $0[0].view.timestamp == 3000 })

        // Audio jumped by the same 666.7 ms (lip sync holds), without overlapping itself.
        let audioFrames = Self.frames(sent, track: 1)
        let indices = audioFrames.map { frame in audio.firstIndex { $0[0] == frame[0].payload } ?? -1 }
        let jump = try #require(zip(indices, indices.dropFirst()).first { $1 != $0 + 1 })
        #expect(jump.1 - jump.0 >= 34 && jump.1 - jump.0 <= 35, "\(indices)")
        let steps = zip(audioFrames, audioFrames.dropFirst()).map { $1[0].view.timestamp &- $0[0].view.timestamp }
        #expect(steps.allSatisfy { $0 >= 960 && $0 < 1920 }, "\(steps)")
    }

    @Test func senderReportsKeepTheRecordedAudioVideoOffset() throws {
        let video = try SyntheticRecording.payloads(ofMediaFile: Self.h264Path).frames
        let audio = try SyntheticRecording.payloads(ofMediaFile: Self.opusPath).frames
        // The microphone started 100 ms before the camera.
        var (player, start) = try Self.player([Self.track(.h264, payloads: video, frameMs: 1000.0 / 30, startMs: 100),
                                               Self.track(.opus, payloads: audio, frameMs: 20)])
        let sent = Self.run(&player, start: start, untilMs: 1_000)
        let firstVideo = try #require(sent.first { $0.track == 0 })
        let firstAudio = try #require(sent.first { $0.track == 1 })
        #expect(firstAudio.payload == audio[5][0], "audio sampled with the keyframe goes out with it")
        #expect(firstAudio.time == 0 && firstVideo.time == 0)
        // One output clock: at 1 s each track's SR timestamp is one second after its first frame's.
        let videoSR = player.senderReport(track: 0, at: start + .seconds(1))
        let audioSR = player.senderReport(track: 1, at: start + .seconds(1))
        #expect(videoSR.rtpTimestamp &- firstVideo.view.timestamp == 90_000)
        #expect(audioSR.rtpTimestamp &- firstAudio.view.timestamp == 48_000)
        #expect(videoSR.packetCount == UInt32(sent.filter { $0.track == 0 }.count))
        #expect(audioSR.octetCount == UInt32(sent.filter { $0.track == 1 }.reduce(0) { $0 + $1.payload.count }))
    }

    @Test func alignmentComesFromCaptureTimesWithoutSenderReports() throws {
        let directory = try SyntheticRecordingWriter.write(.init(audioLeadMicros: 100_000, senderReports: false, captureJitterMicros: 3_000))
        defer { try? FileManager.default.removeItem(at: directory) }
        let recording = try FixtureCatalog.loadRecording(directory: directory.path)
        let audio = try #require(recording.audio)
        #expect(!audio.clockFromSenderReport)
        var (player, start) = try Self.player([try #require(recording.video), audio])
        let sent = Self.run(&player, start: start, untilMs: 50)
        #expect(sent.first { $0.track == 1 }?.payload == audio.frames[5].packets[0].payload)

        let withReports = try SyntheticRecordingWriter.write(.init(audioLeadMicros: 100_000, captureJitterMicros: 3_000))
        defer { try? FileManager.default.removeItem(at: withReports) }
        let reported = try FixtureCatalog.loadRecording(directory: withReports.path)
        #expect(reported.audio?.clockFromSenderReport == true)
        var (second, secondStart) = try Self.player([try #require(reported.video), try #require(reported.audio)])
        let secondSent = Self.run(&second, start: secondStart, untilMs: 50)
        let firstAudio = secondSent.first { $0.track == 1 }?.payload
        let index = reported.audio?.frames.firstIndex { $0.packets[0].payload == firstAudio }
        #expect(index == 5)
    }

    @Test func aLateDriverSkipsInsteadOfBursting() throws {
        var (player, start) = try Self.player([SyntheticRecording.track(ofMediaFile: Self.h264Path)])
        var out: [RecordedRTPPlayer.Output] = []
        player.packets(dueBy: start + .seconds(3), into: &out)
        #expect((60...61).contains(player.framesSkipped))  // the frames more than a second late
        let frames = Set(out.compactMap { try? RTPPacketView.parse($0.packet).timestamp })
        #expect(frames.count + player.framesSkipped == 91)
        #expect(player.nextDeadline > start + .seconds(3))
    }

    @Test func aVideoTrackWithoutKeyframeIsRefused() throws {
        let video = try SyntheticRecording.payloads(ofMediaFile: Self.h264Path).frames
        #expect(throws: RecordedRTPPlayer.SetupError.self) {
            try Self.player([Self.track(.h264, payloads: Array(video[1..<30]), frameMs: 33)])
        }
    }
}

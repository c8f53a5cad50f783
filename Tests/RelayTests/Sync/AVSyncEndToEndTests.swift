import Foundation
import Testing
@testable import Relay

/// The must-show lip-sync check. FFmpeg makes, at test time, a video that flashes white for
/// one frame every second and a sound that beeps 1 kHz from the same instant every second. Both
/// go out as RTP with random, different RTP origins and Sender Reports that give the true
/// capture mapping; the audio reaches the relay 80 ms after the video, so aligning by arrival
/// would be 80 ms off. The relay's FLV is then judged by FFmpeg: the decoded flashes and beep
/// onsets must line up within 20 ms.
@Suite struct AVSyncEndToEndTests {
    let start = ContinuousClock.now

    struct Fixture {
        var packets: [(arrival: Double, bytes: [UInt8])] = []
        var reports: [(arrival: Double, report: RTCPSenderReport)] = []
    }

    /// Flash frames at 1, 2 and 3 s (30 fps, H.264 baseline, no B-frames); beeps of 100 ms from
    /// 1, 2 and 3 s (Opus, 48 kHz, 20 ms packets). Nothing at 0: the first Sender Reports come
    /// late on purpose, and until then the relay can only go by arrival.
    static func encode(in dir: URL) throws -> (h264: [UInt8], ogg: OggOpusReader) {
        let video = dir.appendingPathComponent("flash.h264").path
        let audio = dir.appendingPathComponent("beep.ogg").path
        let flash = "color=c=black:s=160x120:r=30:d=4,drawbox=c=white:t=fill:enable='eq(mod(n\\,30)\\,0)*gte(n\\,30)'"
        let encodeVideo = try ExternalTool.run("ffmpeg", [
            "-v", "error", "-y", "-f", "lavfi", "-i", flash, "-c:v", "libx264", "-profile:v", "baseline", "-bf", "0",
            "-g", "30", "-pix_fmt", "yuv420p", "-f", "h264", video])
        #expect(encodeVideo.status == 0, "\(encodeVideo.stderr)")
        let beep = "if(gte(t\\,1)*lt(mod(t\\,1)\\,0.1)\\,0.5*sin(2*PI*1000*t)\\,0)"
        let encodeAudio = try ExternalTool.run("ffmpeg", [
            "-v", "error", "-y", "-f", "lavfi", "-i", "aevalsrc=\(beep)|\(beep):s=48000:d=4", "-c:a", "libopus", "-b:a", "96k",
            "-frame_duration", "20", "-application", "audio", audio])
        #expect(encodeAudio.status == 0, "\(encodeAudio.stderr)")
        return (try [UInt8](Data(contentsOf: URL(fileURLWithPath: video))),
                try OggOpusReader([UInt8](Data(contentsOf: URL(fileURLWithPath: audio)))))
    }

    /// The guest's RTP and Sender Reports with arrival times (seconds from the start).
    static func packetize(h264: [UInt8], ogg: OggOpusReader, seed: UInt64, senderReports: Bool) -> Fixture {
        var rng = SeededRandom(seed: seed)
        let videoBase = UInt32.random(in: 0...UInt32.max, using: &rng), audioBase = UInt32.random(in: 0...UInt32.max, using: &rng)
        var videoSequence = UInt16.random(in: 0...UInt16.max, using: &rng), audioSequence = UInt16.random(in: 0...UInt16.max, using: &rng)
        let videoSSRC: UInt32 = 0x0B1D_E000, audioSSRC: UInt32 = 0xA0D1_0000
        let videoDelay = 0.020, audioDelay = 0.100  // audio 80 ms behind
        var fixture = Fixture()
        let packetizer = H264Packetizer()
        for (n, picture) in AnnexB.accessUnits(h264).enumerated() {
            let payloads = packetizer.payloads(for: picture)
            for (index, payload) in payloads.enumerated() {
                let bytes = RTPPacketBuilder(marker: index == payloads.count - 1, payloadType: 125, sequenceNumber: videoSequence,
                                             timestamp: videoBase &+ UInt32(n * 3000), ssrc: videoSSRC, payload: payload).serialize()
                videoSequence &+= 1
                fixture.packets.append((Double(n) / 30 + videoDelay + Double(index) * 0.0002, bytes))
            }
        }
        // Decoded Opus sample j is capture time (j − pre-skip) / 48 kHz: the RTP clock reads
        // audioBase + pre-skip + 48000·t at capture time t.
        for (i, packet) in ogg.packets.enumerated() {
            let bytes = RTPPacketBuilder(payloadType: 111, sequenceNumber: audioSequence, timestamp: audioBase &+ UInt32(i * 960),
                                         ssrc: audioSSRC, payload: packet.data).serialize()
            audioSequence &+= 1
            fixture.packets.append((Double(i * 960 - ogg.preSkip) / 48000 + audioDelay, bytes))
        }
        if senderReports {
            // The sender's NTP clock: capture time plus an arbitrary epoch. First reports late.
            let epoch = UInt64(3_950_000_000) << 32
            for second in 0..<4 {
                let videoAt = 0.3 + Double(second), audioAt = 0.45 + Double(second)
                fixture.reports.append((videoAt + videoDelay, RTCPSenderReport(
                    ssrc: videoSSRC, ntpTimestamp: epoch + UInt64(videoAt * 4_294_967_296),
                    rtpTimestamp: videoBase &+ UInt32(videoAt * 90000), packetCount: 0, octetCount: 0)))
                fixture.reports.append((audioAt + audioDelay, RTCPSenderReport(
                    ssrc: audioSSRC, ntpTimestamp: epoch + UInt64(audioAt * 4_294_967_296),
                    rtpTimestamp: audioBase &+ UInt32(ogg.preSkip) &+ UInt32(audioAt * 48000), packetCount: 0, octetCount: 0)))
            }
        }
        return fixture
    }

    func relay(_ fixture: Fixture) throws -> [UInt8] {
        let sink = FLVMemorySink()
        let media = GuestMediaSession(
            routes: .init(videoPayloadType: 125, videoRTXPayloadType: nil, videoCodec: .h264, audioPayloadType: 111),
            video: VideoReceivePipeline(inputCodec: .h264, transcoder: nil, now: start),
            audio: AudioReceivePipeline(transcoder: try AudioTranscoder(), now: start), sink: sink)
        enum Event { case rtp([UInt8]), rtcp(RTCPSenderReport) }
        let events = (fixture.packets.map { ($0.arrival, Event.rtp($0.bytes)) } + fixture.reports.map { ($0.arrival, Event.rtcp($0.report)) })
            .sorted { $0.0 < $1.0 }
        for (arrival, event) in events {
            let now = start + .nanoseconds(Int64(arrival * 1e9))
            switch event {
            case .rtp(let bytes): _ = media.handle(ReceivedRTP(bytes: bytes, header: try RTPPacketView.parse(bytes)), now: now)
            case .rtcp(let report): media.handle(rtcp: [.senderReport(report)], now: now)
            }
        }
        _ = media.tick(now: start + .seconds(10))
        media.finish()
        return sink.bytes
    }

    /// Presentation times of the white frames in the FLV (seconds).
    func flashTimes(_ path: String) throws -> [Double] {
        let result = try ExternalTool.run("ffmpeg", ["-v", "error", "-copyts", "-i", path, "-map", "0:v",
                                                     "-vf", "signalstats,metadata=print:key=lavfi.signalstats.YAVG:file=-", "-f", "null", "-"])
        #expect(result.status == 0, "\(result.stderr)")
        var times: [Double] = []
        var time = 0.0
        for line in result.text.split(separator: "\n") {
            if let range = line.range(of: "pts_time:") {
                time = Double(line[range.upperBound...].split(separator: " ").first ?? "") ?? 0
            } else if let range = line.range(of: "YAVG=") {
                if (Double(line[range.upperBound...]) ?? 0) > 128 { times.append(time) }
            }
        }
        return times
    }

    /// Onset times of the beeps in the FLV (seconds), placed by the timestamps of the AAC frames
    /// that carry them, as a player does.
    func beepOnsets(_ path: String) throws -> [Double] {
        let frames = try ExternalTool.run("ffprobe", ["-v", "error", "-select_streams", "a", "-show_entries",
                                                      "frame=pts_time,nb_samples", "-of", "csv=p=0", path])
        #expect(frames.status == 0, "\(frames.stderr)")
        let table = frames.text.split(separator: "\n").compactMap { line -> (time: Double, samples: Int)? in
            let fields = line.split(separator: ",")
            guard fields.count >= 2, let time = Double(fields[0]), let samples = Int(fields[1]) else { return nil }
            return (time, samples)
        }
        let decoded = try ExternalTool.run("ffmpeg", ["-v", "error", "-i", path, "-map", "0:a", "-ac", "1", "-f", "f32le", "-"])
        #expect(decoded.status == 0, "\(decoded.stderr)")
        let samples: [Float] = decoded.stdout.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        // Sample index → time through the frame that holds it.
        var starts: [(first: Int, time: Double)] = []
        var first = 0
        for frame in table {
            starts.append((first, frame.time))
            first += frame.samples
        }
        func time(ofSample index: Int) -> Double {
            let frame = starts.last { $0.first <= index } ?? (0, 0)
            return frame.time + Double(index - frame.first) / 48000
        }
        // Peak per millisecond; an onset is the first loud millisecond after 300 ms of quiet.
        let block = 48
        let peaks = stride(from: 0, to: samples.count - block, by: block).map { at in
            samples[at..<(at + block)].reduce(0) { max($0, abs($1)) }
        }
        let threshold = (peaks.max() ?? 0) * 0.25
        var onsets: [Double] = []
        var quiet = 0
        for (index, peak) in peaks.enumerated() {
            if peak > threshold {
                if quiet >= 300 {
                    // Refine to the first loud sample of the block.
                    let base = index * block
                    let offset = (0..<block).first { abs(samples[base + $0]) > threshold } ?? 0
                    onsets.append(time(ofSample: base + offset))
                }
                quiet = 0
            } else {
                quiet += 1
            }
        }
        return onsets
    }

    /// Audio onset minus flash time for every flash, and the files' judgement.
    func offsets(of flv: [UInt8]) throws -> [Double] {
        let dir = try ExternalTool.temporaryDirectory("avsync-out")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("out.flv").path
        try Data(flv).write(to: URL(fileURLWithPath: path))
        let flashes = try flashTimes(path)
        let onsets = try beepOnsets(path)
        #expect(flashes.count == 3, "flashes at \(flashes)")
        #expect(onsets.count == 3, "beeps at \(onsets)")
        return flashes.map { flash in
            let nearest = onsets.min { abs($0 - flash) < abs($1 - flash) } ?? .infinity
            return nearest - flash
        }
    }

    @Test func flashesAndBeepsStayTogetherThroughTheRelay() throws {
        let dir = try ExternalTool.temporaryDirectory("avsync")
        defer { try? FileManager.default.removeItem(at: dir) }
        let (h264, ogg) = try Self.encode(in: dir)
        let synced = try offsets(of: relay(Self.packetize(h264: h264, ogg: ogg, seed: 21, senderReports: true)))
        for offset in synced {
            #expect(abs(offset) < 0.020, "audio − video = \(Int(offset * 1000)) ms (all: \(synced.map { Int($0 * 1000) }))")
        }
        // The same stream without Sender Reports: placed by arrival, the beeps come 80 ms late.
        // (This is what the reports fix, and shows the check can fail.)
        let unsynced = try offsets(of: relay(Self.packetize(h264: h264, ogg: ogg, seed: 21, senderReports: false)))
        for offset in unsynced { #expect(abs(offset - 0.080) < 0.020, "without reports: \(Int(offset * 1000)) ms") }
    }
}

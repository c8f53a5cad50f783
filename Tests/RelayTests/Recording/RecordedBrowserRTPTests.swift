import Foundation
import Testing
@testable import Relay

/// Issue 6's must-show on real browser RTP: each recording in Fixtures/rtp (Chromium H.264+Opus
/// and VP8+Opus, decrypted, as FakeCalls' record mode wrote it) is fed into relayd's receive side
/// (GuestMediaSession with the video/audio pipelines, as GuestRelay builds it) at the recorded
/// arrival times on a manual clock, into an FLV file that ffprobe judges: every frame decodes,
/// one video frame out per complete source frame from the first keyframe on, audio as long as
/// the Opus within one AAC frame, monotonic timestamps, H.264 + AAC.
@Suite struct RecordedBrowserRTPTests {
    /// What the recording holds, read from its files.
    struct Recording {
        var videoPT: UInt8
        var videoRTXPT: UInt8?
        var videoCodec: VideoReceivePipeline.InputCodec
        var audioPT: UInt8
        /// RTP of both tracks (port 5004), merged in capture order.
        var packets: [Pcap.Datagram]

        init(_ name: String) throws {
            let directory = "rtp/\(name)/"
            let answer = try SDP.parse(String(contentsOf: FixturePaths.url(directory + "answer.sdp"), encoding: .utf8))
            let video = try #require(answer.mediaSections.first { $0.kind == .video }?.negotiatedCodecs)
            let audio = try #require(answer.mediaSections.first { $0.kind == .audio }?.negotiatedCodecs)
            let videoCodec = try #require(video.codecs.first)
            videoPT = UInt8(videoCodec.payloadType)
            videoRTXPT = video.rtxPayloadType(forMedia: videoCodec.payloadType).map(UInt8.init)
            self.videoCodec = videoCodec.name.lowercased() == "vp8" ? .vp8 : .h264
            audioPT = UInt8(try #require(audio.codecs.first).payloadType)
            var all: [Pcap.Datagram] = []
            for track in ["video", "audio"] {
                let bytes = [UInt8](try Data(contentsOf: FixturePaths.url(directory + "\(track).pcap")))
                all += try Pcap.datagrams(in: bytes).filter { $0.destinationPort == 5004 }
            }
            // Stable: within one track the file order is the arrival order.
            packets = all.enumerated().sorted { ($0.element.timestampMicros, $0.offset) < ($1.element.timestampMicros, $1.offset) }
                .map(\.element)
        }

        /// Distinct RTP timestamps of the video media SSRC from the first keyframe on: the
        /// pictures a receiver can decode (loopback: nothing was lost).
        func completeVideoFrames() throws -> Int {
            var timestamps = Set<UInt32>()
            var keyframeSeen = false
            for datagram in packets {
                let header = try RTPPacketView.parse(datagram.payload)
                guard header.payloadType == videoPT else { continue }
                let payload = Array(datagram.payload[header.payloadRange])
                if !keyframeSeen { keyframeSeen = Self.startsKeyframe(payload, codec: videoCodec) }
                if keyframeSeen { timestamps.insert(header.timestamp) }
            }
            return timestamps.count
        }

        static func startsKeyframe(_ payload: [UInt8], codec: VideoReceivePipeline.InputCodec) -> Bool {
            guard let first = payload.first else { return false }
            switch codec {
            case .h264:
                switch first & 0x1F {
                case 5: return true
                case 24:  // STAP-A: look at each NAL (browsers put SPS/PPS here, just before the IDR)
                    var offset = 1
                    while offset + 2 < payload.count {
                        let size = Int(payload[offset]) << 8 | Int(payload[offset + 1])
                        if [5, 7].contains(payload[offset + 2] & 0x1F) { return true }
                        offset += 2 + size
                    }
                    return false
                case 28: return payload.count > 1 && payload[1] & 0x80 != 0 && payload[1] & 0x1F == 5
                default: return false
                }
            case .vp8:
                return payload.withUnsafeBytes { bytes in
                    guard let descriptor = VP8PayloadDescriptor(bytes), descriptor.startsPicture else { return false }
                    return bytes[descriptor.length] & 0x01 == 0
                }
            }
        }

        /// How many pictures are keyframes, and whether the very first video packet starts one.
        func keyframes() throws -> (count: Int, first: Bool) {
            var timestamps = Set<UInt32>()
            var first: Bool?
            for datagram in packets {
                let header = try RTPPacketView.parse(datagram.payload)
                guard header.payloadType == videoPT else { continue }
                let starts = Self.startsKeyframe(Array(datagram.payload[header.payloadRange]), codec: videoCodec)
                if first == nil { first = starts }
                if starts { timestamps.insert(header.timestamp) }
            }
            return (timestamps.count, first ?? false)
        }

        /// Opus samples (48 kHz) the audio RTP spans: last − first timestamp + one packet.
        func opusSamples() throws -> Int {
            let timestamps = try packets.compactMap { datagram -> UInt32? in
                let header = try RTPPacketView.parse(datagram.payload)
                return header.payloadType == audioPT ? header.timestamp : nil
            }
            guard let first = timestamps.first, let last = timestamps.last else { return 0 }
            return Int(last &- first) + 960
        }
    }

    /// Feeds the recording through GuestMediaSession at its arrival times; returns the FLV.
    func relay(_ recording: Recording) throws -> (flv: [UInt8], sink: FLVMemorySink) {
        let start = ContinuousClock.now
        let video = VideoReceivePipeline(
            inputCodec: recording.videoCodec,
            transcoder: recording.videoCodec == .vp8 ? try VideoTranscoder(inputCodec: .vp8, video: VideoConfig()) : nil,
            now: start)
        let sink = FLVMemorySink()
        let media = GuestMediaSession(
            routes: .init(videoPayloadType: Int(recording.videoPT), videoRTXPayloadType: recording.videoRTXPT.map(Int.init),
                          videoCodec: recording.videoCodec, audioPayloadType: Int(recording.audioPT)),
            video: video, audio: AudioReceivePipeline(transcoder: try AudioTranscoder(), now: start), sink: sink)
        let firstMicros = recording.packets.first?.timestampMicros ?? 0
        var now = start
        for datagram in recording.packets {
            now = start + .microseconds(Int64(datagram.timestampMicros - firstMicros))
            let header = try RTPPacketView.parse(datagram.payload)
            _ = media.handle(ReceivedRTP(bytes: datagram.payload, header: header), now: now)
        }
        _ = media.tick(now: now + .seconds(5))
        media.finish()
        return (sink.bytes, sink)
    }

    struct Probe {
        var streams: [[String: Any]]
        var frames: [[String: Any]]
        var stderr: String

        func stream(_ type: String) -> [String: Any]? { streams.first { $0["codec_type"] as? String == type } }

        func frameTimes(_ type: String) -> [Double] {
            frames.filter { $0["media_type"] as? String == type }
                .compactMap { ($0["pkt_dts_time"] as? String ?? $0["best_effort_timestamp_time"] as? String).flatMap(Double.init) }
        }
    }

    func probe(_ flv: [UInt8]) throws -> Probe {
        let dir = try ExternalTool.temporaryDirectory("recorded-rtp")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("out.flv").path
        try Data(flv).write(to: URL(fileURLWithPath: path))
        let result = try ExternalTool.run("ffprobe", ["-v", "error", "-count_frames", "-show_streams", "-show_frames",
                                                      "-show_entries", "frame=media_type,pkt_dts_time,best_effort_timestamp_time,key_frame,width,height:stream",
                                                      "-of", "json", path])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any]
        return Probe(streams: json?["streams"] as? [[String: Any]] ?? [], frames: json?["frames"] as? [[String: Any]] ?? [],
                     stderr: result.stderr)
    }

    static let aacPriming = 1024

    @Test(arguments: ["chromium-h264-opus", "chromium-vp8-opus"])
    func aRecordedBrowserPublishBecomesDecodableH264AndAAC(_ name: String) throws {
        let recording = try Recording(name)
        let expectedVideoFrames = try recording.completeVideoFrames()
        let keyframes = try recording.keyframes()
        #expect(keyframes.first, "the recording starts with a keyframe")
        #expect(keyframes.count >= 4, "\(keyframes.count) keyframes (record mode asks for one every 2 s)")
        #expect(expectedVideoFrames >= 150, "the recording holds \(expectedVideoFrames) frames from its first keyframe")
        let (flv, sink) = try relay(recording)
        let probe = try probe(flv)
        #expect(probe.stderr.isEmpty, "the decoder complained: \(probe.stderr)")

        let video = try #require(probe.stream("video"))
        #expect(video["codec_name"] as? String == "h264")
        #expect(video["width"] as? Int == 640 && video["height"] as? Int == 480)
        let decodedVideo = Int(video["nb_read_frames"] as? String ?? "") ?? -1
        #expect(decodedVideo == expectedVideoFrames, "decoded \(decodedVideo), source has \(expectedVideoFrames) complete frames")
        #expect(sink.videoFrames == expectedVideoFrames)

        let audio = try #require(probe.stream("audio"))
        #expect(audio["codec_name"] as? String == "aac")
        let aacFrames = Int(audio["nb_read_frames"] as? String ?? "") ?? -1
        let opusSamples = try recording.opusSamples()
        // The AAC encoder's priming frame (1024 samples, written first at pts −1024, see
        // AudioTranscoder) is decoded too; without it the audio lasts as long as the Opus did.
        let aacSamples = aacFrames * 1024 - Self.aacPriming
        #expect(abs(aacSamples - opusSamples) <= 1024, "\(aacFrames) AAC frames (\(aacSamples) samples after priming) for \(opusSamples) Opus samples")

        for type in ["video", "audio"] {
            let times = probe.frameTimes(type)
            #expect(times.count == (type == "video" ? decodedVideo : aacFrames), "\(type): every frame has a timestamp")
            #expect(zip(times, times.dropFirst()).allSatisfy { $0 < $1 }, "\(type) timestamps increase")
        }
    }
}

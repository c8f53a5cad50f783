import Foundation
import Relay

/// Fixture packets as an RTP sender would number and stamp them.
struct OpusRTPPacket {
    var payload: [UInt8]
    var timestamp: UInt32
    var sequence: UInt64
    var samples: Int
}

enum AudioFixture {
    static let stereoTone = "audio/tone-440L-660R-stereo-2s.opus.ogg"
    static let monoTone = "audio/tone-440-mono-2s.opus.ogg"
    static let monoFEC = "audio/tone-440-mono-fec-2s.opus.ogg"

    static func reader(_ name: String) throws -> OggOpusReader {
        try OggOpusReader(Array(Data(contentsOf: FixturePaths.url(name))))
    }

    /// The fixture's packets, stamped from `firstTimestamp` by their own durations.
    static func rtpPackets(_ name: String, firstTimestamp: UInt32 = 1_000_000, firstSequence: UInt64 = 5000) throws -> [OpusRTPPacket] {
        var timestamp = firstTimestamp
        var sequence = firstSequence
        return try reader(name).packets.map { packet in
            let samples = packet.data.withUnsafeBytes { OpusPacketInfo($0)?.sampleCount ?? 0 }
            defer {
                timestamp &+= UInt32(samples)
                sequence += 1
            }
            return OpusRTPPacket(payload: packet.data, timestamp: timestamp, sequence: sequence, samples: samples)
        }
    }
}

/// Runs packets through a fresh transcoder and keeps everything a test may look at.
struct TranscodeRun {
    var frames: [AACFrame] = []
    var stats: AudioTranscoder.Stats
    var audioSpecificConfig: [UInt8]
    var encoderDelay: Int

    init(_ packets: [OpusRTPPacket], configuration: AudioTranscoder.Configuration = .init()) throws {
        let transcoder = try AudioTranscoder(configuration: configuration)
        var frames: [AACFrame] = []
        for packet in packets {
            frames += try transcoder.push(payload: packet.payload, rtpTimestamp: packet.timestamp, sequence: packet.sequence)
        }
        frames += try transcoder.finish()
        self.frames = frames
        stats = transcoder.stats
        audioSpecificConfig = transcoder.audioSpecificConfig
        encoderDelay = transcoder.encoderDelay
    }

    /// Every frame 1024 samples after the one before, starting at −encoderDelay.
    var timestampsContinuous: Bool {
        for (index, frame) in frames.enumerated() where frame.pts != Int64(index * 1024 - encoderDelay) { return false }
        return !frames.isEmpty
    }

    /// The frames as an ADTS stream (7-byte header per frame, no CRC), which ffprobe reads.
    var adts: Data {
        var data = Data()
        for frame in frames {
            let length = frame.data.count + 7
            // profile LC (object type 2) − 1 = 1, frequency index 3 (48 kHz), channel configuration 2
            let profile: UInt8 = 1, frequencyIndex: UInt8 = 3, channelConfiguration: UInt8 = 2
            var header = [UInt8](repeating: 0, count: 7)
            header[0] = 0xFF
            header[1] = 0xF1  // MPEG-4, layer 0, no CRC
            header[2] = profile << 6 | frequencyIndex << 2 | channelConfiguration >> 2
            header[3] = (channelConfiguration & 3) << 6 | UInt8((length >> 11) & 0x03)
            header[4] = UInt8((length >> 3) & 0xFF)
            header[5] = UInt8((length & 0x07) << 5) | 0x1F  // buffer fullness 0x7FF: VBR
            header[6] = 0xFC  // one raw data block
            data.append(contentsOf: header)
            data.append(contentsOf: frame.data)
        }
        return data
    }
}

/// What ffprobe and ffmpeg say about an AAC stream written to disk.
struct ForeignAACCheck {
    var codec: String
    var sampleRate: Int
    var channels: Int
    var frames: Int
    /// Decoded interleaved stereo samples (ffmpeg's aac decoder).
    var pcm: [Float]

    init(adts: Data) throws {
        let dir = try ExternalTool.temporaryDirectory("audio")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("out.aac")
        try adts.write(to: file)
        let probe = try ExternalTool.run("ffprobe", ["-v", "error", "-show_streams", "-count_frames", "-of", "json", file.path])
        guard probe.status == 0,
              let json = try JSONSerialization.jsonObject(with: probe.stdout) as? [String: Any],
              let stream = (json["streams"] as? [[String: Any]])?.first
        else { throw ToolFailure(description: "ffprobe failed: \(probe.stderr)") }
        codec = stream["codec_name"] as? String ?? ""
        sampleRate = Int(stream["sample_rate"] as? String ?? "") ?? 0
        channels = stream["channels"] as? Int ?? 0
        frames = Int(stream["nb_read_frames"] as? String ?? "") ?? -1
        let decode = try ExternalTool.run("ffmpeg", ["-v", "error", "-i", file.path, "-f", "f32le", "-ac", "2", "-ar", "48000", "-"])
        guard decode.status == 0 else { throw ToolFailure(description: "ffmpeg decode failed: \(decode.stderr)") }
        pcm = decode.stdout.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    struct ToolFailure: Error, CustomStringConvertible { var description: String }

    func channel(_ index: Int) -> [Float] {
        stride(from: index, to: pcm.count, by: 2).map { pcm[$0] }
    }
}

enum Tone {
    /// Goertzel power of `frequency` over `samples[range]`, normalised by the length.
    static func power(_ samples: [Float], frequency: Double, range: Range<Int>) -> Double {
        let coefficient = 2 * cos(2 * Double.pi * frequency / 48000)
        var previous = 0.0, beforePrevious = 0.0
        for index in range {
            let current = Double(samples[index]) + coefficient * previous - beforePrevious
            beforePrevious = previous
            previous = current
        }
        let power = previous * previous + beforePrevious * beforePrevious - coefficient * previous * beforePrevious
        return power / Double(range.count * range.count)
    }

    /// The phase of a `frequency` sine in `samples[range]`, relative to sin(2πf·n) with n
    /// counted from `origin` (radians in −π…π).
    static func phase(_ samples: [Float], frequency: Double, range: Range<Int>, origin: Int) -> Double {
        var sine = 0.0, cosine = 0.0
        for index in range {
            let angle = 2 * Double.pi * frequency * Double(index - origin) / 48000
            sine += Double(samples[index]) * Foundation.sin(angle)
            cosine += Double(samples[index]) * Foundation.cos(angle)
        }
        return atan2(cosine, sine)
    }
}

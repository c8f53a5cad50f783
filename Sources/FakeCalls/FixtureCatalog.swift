import Foundation
import Relay

/// The recordings FakeCalls' fixture mode plays, by video codec: a publisher whose answer
/// negotiated H.264 gets the H.264 recording's video (and that recording's audio), VP8 the VP8
/// one's. A recording is a directory (Fixtures/rtp/chromium-h264-opus, …) holding `offer.sdp`
/// (the browser's offer: it names the payload types of the captures), `video.pcap` and/or
/// `audio.pcap`. Loaded once; values are shared by every session that plays them.
public struct FixtureCatalog: Sendable {
    public struct Recording: Sendable {
        /// The directory name (or "synthetic:<file>").
        public var name: String
        public var video: RecordedTrack?
        public var audio: RecordedTrack?

        public init(name: String, video: RecordedTrack?, audio: RecordedTrack?) {
            self.name = name
            self.video = video
            self.audio = audio
        }
    }

    public private(set) var recordings: [Recording]

    public init(recordings: [Recording]) { self.recordings = recordings }

    /// `directory` is one recording, or holds recordings as subdirectories (Fixtures/rtp).
    public init(directory: String) throws {
        let manager = FileManager.default
        if Self.isRecording(directory) {
            recordings = [try Self.loadRecording(directory: directory)]
            return
        }
        guard let names = try? manager.contentsOfDirectory(atPath: directory) else {
            throw RecordedTrack.LoadError(description: "cannot list the fixtures directory \(directory): check the path")
        }
        recordings = try names.sorted().map { "\(directory)/\($0)" }.filter(Self.isRecording).map(Self.loadRecording)
        guard !recordings.isEmpty else {
            throw RecordedTrack.LoadError(description: "\(directory) holds no recording (a directory with video.pcap or audio.pcap)")
        }
    }

    /// Plays the repository's media files where no recording covers a codec: the demo's fallback
    /// when Fixtures/rtp is not there.
    public static func synthetic(h264: String?, vp8: String?, opus: String?) throws -> FixtureCatalog {
        let audio = try opus.map(SyntheticRecording.track(ofMediaFile:))
        var recordings: [Recording] = []
        for file in [h264, vp8].compactMap({ $0 }) {
            recordings.append(Recording(name: "synthetic:\((file as NSString).lastPathComponent)",
                                        video: try SyntheticRecording.track(ofMediaFile: file), audio: audio))
        }
        if recordings.isEmpty, let audio { recordings.append(Recording(name: "synthetic:audio", video: nil, audio: audio)) }
        return FixtureCatalog(recordings: recordings)
    }

    /// This catalog, plus `other`'s recordings of video codecs it lacks.
    public func filling(from other: FixtureCatalog) -> FixtureCatalog {
        let have = Set(recordings.compactMap { $0.video?.codec })
        return FixtureCatalog(recordings: recordings + other.recordings.filter { $0.video.map { !have.contains($0.codec) } ?? false })
    }

    public var videoCodecs: [RecordedTrack.Codec] { recordings.compactMap { $0.video?.codec } }

    /// The recording to play for a session whose video negotiated `videoCodec` (nil: a session
    /// without video, which gets the first recording's audio).
    public func recording(videoCodec: RecordedTrack.Codec?) -> Recording? {
        guard let videoCodec else { return recordings.first { $0.audio != nil } }
        return recordings.first { $0.video?.codec == videoCodec }
    }

    // MARK: Loading

    static func isRecording(_ directory: String) -> Bool {
        let manager = FileManager.default
        return manager.fileExists(atPath: "\(directory)/video.pcap") || manager.fileExists(atPath: "\(directory)/audio.pcap")
    }

    /// One recording directory. The payload types of each capture are looked up in `offer.sdp`
    /// (the most used non-RTX type names the codec); without an offer, video is taken to be VP8
    /// when the directory name says so, else H.264.
    public static func loadRecording(directory: String) throws -> Recording {
        let name = (directory as NSString).lastPathComponent
        let offer = (try? String(contentsOfFile: "\(directory)/offer.sdp", encoding: .utf8)).flatMap { try? SDP.parse($0) }
        func load(_ file: String, kind: SDPMediaKind) throws -> RecordedTrack? {
            let path = "\(directory)/\(file)"
            guard let data = FileManager.default.contents(atPath: path) else { return nil }
            let datagrams: [Pcap.Datagram]
            do { datagrams = try Pcap.datagrams(in: [UInt8](data)) } catch {
                throw RecordedTrack.LoadError(description: "\(path): \(error)")
            }
            var codecByPT: [UInt8: RecordedTrack.Codec] = [:]
            var rtx = Set<UInt8>()
            for media in offer?.mediaSections ?? [] where media.kind == kind {
                for codec in media.negotiatedCodecs.all {
                    guard let pt = UInt8(exactly: codec.payloadType) else { continue }
                    if codec.isRTX { rtx.insert(pt) } else if let known = RecordedTrack.Codec(sdpName: codec.name) { codecByPT[pt] = known }
                }
            }
            var counts: [UInt8: Int] = [:]
            for datagram in datagrams where datagram.destinationPort == 5004 && datagram.payload.count > 12 {
                let pt = datagram.payload[1] & 0x7F
                if !rtx.contains(pt) { counts[pt, default: 0] += 1 }
            }
            let used = counts.filter { codecByPT[$0.key] != nil || offer == nil }.max { $0.value < $1.value }?.key
            let codec: RecordedTrack.Codec
            if let used, let known = codecByPT[used] {
                codec = known
            } else if offer == nil {
                codec = kind == .audio ? .opus : (name.lowercased().contains("vp8") ? .vp8 : .h264)
            } else {
                throw RecordedTrack.LoadError(description:
                    "\(path): no RTP with a payload type the offer.sdp beside it maps to H264, VP8 or opus (seen: \(counts.keys.sorted()))")
            }
            do {
                return try RecordedTrack(datagrams: datagrams, codec: codec, mediaPayloadTypes: used.map { [$0] } ?? [],
                                         rtxPayloadTypes: rtx)
            } catch {
                throw RecordedTrack.LoadError(description: "\(path): \(error)")
            }
        }
        return Recording(name: name, video: try load("video.pcap", kind: .video), audio: try load("audio.pcap", kind: .audio))
    }
}

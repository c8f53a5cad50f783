import Relay

/// Record mode's bookkeeping (sans-IO): which file each decrypted packet of a publisher session
/// belongs to. The caller (`PublisherRecorder`, on the SFU driver thread) does the file I/O.
///
/// Layout per publisher session: `<session>/<trackName>.pcap` with the track's RTP (media and
/// RTX) as UDP 5004→5004 and the publisher's RTCP about that track's SSRCs as UDP 5005→5005,
/// plus `<session>/offer.sdp` and `answer.sdp`.
///
/// Track names come from the Calls API (`tracks/new`), which learns them only after the media
/// side answered; packets of a mid whose name is not known yet are held (at most
/// `maximumHeldPackets`) and written once it is, or under `mid<mid>` when the session closes
/// first.
struct PublisherRecording {
    struct FileKey: Hashable, Sendable {
        var session: String
        /// The file's base name: the track name, or `mid<mid>` when it never became known.
        var name: String
    }

    /// File work for the caller, in order.
    enum Output: Equatable {
        /// Write a small text file `<session>/<name>` (created or replaced).
        case writeText(session: String, name: String, text: String)
        /// Append to `<session>/<name>.pcap` (opened on first use).
        case write(FileKey, Pcap.Datagram)
        /// Close every file of the session.
        case close(session: String)
    }

    /// What happened to one RTP packet.
    enum Disposition: Equatable {
        case write(FileKey, Pcap.Datagram)
        /// Held until the mid's track name is known.
        case held
        /// Not from a published mid of a recorded session.
        case ignored
    }

    static let rtpPort: UInt16 = 5004
    static let rtcpPort: UInt16 = 5005
    static let maximumHeldPackets = 4096

    private struct Track {
        var ssrcs: Set<UInt32> = []
        var name: String?
        var held: [Pcap.Datagram] = []

        mutating func take(_ datagram: Pcap.Datagram, ssrc: UInt32, session: String) -> Disposition {
            ssrcs.insert(ssrc)
            if let name { return .write(FileKey(session: session, name: name), datagram) }
            guard held.count < PublisherRecording.maximumHeldPackets else { return .ignored }
            held.append(datagram)
            return .held
        }
    }

    private struct Session {
        var tracks: [String: Track] = [:]
        var descriptionsWritten = false
    }

    private var sessions: [String: Session] = [:]

    /// A session's negotiation finished: it is recorded when it publishes at least one mid.
    mutating func negotiated(session: String, published: [SFUNegotiation.PublishedMid]) {
        guard !published.isEmpty else { return }
        var state = sessions[session] ?? Session()
        for mid in published {
            var track = state.tracks[mid.mid] ?? Track()
            track.ssrcs.formUnion(mid.ssrcs)
            track.ssrcs.formUnion(mid.rtxSSRCByMediaSSRC.values)
            state.tracks[mid.mid] = track
        }
        sessions[session] = state
    }

    /// The publisher's offer and the SFU's answer, as exchanged. Only the first pair of a
    /// recorded session is kept (the one that set its media up).
    mutating func descriptions(session: String, offer: String, answer: String) -> [Output] {
        guard var state = sessions[session], !state.descriptionsWritten else { return [] }
        state.descriptionsWritten = true
        sessions[session] = state
        return [.writeText(session: session, name: "offer.sdp", text: offer),
                .writeText(session: session, name: "answer.sdp", text: answer)]
    }

    /// The Calls API's names of the session's published tracks (mid → trackName): held packets
    /// of those mids come out now.
    mutating func trackNames(session: String, _ names: [String: String]) -> [Output] {
        guard var state = sessions[session] else { return [] }
        var out: [Output] = []
        for (mid, name) in names.sorted(by: { $0.key < $1.key }) where Self.isSafeFileName(name) {
            guard var track = state.tracks[mid], track.name == nil else { continue }
            track.name = name
            let key = FileKey(session: session, name: name)
            out += track.held.map { .write(key, $0) }
            track.held = []
            state.tracks[mid] = track
        }
        sessions[session] = state
        return out
    }

    /// One decrypted RTP packet (media or RTX) the publisher sent on `mid`.
    mutating func rtp(_ packet: [UInt8], ssrc: UInt32, session: String, mid: String, micros: UInt64) -> Disposition {
        let datagram = Pcap.Datagram(timestampMicros: micros, sourcePort: Self.rtpPort,
                                     destinationPort: Self.rtpPort, payload: packet)
        // Mutated in place, so the held array is not copied per packet.
        return sessions[session]?.tracks[mid]?.take(datagram, ssrc: ssrc, session: session) ?? .ignored
    }

    /// One decrypted RTCP compound packet from the publisher: per track, the parts about that
    /// track's SSRCs (Sender Reports, SDES, BYE), re-serialized.
    func rtcp(_ packets: [RTCPPacket], session: String, micros: UInt64) -> [Output] {
        guard let state = sessions[session] else { return [] }
        var out: [Output] = []
        for (mid, track) in state.tracks.sorted(by: { $0.key < $1.key }) {
            let concerning = Self.packets(packets, concerning: track.ssrcs)
            guard !concerning.isEmpty else { continue }
            let key = FileKey(session: session, name: track.name ?? "mid\(mid)")
            out.append(.write(key, Pcap.Datagram(timestampMicros: micros, sourcePort: Self.rtcpPort,
                                                 destinationPort: Self.rtcpPort, payload: RTCPCompound.serialize(concerning))))
        }
        return out
    }

    /// The session ended: held packets go out under `mid<mid>` and its files are closed.
    mutating func closed(session: String) -> [Output] {
        guard let state = sessions.removeValue(forKey: session) else { return [] }
        var out: [Output] = []
        for (mid, track) in state.tracks.sorted(by: { $0.key < $1.key }) where track.name == nil {
            let key = FileKey(session: session, name: "mid\(mid)")
            out += track.held.map { .write(key, $0) }
        }
        out.append(.close(session: session))
        return out
    }

    /// Every recorded session, closed (FakeCalls stops).
    mutating func closeAll() -> [Output] {
        sessions.keys.sorted().flatMap { closed(session: $0) }
    }

    /// The RTCP packets (or the parts of them) that describe one of `ssrcs` as a sender.
    static func packets(_ packets: [RTCPPacket], concerning ssrcs: Set<UInt32>) -> [RTCPPacket] {
        var out: [RTCPPacket] = []
        for packet in packets {
            switch packet {
            case .senderReport(let report) where ssrcs.contains(report.ssrc):
                out.append(packet)
            case .sourceDescription(let description):
                let chunks = description.chunks.filter { ssrcs.contains($0.ssrc) }
                if !chunks.isEmpty { out.append(.sourceDescription(RTCPSourceDescription(chunks: chunks))) }
            case .bye(let bye):
                let sources = bye.ssrcs.filter { ssrcs.contains($0) }
                if !sources.isEmpty { out.append(.bye(RTCPBye(ssrcs: sources, reason: bye.reason))) }
            default:
                break
            }
        }
        return out
    }

    /// A track name becomes a file name: no path separators, no dot files.
    static func isSafeFileName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 200 && !name.hasPrefix(".") && !name.contains("/") && !name.contains("\0")
    }
}


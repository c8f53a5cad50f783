/// TEMPORARY stand-in for FakeCalls' real media side: writes SDP by echoing the offer's
/// m-sections line by line. It runs no ICE/DTLS/SRTP, its fingerprint is a placeholder and its
/// candidate port (9) is not a listening socket — good for testing the HTTP API only. The
/// integrator replaces it with the SDP library based media side.
public struct MinimalSDPMediaSide: FakeSFUMediaSide {
    public struct SDPError: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// Placeholder sha-256 fingerprint (32 bytes of 0xAB): not the certificate of anything.
    static let placeholderFingerprint = "sha-256 " + Array(repeating: "AB", count: 32).joined(separator: ":")
    static let maxSDPLength = 64 * 1024

    public init() {}

    public func mediaSections(of sdp: String) throws -> [FakeMediaSection] {
        try Self.parse(sdp).map(\.section)
    }

    public func answer(toOffer sdp: String, session: String) async throws -> String {
        let sections = try Self.parse(sdp)
        var lines = Self.sessionLines(session: session, mids: sections.map(\.section.mid))
        for parsed in sections {
            let flipped: String
            switch parsed.section.direction {
            case "sendonly": flipped = "recvonly"
            case "recvonly": flipped = "sendonly"
            case "inactive": flipped = "inactive"
            default: flipped = "sendrecv"
            }
            let setup = parsed.setup == "passive" ? "active" : "passive"
            lines.append(parsed.mLine)
            lines.append("c=IN IP4 127.0.0.1")
            lines.append("a=mid:\(parsed.section.mid)")
            lines += Self.transportLines(setup: setup)
            lines.append("a=\(flipped)")
            lines += parsed.codecLines
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    public func offer(forTracks tracks: [PublishedTrackInfo], session: String) async throws -> String {
        var lines = Self.sessionLines(session: session, mids: tracks.map(\.mid))
        for track in tracks {
            if track.kind == "audio" {
                lines.append("m=audio 9 UDP/TLS/RTP/SAVPF 111")
            } else {
                lines.append("m=video 9 UDP/TLS/RTP/SAVPF 125 37")
            }
            lines.append("c=IN IP4 127.0.0.1")
            lines.append("a=mid:\(track.mid)")
            lines += Self.transportLines(setup: "actpass")
            lines.append("a=sendonly")
            lines.append("a=msid:\(track.publisherSession) \(track.trackName)")
            if track.kind == "audio" {
                lines.append("a=rtpmap:111 opus/48000/2")
                lines.append("a=fmtp:111 minptime=10;useinbandfec=1")
            } else {
                lines.append("a=rtpmap:125 H264/90000")
                lines.append("a=fmtp:125 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f")
                lines.append("a=rtcp-fb:125 nack")
                lines.append("a=rtcp-fb:125 nack pli")
                lines.append("a=rtpmap:37 rtx/90000")
                lines.append("a=fmtp:37 apt=125")
            }
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    public func accept(answer sdp: String, session: String) async throws {
        let sections = try Self.parse(sdp)
        if sections.contains(where: { $0.setup == "actpass" }) {
            throw SDPError(description: "the answer says a=setup:actpass; an answer must pick active or passive")
        }
    }

    public func sessionClosed(_ session: String) async {}

    // MARK: text

    private static func sessionLines(session: String, mids: [String]) -> [String] {
        [
            "v=0",
            "o=- 1 2 IN IP4 127.0.0.1",
            "s=-",
            "t=0 0",
            "a=ice-lite",
            "a=group:BUNDLE \(mids.joined(separator: " "))",
            "a=fingerprint:\(placeholderFingerprint)",
        ]
    }

    private static func transportLines(setup: String) -> [String] {
        [
            "a=ice-ufrag:fakecalls",
            "a=ice-pwd:fakecallsplaceholderpassword",
            "a=setup:\(setup)",
            "a=rtcp-mux",
            "a=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host",
            "a=end-of-candidates",
        ]
    }

    struct ParsedSection {
        var section: FakeMediaSection
        var mLine: String
        var setup: String?
        var codecLines: [String]
    }

    /// Bounds-checked line parse: `v=0` first, every m-section needs an `a=mid`.
    static func parse(_ sdp: String) throws -> [ParsedSection] {
        guard sdp.utf8.count <= maxSDPLength else { throw SDPError(description: "SDP longer than 64 KiB") }
        let lines = sdp.split(whereSeparator: { $0 == "\r\n" || $0 == "\n" || $0 == "\r" }).map(String.init)
        guard lines.first == "v=0" else { throw SDPError(description: "SDP does not start with v=0") }
        var sessionSetup: String?
        var sessionDirection: String?
        var result: [ParsedSection] = []
        var current: (mLine: String, kind: String, mid: String?, direction: String?, setup: String?, codecs: [String])?
        func finish() throws {
            guard let open = current else { return }
            guard let mid = open.mid, !mid.isEmpty else {
                throw SDPError(description: "m-section \(result.count) (\(open.kind)) has no a=mid")
            }
            if result.contains(where: { $0.section.mid == mid }) {
                throw SDPError(description: "mid \(mid) appears twice")
            }
            result.append(ParsedSection(
                section: FakeMediaSection(mid: mid, kind: open.kind,
                                          direction: open.direction ?? sessionDirection ?? "sendrecv"),
                mLine: open.mLine, setup: open.setup ?? sessionSetup, codecLines: open.codecs))
        }
        let directions: Set<String> = ["sendonly", "recvonly", "sendrecv", "inactive"]
        for line in lines {
            guard line.count >= 2, line.dropFirst().first == "=" else {
                throw SDPError(description: "malformed SDP line")
            }
            if line.hasPrefix("m=") {
                try finish()
                let fields = line.dropFirst(2).split(separator: " ")
                guard fields.count >= 4, ["audio", "video", "application"].contains(String(fields[0])) else {
                    throw SDPError(description: "malformed m= line")
                }
                current = (line, String(fields[0]), nil, nil, nil, [])
                continue
            }
            let value = line.hasPrefix("a=") ? String(line.dropFirst(2)) : nil
            guard let attribute = value else { continue }
            if current == nil {
                if attribute.hasPrefix("setup:") { sessionSetup = String(attribute.dropFirst(6)) }
                if directions.contains(attribute) { sessionDirection = attribute }
                continue
            }
            if attribute.hasPrefix("mid:") { current?.mid = String(attribute.dropFirst(4)) }
            else if attribute.hasPrefix("setup:") { current?.setup = String(attribute.dropFirst(6)) }
            else if directions.contains(attribute) { current?.direction = attribute }
            else if attribute.hasPrefix("rtpmap:") || attribute.hasPrefix("fmtp:") || attribute.hasPrefix("rtcp-fb:") {
                current?.codecs.append(line)
            }
        }
        try finish()
        guard !result.isEmpty else { throw SDPError(description: "SDP has no m= lines") }
        return result
    }
}

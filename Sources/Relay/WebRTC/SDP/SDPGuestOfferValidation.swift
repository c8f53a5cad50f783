extension SDP {
    /// Codec names (lowercased) the relay can take from a guest: it passes H.264 through,
    /// decodes VP8, and decodes Opus.
    public static let usableGuestCodecs: Set<String> = ["h264", "vp8", "opus"]

    /// Checks a guest's publish offer before anything is sent to Calls, and returns it parsed.
    ///
    /// Refuses, in this order: unparsable text (400), no m-lines, only a data channel, an active
    /// audio/video m-line on a transport other than RTP/SAVP(F), no audio/video m-line that sends a
    /// usable codec, active m-lines without ICE credentials or a fingerprint (422).
    /// "Active" means audio/video, not rejected (port 0 without bundle-only). An m-line that is
    /// recvonly/inactive is allowed alongside a sending one (the guest page may add one), but an
    /// offer where nothing is sent is refused: there would be nothing to relay.
    @discardableResult
    public static func validateGuestOffer(_ text: String) throws(SDPError) -> SDP {
        let sdp = try parse(text)
        try sdp.validateAsGuestOffer()
        return sdp
    }

    @discardableResult
    public static func validateGuestOffer(bytes: [UInt8]) throws(SDPError) -> SDP {
        let sdp = try parse(bytes: bytes)
        try sdp.validateAsGuestOffer()
        return sdp
    }

    public func validateAsGuestOffer() throws(SDPError) {
        guard !mediaSections.isEmpty else { throw .noMediaSections }
        let audioVideo = mediaSections.filter { $0.kind == .audio || $0.kind == .video }
        if audioVideo.isEmpty {
            if mediaSections.allSatisfy({ $0.kind == .application }) { throw .onlyDataChannel }
            throw .noUsableCodec(offered: [])
        }
        let active = audioVideo.filter { !$0.isRejected }
        for media in active where !media.proto.uppercased().hasSuffix("RTP/SAVPF") && !media.proto.uppercased().hasSuffix("RTP/SAVP") {
            throw .unsupportedTransport(mid: media.mid, proto: media.proto)
        }

        let usable = active.filter { media in
            media.negotiatedCodecs.codecs.contains { Self.usableGuestCodecs.contains($0.name.lowercased()) }
        }
        if usable.isEmpty {
            var offered: [String] = []
            for media in active {
                for codec in media.negotiatedCodecs.codecs where !offered.contains(codec.name) { offered.append(codec.name) }
            }
            throw .noUsableCodec(offered: offered)
        }
        guard usable.contains(where: { direction(for: $0).sends }) else { throw .nothingToSend }

        for media in active {
            guard let ufrag = iceUfrag(for: media), !ufrag.isEmpty,
                  let pwd = icePwd(for: media), !pwd.isEmpty else {
                throw .missingICECredentials(mid: media.mid)
            }
            guard let fingerprint = fingerprint(for: media), !fingerprint.value.isEmpty else {
                throw .missingFingerprint(mid: media.mid)
            }
        }
    }
}

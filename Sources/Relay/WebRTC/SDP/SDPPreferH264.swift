/// The result of `SDP.preferH264(_:)`.
public struct SDPH264Preference: Sendable, Equatable {
    /// The offer with H.264 moved to the front of each video m-line.
    public var sdp: SDP
    /// Whether some video m-line offers H.264 packetization-mode 1 with profile 42e01f or 42001f.
    public var foundH264: Bool
}

extension SDP {
    /// Profiles the relay passes through without transcoding, best first
    /// (Constrained Baseline, then Baseline, both level 3.1 as browsers offer them).
    public static let preferredH264Profiles = ["42e01f", "42001f"]

    /// Munges a browser's offer so the SFU picks H.264: in each video m-line the H.264
    /// packetization-mode=1 payload types with a preferred profile come first (each followed by its
    /// RTX), then every other format in its original order. Nothing is dropped and no other line
    /// changes, so the browser still accepts an answer that picks another codec.
    public static func preferH264(_ offer: SDP) -> SDPH264Preference {
        var result = offer
        var found = false
        for index in result.mediaSections.indices where result.mediaSections[index].kind == .video {
            let media = result.mediaSections[index]
            let codecs = media.negotiatedCodecs
            var front: [Int] = []
            for profile in preferredH264Profiles {
                for codec in codecs.codecs where codec.h264PacketizationMode == 1 && codec.h264ProfileLevelId == profile {
                    guard !front.contains(codec.payloadType) else { continue }
                    front.append(codec.payloadType)
                    for rtx in codecs.all where rtx.isRTX && codecs.mediaPayloadType(forRTX: rtx.payloadType) == codec.payloadType {
                        if !front.contains(rtx.payloadType) { front.append(rtx.payloadType) }
                    }
                }
            }
            guard !front.isEmpty else { continue }
            found = true
            let frontFormats = front.map { String($0) }
            let rest = media.mediaLine.formats.filter { format in
                guard let pt = Int(format) else { return true }
                return !front.contains(pt)
            }
            result.mediaSections[index].mediaLine.formats = frontFormats + rest
        }
        return SDPH264Preference(sdp: result, foundH264: found)
    }

    /// Text convenience for the WHIP endpoint.
    public static func preferH264(sdpText: String) throws(SDPError) -> (sdp: String, foundH264: Bool) {
        let preference = preferH264(try parse(sdpText))
        return (preference.sdp.serialized, preference.foundH264)
    }
}

/// The production offer policy: validates a browser's offer with the SDP library and reorders
/// its video codecs so the browser sends H.264 (passthrough, no transcode) when it can.
public struct SDPGuestOfferPolicy: GuestOfferPolicy {
    public init() {}

    public func prepare(offer text: String) throws -> PreparedGuestOffer {
        let offer: SDP
        do {
            offer = try SDP.validateGuestOffer(text)
        } catch {
            throw WHIPOfferRejection(status: error.httpStatus, reason: error.description)
        }
        let munged = SDP.preferH264(offer).sdp
        let tracks = munged.sendingTracks.map { PreparedGuestOffer.Track(kind: $0.kind.description, mid: $0.mid) }
        let ufrag = munged.mediaSections.lazy.compactMap { munged.iceUfrag(for: $0) }.first ?? ""
        return PreparedGuestOffer(sdp: munged.serialized, tracks: tracks, iceUfrag: ufrag)
    }
}

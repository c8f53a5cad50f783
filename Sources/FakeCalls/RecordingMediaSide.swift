/// Record mode's view of the SDP exchange: passes every call to the real media side and hands
/// each client offer and the SFU's answer, as text, to the SFU media thread (which writes
/// `offer.sdp`/`answer.sdp` for publisher sessions).
struct RecordingMediaSide: FakeSFUMediaSide {
    let inner: any FakeSFUMediaSide
    let media: FakeSFUMedia

    func mediaSections(of sdp: String) throws -> [FakeMediaSection] { try inner.mediaSections(of: sdp) }

    func answer(toOffer sdp: String, session: String) async throws -> String {
        let answer = try await inner.answer(toOffer: sdp, session: session)
        media.recordDescriptions(session: session, offer: sdp, answer: answer)
        return answer
    }

    func offer(forTracks tracks: [PublishedTrackInfo], session: String) async throws -> String {
        try await inner.offer(forTracks: tracks, session: session)
    }

    func accept(answer sdp: String, session: String) async throws { try await inner.accept(answer: sdp, session: session) }

    func sessionClosed(_ session: String) async { await inner.sessionClosed(session) }

    func answer(toSubscribeOffer sdp: String, tracks: [PublishedTrackInfo], session: String) async throws -> String {
        try await inner.answer(toSubscribeOffer: sdp, tracks: tracks, session: session)
    }
}

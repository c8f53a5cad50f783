/// The Cloudflare Calls operations relayd uses. `CallsClient` implements it over HTTP (real
/// Calls or FakeCalls); tests may script it directly.
///
/// Every method throws `CallsError` for API failures (with the Calls `errorCode`, the HTTP
/// status and whether a retry can help) and `CancellationError` when cancelled.
public protocol CallsAPI: Sendable {
    /// `POST /sessions/new` with an empty body → the new session's id.
    func newSession() async throws -> String

    /// Publish: `POST /sessions/{id}/tracks/new` with the guest's offer and `local` tracks.
    func publish(session: String, offer: String, tracks: [TrackObject]) async throws -> TracksResponse

    /// Subscribe: `POST /sessions/{id}/tracks/new` with `remote` tracks. With `offer == nil` the
    /// SFU offers (the documented pull; answer it with `renegotiate`); with an offer, the
    /// client-offer compatibility shape.
    func subscribe(session: String, tracks: [TrackObject], offer: String?) async throws -> TracksResponse

    /// `PUT /sessions/{id}/renegotiate` with the relay's answer to the SFU's offer.
    func renegotiate(session: String, answer: String) async throws

    /// `PUT /sessions/{id}/tracks/close`.
    func closeTracks(session: String, mids: [String], force: Bool) async throws -> TracksResponse

    /// `GET /sessions/{id}`.
    func sessionState(session: String) async throws -> SessionStateResponse
}

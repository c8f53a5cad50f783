import Foundation
import Testing
@testable import Relay

/// The troubleshooting list of the old service, said at the moment it applies.
@Suite struct RelayErrorAdviceTests {
    let url = try! RTMPURL("rtmp://127.0.0.1:1935/guest1")
    let guest = PublishedGuest(guestId: "guest1", sessionId: "abc123", tracks: [.init(name: "video", kind: "video", mid: "0"),
                                                                               .init(name: "audio", kind: "audio", mid: "1")],
                               resourceId: "r", etag: "\"e\"", since: Date())

    @Test func mediaMTXNotListeningSaysWhatToCheck() {
        let error = RTMPError(.connectionFailed, "cannot connect to RTMP server 127.0.0.1:1935: Connection refused (is MediaMTX running and listening there?)")
        #expect(RelayErrorAdvice.rtmp(error, url: url).hasPrefix(
            "MediaMTX is not listening on 127.0.0.1:1935: is mediamtx running? check `systemctl status mediamtx`"))
    }

    @Test func aRefusedPublishSaysThePublishWasRefused() {
        let error = RTMPError(.publishRejected, "server refused to publish 'guest1'", code: "NetStream.Publish.BadName")
        let advice = RelayErrorAdvice.rtmp(error, url: url)
        #expect(advice.contains("publish refused by the server"))
        #expect(advice.contains("NetStream.Publish.BadName"))
        #expect(advice.contains("mediamtx.yml"))
    }

    @Test func aServerThatIsNotRTMPAndOneThatHangsUpAreToldApart() {
        #expect(RelayErrorAdvice.rtmp(RTMPError(.timeout, "no NetStream.Publish.Start"), url: url).contains("rtmpAddress"))
        #expect(RelayErrorAdvice.rtmp(RTMPError(.closedByPeer, "closed"), url: url).contains("journalctl -u mediamtx"))
    }

    @Test func callsTokenAndAppErrorsKeepTheirHints() {
        let token = CallsErrorMapping.error(status: 401, body: nil, operation: CallsOperation(name: "POST sessions/new", method: "POST"),
                                            appId: "app")
        #expect(RelayErrorAdvice.subscribe(token, guest: guest).contains("calls_api_token"))
        let app = CallsErrorMapping.error(status: 404, body: nil, operation: CallsOperation(name: "POST sessions/new", method: "POST"),
                                          appId: "wrong-app")
        #expect(RelayErrorAdvice.subscribe(app, guest: guest).contains("check cloudflare.calls_app_id (app wrong-app)"))
    }

    @Test func tracksThatAreNotThereSayCheckTheTrackNames() {
        let error = CallsError(code: "not_found_track_error", httpStatus: 200, description: "x", retryable: true,
                               trackErrors: [TrackObject(trackName: "camera", errorCode: "not_found_track_error")])
        let advice = RelayErrorAdvice.subscribe(error, guest: guest)
        #expect(advice.contains("['camera']"))
        #expect(advice.contains("track names match"))
        #expect(advice.contains("abc123"))
    }

    @Test func thePublisherCheckReadsTrackStatus() {
        func state(_ statuses: [String?]) -> Result<SessionStateResponse, any Error> {
            .success(SessionStateResponse(tracks: zip(["video", "audio"], statuses).map {
                TrackObject(location: .local, trackName: $0, status: $1)
            }))
        }
        #expect(RelayErrorAdvice.publisherCheck(state(["active", "inactive"]), guest: guest) == .active)
        #expect(RelayErrorAdvice.publisherCheck(state(["inactive", "inactive"]), guest: guest) == .inactive)
        #expect(RelayErrorAdvice.publisherCheck(state([]), guest: guest) == .gone("its tracks were closed"))
        let closed = CallsError(code: "session_error", httpStatus: 410, description: "closed", retryable: false)
        if case .gone = RelayErrorAdvice.publisherCheck(.failure(closed), guest: guest) {} else { Issue.record("410 means gone") }
        let down = CallsError(code: "transport", description: "could not reach Calls", retryable: true)
        if case .unknown = RelayErrorAdvice.publisherCheck(.failure(down), guest: guest) {} else { Issue.record("no answer is no conclusion") }
    }

    @Test func failureKeysIgnoreSessionIds() {
        #expect(GuestRelay.failureKey("Calls PUT renegotiate on session 0123456789abcdef0123456789abcdef failed")
            == GuestRelay.failureKey("Calls PUT renegotiate on session fedcba9876543210fedcba9876543210 failed"))
        #expect(GuestRelay.failureKey("port 1935 refused") == "port 1935 refused")
    }
}

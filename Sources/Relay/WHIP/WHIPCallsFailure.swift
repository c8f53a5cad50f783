/// Turns a failed publish into the HTTP answer for the guest and the log line for the operator.
struct WHIPCallsFailure {
    let message: String
    let response: HTTPResponse

    init(error: Error, guestId: String) {
        message = "Publishing \(guestId) to Cloudflare Calls failed: \(error)"
        guard let calls = error as? CallsError else {
            response = WHIPResponses.problem(502, message)
            return
        }
        if calls.retryable {
            // Calls is down or slow: the guest's page may simply try again.
            response = WHIPResponses.busy(message, retryAfterSeconds: 2)
        } else if calls.code == "invalid_session_description" {
            // Calls refused the browser's SDP: that is about the offer, so say so to the guest.
            response = WHIPResponses.problem(422, message)
        } else {
            // Token, app id, or a relay bug: nothing the guest can fix; the log says what to check.
            response = WHIPResponses.problem(502, message)
        }
    }
}

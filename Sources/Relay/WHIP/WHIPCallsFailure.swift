/// Turns a failed publish into the HTTP answer for the guest and the log line for the operator.
struct WHIPCallsFailure {
    let message: String
    let response: HTTPResponse

    init(error: Error, guestId: String) {
        // Calls being down or slow is the guest's cue to retry; anything else is for the operator.
        message = "Publishing \(guestId) to Cloudflare Calls failed: \(error)"
        response = WHIPResponses.problem(502, message)
    }
}

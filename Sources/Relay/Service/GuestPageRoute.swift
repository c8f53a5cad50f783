extension RelayRoutes {
    /// The guest page and the Prometheus scrape; nil for every other request.
    func pageOrMetrics(_ request: HTTPRequest) async -> HTTPResponse? {
        if let guestPage, let response = guestPage.handle(request) { return response }
        if let metrics, request.path == RelayMetrics.path {
            guard request.method == "GET" || request.method == "HEAD" else {
                var response = HTTPResponse(status: 405, contentType: "text/plain; charset=utf-8", text: "use GET \(RelayMetrics.path)\n")
                response.headers.set("Allow", "GET, HEAD")
                return response
            }
            return await metrics.response(to: request, whip: whip, guests: guests)
        }
        return nil
    }
}

import Foundation

/// Gets the SDP offer out of a POST body: `application/sdp` (WHIP) or the old guest page's
/// JSON `{"sdp": "…"}`.
enum WHIPOfferBody {
    static func extract(from request: HTTPRequest) -> Result<String, WHIPOfferRejection> {
        let contentType = (request.headers["Content-Type"] ?? "")
            .split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        guard contentType == "application/sdp" || contentType == "application/json" else {
            return .failure(WHIPOfferRejection(
                status: 415, reason: "Content-Type must be application/sdp (or application/json {\"sdp\": …}), got '\(contentType)'"))
        }
        guard !request.body.isEmpty else {
            return .failure(WHIPOfferRejection(status: 400, reason: "the request body is empty: POST the SDP offer"))
        }
        guard let text = String(data: request.body, encoding: .utf8) else {
            return .failure(WHIPOfferRejection(status: 400, reason: "the body is not UTF-8 text: an SDP offer is"))
        }
        if contentType == "application/sdp" { return .success(text) }
        struct JSONOffer: Decodable { var sdp: String }
        guard let json = try? JSONDecoder().decode(JSONOffer.self, from: request.body) else {
            return .failure(WHIPOfferRejection(status: 400, reason: "the JSON body must be an object with a string field 'sdp'"))
        }
        return .success(json.sdp)
    }
}

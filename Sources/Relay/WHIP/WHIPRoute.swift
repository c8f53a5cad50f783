/// The requests the WHIP endpoint answers, decoded from method + path.
enum WHIPRoute: Equatable {
    case preflight
    case publish(guestId: String)
    /// `resourceId` is nil on the seed path `DELETE /api/calls/session/{guest}`.
    case deleteGuest(guestId: String, resourceId: String?)
    case patch(guestId: String, resourceId: String)
    case listSessions
    /// A path under the endpoint that names no valid guest or resource.
    case invalid(reason: String)

    init?(method: String, path: String) {
        if path == WHIPEndpoint.sessionsPath {
            guard method == "GET" || method == "OPTIONS" else { return nil }
            self = method == "GET" ? .listSessions : .preflight
            return
        }
        let rest: Substring
        let seedDelete: Bool
        if path.hasPrefix(WHIPEndpoint.whipPrefix) {
            rest = path.dropFirst(WHIPEndpoint.whipPrefix.count)
            seedDelete = false
        } else if path.hasPrefix(WHIPEndpoint.seedSessionPrefix) {
            rest = path.dropFirst(WHIPEndpoint.seedSessionPrefix.count)
            seedDelete = true
        } else {
            return nil
        }
        let parts = rest.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard let guestId = parts.first, Self.isValidIdentifier(guestId), parts.count <= 2,
              parts.count == 1 || Self.isValidIdentifier(parts[1]) else {
            self = .invalid(reason: "no such guest resource: guest ids are letters, digits, '-' and '_'")
            return
        }
        let resourceId = parts.count == 2 ? parts[1] : nil
        switch (method, seedDelete, resourceId) {
        case ("OPTIONS", _, _): self = .preflight
        case ("DELETE", true, nil): self = .deleteGuest(guestId: guestId, resourceId: nil)
        case ("POST", false, nil): self = .publish(guestId: guestId)
        case ("DELETE", false, let resource?): self = .deleteGuest(guestId: guestId, resourceId: resource)
        case ("PATCH", false, let resource?): self = .patch(guestId: guestId, resourceId: resource)
        default: return nil
        }
    }

    /// Guest ids end up in URLs, RTMP paths and log lines: letters, digits, '-' and '_' only.
    static func isValidIdentifier(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 64 && text.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x2D || byte == 0x5F
        }
    }
}

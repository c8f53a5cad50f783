import Foundation
import Relay

/// MediaMTX's v3 API, read from the shared state: `/v3/paths/get/{name}`, `/v3/paths/list`,
/// `/v3/rtmpconns/list`, plus FakeMediaMTX's own `/v3/fake/streamcheck/{name}`.
struct MediaMTXAPI: Sendable {
    let state: FakeMediaMTXState

    var handler: HTTPHandler {
        let api = self
        return { request in api.respond(to: request) }
    }

    func respond(to request: HTTPRequest) -> HTTPResponse {
        guard request.method == "GET" else { return error(405, "method not allowed") }
        let snapshot = state.snapshot
        let path = request.path
        if let name = suffix(path, after: "/v3/paths/get/") {
            guard let p = snapshot.paths[name], p.ready else { return error(404, "path not found") }
            return json(PathItem(p))
        }
        if path == "/v3/paths/list" {
            let items = snapshot.paths.values.filter(\.ready).sorted { $0.name < $1.name }.map(PathItem.init)
            return json(ListPage(itemCount: items.count, pageCount: items.isEmpty ? 0 : 1, items: items))
        }
        if path == "/v3/rtmpconns/list" {
            let items = snapshot.connections.values.sorted { $0.created < $1.created }.map(ConnItem.init)
            return json(ListPage(itemCount: items.count, pageCount: items.isEmpty ? 0 : 1, items: items))
        }
        if let name = suffix(path, after: "/v3/fake/streamcheck/") {
            guard let check = snapshot.paths[name]?.streamCheck ?? snapshot.lastStreamCheck[name] else { return error(404, "path not found") }
            return json(StreamCheckItem(name: name, live: snapshot.paths[name] != nil, check: check))
        }
        return error(404, "not found")
    }

    private func suffix(_ path: String, after prefix: String) -> String? {
        guard path.hasPrefix(prefix) else { return nil }
        let name = String(path.dropFirst(prefix.count))
        return name.isEmpty ? nil : name
    }

    private func error(_ status: Int, _ message: String) -> HTTPResponse {
        json(ErrorBody(error: message), status: status)
    }

    private func json(_ value: some Encodable, status: Int = 200) -> HTTPResponse {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let body = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return HTTPResponse(status: status, headers: ["Content-Type": "application/json"], body: body)
    }
}

private struct ErrorBody: Encodable {
    var status = "error"
    var error: String
}

private struct ListPage<Item: Encodable>: Encodable {
    var itemCount: Int
    var pageCount: Int
    var items: [Item]
}

/// RFC 3339 with fractional seconds, as MediaMTX writes times.
private func rfc3339(_ date: Date) -> String {
    date.formatted(.iso8601.year().month().day().dateSeparator(.dash).time(includingFractionalSeconds: true).timeSeparator(.colon)) + "Z"
}

private struct PathItem: Encodable {
    struct Source: Encodable { var type = "rtmpConn"; var id: String }
    var name: String
    var confName = "all_others"
    var source: Source
    var ready: Bool
    var sourceReady: Bool
    var readyTime: String?
    var tracks: [String]
    var bytesReceived: UInt64
    var bytesSent: UInt64 = 0
    var readers: [String] = []

    init(_ p: PathState) {
        name = p.name
        source = Source(id: p.sourceID)
        ready = p.ready
        sourceReady = p.ready
        readyTime = p.readyTime.map(rfc3339)
        tracks = p.tracks
        bytesReceived = p.bytesReceived
    }
}

private struct ConnItem: Encodable {
    var id: String
    var created: String
    var remoteAddr: String
    var state: String
    var path: String
    var query = ""
    var bytesReceived: UInt64
    var bytesSent: UInt64

    init(_ c: RTMPConnectionState) {
        id = c.id
        created = rfc3339(c.created)
        remoteAddr = c.remoteAddr
        state = c.state
        path = c.path
        bytesReceived = c.bytesReceived
        bytesSent = c.bytesSent
    }
}

private struct StreamCheckItem: Encodable {
    var name: String
    var live: Bool
    var check: StreamCheck
    var avStartOffsetMs: Int?
    var width: Int?
    var height: Int?

    init(name: String, live: Bool, check: StreamCheck) {
        self.name = name
        self.live = live
        self.check = check
        avStartOffsetMs = check.avStartOffsetMs
        width = check.width
        height = check.height
    }
}

import Testing
@testable import Relay

@Suite("RTMP URL")
struct RTMPURLTests {
    struct Row: Sendable, CustomTestStringConvertible {
        let url: String, host: String, port: UInt16, app: String, name: String, path: String, tcUrl: String
        var testDescription: String { url }
    }

    static let rows: [Row] = [
        Row(url: "rtmp://127.0.0.1:1935/guest1", host: "127.0.0.1", port: 1935, app: "guest1", name: "", path: "guest1", tcUrl: "rtmp://127.0.0.1:1935/guest1"),
        Row(url: "rtmp://127.0.0.1/guest1", host: "127.0.0.1", port: 1935, app: "guest1", name: "", path: "guest1", tcUrl: "rtmp://127.0.0.1:1935/guest1"),
        Row(url: "rtmp://h/live/guest1", host: "h", port: 1935, app: "live", name: "guest1", path: "live/guest1", tcUrl: "rtmp://h:1935/live"),
        Row(url: "rtmp://h:19350/live/a/b", host: "h", port: 19350, app: "live", name: "a/b", path: "live/a/b", tcUrl: "rtmp://h:19350/live"),
        Row(url: "RTMP://[::1]:1936/live/x", host: "::1", port: 1936, app: "live", name: "x", path: "live/x", tcUrl: "rtmp://[::1]:1936/live"),
        Row(url: "rtmp://[::1]/app", host: "::1", port: 1935, app: "app", name: "", path: "app", tcUrl: "rtmp://[::1]:1935/app"),
        Row(url: "rtmp://localhost//live//x/", host: "localhost", port: 1935, app: "live", name: "/x/", path: "live/x", tcUrl: "rtmp://localhost:1935/live"),
    ]

    @Test(arguments: rows)
    func parses(_ row: Row) throws {
        let url = try RTMPURL(row.url)
        #expect(url.host == row.host)
        #expect(url.port == row.port)
        #expect(url.app == row.app)
        #expect(url.streamName == row.name)
        #expect(url.mediaMTXPath == row.path)
        #expect(url.tcUrl == row.tcUrl)
    }

    @Test func keepsTheQueryOnThePublishName() throws {
        let url = try RTMPURL("rtmp://h/live/x?user=a&pass=b")
        #expect(url.publishName == "x?user=a&pass=b")
        #expect(url.mediaMTXPath == "live/x")
    }

    @Test(arguments: ["http://h/app", "rtmps://h/app", "rtmp://h:0/app", "rtmp://h:70000/app", "rtmp://h:x/app",
                      "rtmp://h", "rtmp://h/", "rtmp:///app", "rtmp://[::1/app", "h/app", "rtmp://u:p@h/app"])
    func rejects(_ text: String) {
        #expect(throws: RTMPError.self) { try RTMPURL(text) }
    }
}

import FakeCalls
import Foundation
import Logging
import Testing
@testable import Relay

/// `GET /metrics`: scraped from a RelayServer after real WHIP requests against FakeCalls; the
/// exposition must parse (names, one TYPE per family before its samples, numeric values) and
/// say what happened.
@Suite struct MetricsTests {
    static let appId = "metrics-app"
    static let token = "metrics-token-never-logged"

    @Test func scrapeAfterAWHIPPostParsesAndCountsWhatHappened() async throws {
        let logger = LogCapture().logger(label: "metrics.test")
        let fake = try FakeCallsServer(options: FakeCallsOptions(appId: Self.appId, token: Self.token), logger: logger)
        defer { fake.stop() }
        let relay = try RelayServer(config: RelayConfig(
            cloudflare: CloudflareConfig(callsAppId: Self.appId, callsAPIToken: Secret(Self.token)),
            guests: [GuestConfig(id: "guest1"), GuestConfig(id: "guest2", enabled: false)],
            mediamtx: MediaMTXConfig(rtmpPort: 9),  // nothing listens: the relay never gets that far here
            relay: RelayServiceConfig(listenHost: "127.0.0.1", listenPort: 0, callsBaseURL: fake.baseURL)), logger: logger)
        let http = try CurlHTTPClient()
        let base = "http://127.0.0.1:\(relay.port)"
        let offer = try String(contentsOf: FixturePaths.url("sdp/chromium-default.sdp"), encoding: .utf8)
        func post(_ guest: String, _ body: String) async throws -> HTTPResponse {
            try await http.send(HTTPClientRequest(method: "POST", url: "\(base)/api/calls/whip/\(guest)",
                                                  headers: ["Content-Type": "application/sdp"], body: Data(body.utf8)))
        }
        let created = try await post("guest1", offer)
        #expect(created.status == 201)
        #expect(try await post("nobody", offer).status == 404)
        #expect(try await post("guest2", offer).status == 403)
        #expect(try await post("guest1", "garbage").status == 400)

        let scrape = try await http.send(HTTPClientRequest(method: "GET", url: "\(base)/metrics"))
        #expect(scrape.status == 200)
        #expect(scrape.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8")
        let exposition = try Exposition(parsing: scrape.text)
        #expect(exposition.types["relayd_whip_requests_total"] == "counter")
        #expect(exposition.types["relayd_calls_api_requests_total"] == "counter")
        #expect(exposition.types["relayd_guests"] == "gauge")
        #expect(exposition.types["process_start_time_seconds"] == "gauge")
        for name in ["relayd_guest_rtp_packets_received_total", "relayd_guest_rtp_bytes_received_total",
                     "relayd_guest_frames_received_total", "relayd_guest_frames_sent_total", "relayd_guest_packets_lost_total",
                     "relayd_guest_nacks_sent_total", "relayd_guest_plis_sent_total", "relayd_guest_rtmp_reconnects_total",
                     "relayd_guest_rtmp_bytes_sent_total"] {
            #expect(exposition.types[name] == "counter", "\(name) missing or not a counter")
            #expect(exposition.samples.contains { $0.name == name && $0.labels["guest"] == "guest1" }, "\(name) has no guest1 series")
        }
        #expect(exposition.types["relayd_guest_rtmp_queued_bytes"] == "gauge")
        #expect(exposition.value("relayd_whip_requests_total", ["method": "POST", "status": "201"]) == 1)
        #expect(exposition.value("relayd_whip_requests_total", ["method": "POST", "status": "404"]) == 1)
        #expect(exposition.value("relayd_whip_requests_total", ["method": "POST", "status": "403"]) == 1)
        #expect(exposition.value("relayd_whip_requests_total", ["method": "POST", "status": "400"]) == 1)
        // The two-step publish, then the relay's own subscriber session.
        #expect((exposition.value("relayd_calls_api_requests_total", ["operation": "new_session", "outcome": "ok"]) ?? 0) >= 1)
        #expect((exposition.value("relayd_calls_api_requests_total", ["operation": "tracks_new", "outcome": "ok"]) ?? 0) >= 1)
        let guests = exposition.samples.filter { $0.name == "relayd_guests" }
        #expect(Set(guests.compactMap { $0.labels["state"] }) == Set(RelayMetrics.guestStates))
        #expect(guests.reduce(0) { $0 + $1.value } == 1, "one guest, in some state: \(guests)")
        let started = try #require(exposition.value("process_start_time_seconds", [:]))
        #expect(started > Date().timeIntervalSince1970 - 3600 && started <= Date().timeIntervalSince1970 + 1)

        // After the guest leaves: its series are gone, the counters stay.
        let location = try #require(created.headers["Location"])
        #expect(try await http.send(HTTPClientRequest(method: "DELETE", url: base + location)).status == 200)
        let after = try Exposition(parsing: try await http.send(HTTPClientRequest(method: "GET", url: "\(base)/metrics")).text)
        #expect(!after.samples.contains { $0.labels["guest"] != nil }, "per-guest series linger after leaving")
        #expect(after.samples.filter { $0.name == "relayd_guests" }.reduce(0) { $0 + $1.value } == 0)
        #expect(after.value("relayd_whip_requests_total", ["method": "DELETE", "status": "200"]) == 1)
        #expect(after.value("relayd_whip_requests_total", ["method": "POST", "status": "201"]) == 1)
        #expect(!scrape.text.contains(Self.token))
        let wrongMethod = try await http.send(HTTPClientRequest(method: "POST", url: "\(base)/metrics"))
        #expect(wrongMethod.status == 405)
        await relay.shutdown()
    }

    @Test func anAdminTokenProtectsTheScrape() async throws {
        let relay = try RelayServer(config: RelayConfig(
            cloudflare: CloudflareConfig(callsAppId: "app", callsAPIToken: Secret("token")),
            guests: [GuestConfig(id: "guest1")],
            relay: RelayServiceConfig(listenHost: "127.0.0.1", listenPort: 0, callsBaseURL: "http://127.0.0.1:9/v1",
                                      adminToken: Secret("scrape-secret"))),
            logger: LogCapture().logger(label: "metrics.test"))
        let http = try CurlHTTPClient()
        let url = "http://127.0.0.1:\(relay.port)/metrics"
        #expect(try await http.send(HTTPClientRequest(method: "GET", url: url)).status == 401)
        #expect(try await http.send(HTTPClientRequest(method: "GET", url: url, headers: ["Authorization": "Bearer wrong"])).status == 401)
        let allowed = try await http.send(HTTPClientRequest(method: "GET", url: url, headers: ["Authorization": "Bearer scrape-secret"]))
        #expect(allowed.status == 200)
        #expect(try Exposition(parsing: allowed.text).types["relayd_guests"] == "gauge")
        // The guest page stays public: guests have no admin token.
        #expect(try await http.send(HTTPClientRequest(method: "GET", url: "http://127.0.0.1:\(relay.port)/guest_join")).status == 200)
        await relay.shutdown()
    }

    @Test func callsOperationsAreNamedWithoutSessionIds() {
        let base = "https://rtc.live.cloudflare.com/v1/apps/app"
        #expect(MeteredHTTPClient.operation(method: "POST", url: "\(base)/sessions/new") == "new_session")
        #expect(MeteredHTTPClient.operation(method: "POST", url: "\(base)/sessions/abc/tracks/new") == "tracks_new")
        #expect(MeteredHTTPClient.operation(method: "PUT", url: "\(base)/sessions/abc/renegotiate") == "renegotiate")
        #expect(MeteredHTTPClient.operation(method: "PUT", url: "\(base)/sessions/abc/tracks/close") == "tracks_close")
        #expect(MeteredHTTPClient.operation(method: "GET", url: "\(base)/sessions/abc") == "session_state")
        #expect(MeteredHTTPClient.operation(method: "GET", url: "\(base)/elsewhere") == "other")
        #expect(MeteredHTTPClient.outcome(status: 201) == "ok")
        #expect(MeteredHTTPClient.outcome(status: 406) == "client_error")
        #expect(MeteredHTTPClient.outcome(status: 502) == "server_error")
        #expect(RelayMetrics.knownMethod("BREW") == "other")
    }

    @Test func transportFailuresAreCountedByKind() async throws {
        let metrics = RelayMetrics()
        struct Failing: HTTPClient {
            let kind: HTTPClientError.Kind
            func send(_ request: HTTPClientRequest) async throws -> HTTPResponse { throw HTTPClientError(kind: kind, detail: "test") }
        }
        for kind in [HTTPClientError.Kind.timedOut, .connectionFailed] {
            let client = MeteredHTTPClient(base: Failing(kind: kind), metrics: metrics)
            await #expect(throws: HTTPClientError.self) {
                _ = try await client.send(HTTPClientRequest(method: "POST", url: "http://x/v1/apps/a/sessions/new"))
            }
        }
        let exposition = try Exposition(parsing: metrics.exposition(guests: [
            GuestMetricsSnapshot(guestId: "g1", state: "relaying", media: GuestMediaCounters(rtpPackets: 7, nacksSent: 2),
                                 videoFramesSent: 5, rtmpReconnects: 1),
        ]))
        #expect(exposition.value("relayd_calls_api_requests_total", ["operation": "new_session", "outcome": "timeout"]) == 1)
        #expect(exposition.value("relayd_calls_api_requests_total", ["operation": "new_session", "outcome": "transport_error"]) == 1)
        #expect(exposition.value("relayd_guest_rtp_packets_received_total", ["guest": "g1"]) == 7)
        #expect(exposition.value("relayd_guest_nacks_sent_total", ["guest": "g1"]) == 2)
        #expect(exposition.value("relayd_guest_frames_sent_total", ["guest": "g1", "kind": "video"]) == 5)
        #expect(exposition.value("relayd_guest_rtmp_reconnects_total", ["guest": "g1"]) == 1)
        #expect(exposition.value("relayd_guests", ["state": "relaying"]) == 1)
        // A second scrape with new totals replaces the values (counters are set, not added to).
        let again = try Exposition(parsing: metrics.exposition(guests: [
            GuestMetricsSnapshot(guestId: "g1", state: "relaying", media: GuestMediaCounters(rtpPackets: 9)),
        ]))
        #expect(again.value("relayd_guest_rtp_packets_received_total", ["guest": "g1"]) == 9)
    }
}

/// A strict reader of the Prometheus text format (0.0.4) for the tests: every sample line is
/// `name{label="value",…} number`, every family's `# TYPE` comes before its samples and once.
struct Exposition {
    struct Sample {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    struct ParseError: Error, CustomStringConvertible {
        var description: String
    }

    var types: [String: String] = [:]
    var samples: [Sample] = []

    init(parsing text: String) throws {
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                guard parts.count == 4, ["counter", "gauge", "histogram", "summary", "untyped"].contains(parts[3]) else {
                    throw ParseError(description: "line \(number + 1): bad TYPE line: \(line)")
                }
                let name = String(parts[2])
                guard types[name] == nil else { throw ParseError(description: "line \(number + 1): second TYPE for \(name)") }
                guard !samples.contains(where: { $0.name == name }) else {
                    throw ParseError(description: "line \(number + 1): TYPE for \(name) after its samples")
                }
                types[name] = String(parts[3])
                continue
            }
            if line.hasPrefix("#") { continue }
            let sample = try Self.sample(String(line), number: number + 1)
            guard types[sample.name] != nil else { throw ParseError(description: "line \(number + 1): \(sample.name) has no TYPE") }
            samples.append(sample)
        }
    }

    func value(_ name: String, _ labels: [String: String]) -> Double? {
        samples.first { $0.name == name && $0.labels == labels }?.value
    }

    static func sample(_ line: String, number: Int) throws -> Sample {
        let nameEnd = line.firstIndex { $0 == "{" || $0 == " " } ?? line.endIndex
        let name = String(line[..<nameEnd])
        guard name.range(of: "^[a-zA-Z_:][a-zA-Z0-9_:]*$", options: .regularExpression) != nil else {
            throw ParseError(description: "line \(number): bad metric name '\(name)'")
        }
        var rest = line[nameEnd...]
        var labels: [String: String] = [:]
        if rest.first == "{" {
            guard let close = rest.firstIndex(of: "}") else { throw ParseError(description: "line \(number): unclosed labels") }
            for pair in rest[rest.index(after: rest.startIndex)..<close].split(separator: ",") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2, parts[1].count >= 2, parts[1].first == "\"", parts[1].last == "\"",
                      parts[0].range(of: "^[a-zA-Z_][a-zA-Z0-9_]*$", options: .regularExpression) != nil else {
                    throw ParseError(description: "line \(number): bad label '\(pair)'")
                }
                labels[String(parts[0])] = String(parts[1].dropFirst().dropLast())
            }
            rest = rest[rest.index(after: close)...]
        }
        let fields = rest.split(separator: " ")
        guard (1...2).contains(fields.count), let value = Double(fields[0]) else {
            throw ParseError(description: "line \(number): bad value in '\(line)'")
        }
        return Sample(name: name, labels: labels, value: value)
    }
}

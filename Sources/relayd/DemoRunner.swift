import FakeCalls
import Foundation
import Logging
import Relay

/// `relayd demo` today: FakeCalls and relayd in one process on free loopback ports, one recorded
/// browser offer published through relayd's WHIP endpoint (two-step publish into FakeCalls),
/// the session listed, then left. The subscribe → transcode → RTMP half joins as it lands.
struct DemoRunner {
    struct Report: Encodable {
        struct Guest: Encodable {
            var id: String
            var offer: String
            var whipStatus: Int
            var location: String?
            var answerMids: [String]
            var answerCodecs: [String]
            var answerIceLite: Bool
            var callsSession: String?
            var listedWhileLive: Bool
            var leaveStatus: Int?
            var sessionsAfterLeave: Int
        }

        var stage = "publish"
        var setupMs: Double
        var guests: [Guest]
        var log: [String]
    }

    static let appId = "relayd-demo-app"
    static let token = "relayd-demo-token-not-a-secret"

    let offerPath: String
    let logger: Logger
    let capture: LogCapture

    func run() async throws -> Report {
        let fake = try FakeCallsServer(options: FakeCallsOptions(appId: Self.appId, token: Self.token),
                                       logger: logger.withComponent("fake-calls"))
        defer { fake.stop() }
        let config = RelayConfig(
            cloudflare: CloudflareConfig(callsAppId: Self.appId, callsAPIToken: Secret(Self.token)),
            guests: [GuestConfig(id: "guest1", name: "Guest 1")],
            relay: RelayServiceConfig(listenHost: "127.0.0.1", listenPort: 0, callsBaseURL: fake.baseURL))
        let relay = try RelayServer(config: config, logger: logger)
        let http = try CurlHTTPClient()
        let base = "http://127.0.0.1:\(relay.port)"
        let offer = try String(contentsOfFile: offerPath, encoding: .utf8)

        let started = ContinuousClock.now
        let response = try await http.send(HTTPClientRequest(
            method: "POST", url: "\(base)/api/calls/whip/guest1", headers: ["Content-Type": "application/sdp"],
            body: Data(offer.utf8)))
        let setup = ContinuousClock.now - started
        let answer = response.status == 201 ? try? SDP.parse(response.text) : nil
        let listed = try await http.send(HTTPClientRequest(method: "GET", url: "\(base)/api/calls/sessions"))
        let live = await relay.whip.liveSessions()

        var leaveStatus: Int?
        if let location = response.headers["Location"] {
            leaveStatus = try await http.send(HTTPClientRequest(method: "DELETE", url: base + location)).status
        }
        let remaining = await relay.whip.liveSessions().count
        await relay.shutdown()

        let guest = Report.Guest(
            id: "guest1", offer: offerPath, whipStatus: response.status, location: response.headers["Location"],
            answerMids: answer?.mediaSections.compactMap(\.mid) ?? [],
            answerCodecs: answer?.mediaSections.flatMap { $0.negotiatedCodecs.codecs.map(\.summary) } ?? [],
            answerIceLite: answer?.isIceLite ?? false, callsSession: live.first?.sessionId,
            listedWhileLive: listed.text.contains("guest1"), leaveStatus: leaveStatus, sessionsAfterLeave: remaining)
        let millis = Double(setup.components.seconds) * 1000 + Double(setup.components.attoseconds) / 1e15
        return Report(setupMs: (millis * 10).rounded() / 10, guests: [guest],
                      log: capture.entries.filter { $0.level >= .info }.map(\.message))
    }

    /// The recorded Chromium offer, found from the working directory or next to the binary.
    static func defaultOfferPath() -> String? {
        let relative = "Fixtures/sdp/chromium-default.sdp"
        var candidates = [FileManager.default.currentDirectoryPath + "/" + relative]
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<5 {
            candidates.append(directory.appendingPathComponent(relative).path)
            directory.deleteLastPathComponent()
        }
        return candidates.first { FileManager.default.fileExists(atPath: $0) }
    }
}

extension Logger {
    func withComponent(_ component: String) -> Logger {
        var copy = self
        copy[metadataKey: "component"] = "\(component)"
        return copy
    }
}

import FakeCalls
import Foundation
import Logging
import Relay

/// Records every backoff wait and returns at once (or throws once the task is cancelled).
final class CallsSleepRecorder: @unchecked Sendable {
    // A lock guards `waits`: the sleep closure is called from any task.
    private let lock = NSLock()
    private var recorded: [Duration] = []

    var waits: [Duration] { lock.withLock { recorded } }

    var sleep: CallsSleep {
        { [self] duration in
            lock.withLock { recorded.append(duration) }
            try Task.checkCancellation()
        }
    }
}

/// A gate a fake's sleep can wait on: callers queue until the test opens it. Lets a test hold a
/// FakeCalls mutation open deterministically. A cancelled caller passes at once, so a failing
/// test (which cancels its `async let`s) ends instead of hanging.
actor CallsTestGate {
    private var isOpen = false
    private var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    private var nextId = 0
    private(set) var arrivals = 0

    func pass() async {
        arrivals += 1
        if isOpen || Task.isCancelled { return }
        nextId += 1
        let id = nextId
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                if Task.isCancelled { continuation.resume() } else { waiters[id] = continuation }
            }
        } onCancel: {
            Task { await self.release(id) }
        }
    }

    func open() {
        isOpen = true
        for waiter in waiters.values { waiter.resume() }
        waiters = [:]
    }

    private func release(_ id: Int) {
        waiters.removeValue(forKey: id)?.resume()
    }

    var waiting: Int { waiters.count }
}

/// Waits (yielding, bounded) until `condition` holds: waiting on a real event, not on time.
func callsWaitUntil(_ what: String, iterations: Int = 100_000, _ condition: () async -> Bool) async throws {
    for _ in 0..<iterations {
        if await condition() { return }
        await Task.yield()
    }
    struct Timeout: Error, CustomStringConvertible { var description: String }
    throw Timeout(description: "timed out waiting for \(what)")
}

/// A swift-log handler that keeps every rendered line in memory.
final class CallsCapturedLog: @unchecked Sendable {
    // A lock guards `lines`: handlers are called from any task.
    private let lock = NSLock()
    private var stored: [String] = []

    var lines: [String] { lock.withLock { stored } }
    func append(_ line: String) { lock.withLock { stored.append(line) } }

    func logger(_ label: String) -> Logger {
        var logger = Logger(label: label) { _ in CapturingHandler(sink: self) }
        logger.logLevel = .trace
        return logger
    }

    struct CapturingHandler: LogHandler {
        let sink: CallsCapturedLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let all = metadata.merging(event.metadata ?? [:]) { $1 }
            let fields = all.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: " ")
            sink.append("\(event.level) \(event.message) \(fields)")
        }
    }
}

/// A FakeCalls and a CallsClient talking to it in-process.
struct CallsHarness {
    static let appId = "0123456789abcdef0123456789abcdef"
    static let token = "sekret-token-DO-NOT-LOG-4f9a8c7e"

    /// How the client reaches the fake: over real loopback HTTP (libcurl ↔ libmicrohttpd, the
    /// default, as production does) or in-process where a test scripts exact interleavings.
    enum Transport { case loopback, inProcess }

    let fake: FakeCallsAPI
    let client: CallsClient
    let sleeps: CallsSleepRecorder
    let log: CallsCapturedLog
    /// Sends raw requests to the fake the same way the client does.
    let http: any HTTPClient
    let baseURL: String
    /// Keeps the loopback server alive as long as the harness.
    let server: MicroHTTPServer?

    init(flow: FakeCallsOptions.PublisherFlow = .immediately, mutationLatency: Duration = .zero,
         fakeSleep: @escaping @Sendable (Duration) async throws -> Void = { _ in },
         retryPolicy: RetryPolicy = .default, token: String = CallsHarness.token,
         transport: Transport = .loopback) throws {
        let log = CallsCapturedLog()
        let fake = FakeCallsAPI(options: FakeCallsOptions(appId: Self.appId, token: Self.token, publisherFlow: flow,
                                                          mutationLatency: mutationLatency),
                                logger: log.logger("fakecalls"), sleep: fakeSleep)
        switch transport {
        case .loopback:
            let server = try MicroHTTPServer(configuration: HTTPServerConfiguration(host: "127.0.0.1", port: 0),
                                             handler: fake.handler)
            self.server = server
            self.http = try CurlHTTPClient()
            self.baseURL = "http://127.0.0.1:\(server.port)/v1"
        case .inProcess:
            self.server = nil
            self.http = InProcessHTTPClient(handler: fake.handler)
            self.baseURL = "https://rtc.live.cloudflare.com/v1"
        }
        let sleeps = CallsSleepRecorder()
        self.fake = fake
        self.sleeps = sleeps
        self.log = log
        self.client = CallsClient(baseURL: baseURL, appId: Self.appId, token: token,
                                  http: http, retryPolicy: retryPolicy,
                                  logger: log.logger("calls"), sleep: sleeps.sleep)
    }

    /// Raw request straight to the fake (no client): path relative to /v1/apps/{appId}/.
    func raw(_ method: String, _ path: String, body: String? = nil, token: String? = CallsHarness.token,
             app: String = CallsHarness.appId) async -> HTTPResponse {
        var headers: HTTPHeaders = [:]
        if let token { headers.set("Authorization", "Bearer \(token)") }
        if body != nil { headers.set("Content-Type", "application/json") }
        let request = HTTPClientRequest(method: method, url: "\(baseURL)/apps/\(app)/\(path)", headers: headers,
                                        body: body.map { Data($0.utf8) })
        do {
            return try await http.send(request)
        } catch {
            return HTTPResponse(status: 599, contentType: "text/plain", text: "transport failed: \(error)")
        }
    }

    /// A publisher session with video (mid 0) and audio (mid 1) published from `Self.browserOffer`.
    func publishGuest() async throws -> String {
        let session = try await client.newSession()
        _ = try await client.publish(session: session, offer: Self.browserOffer,
                                     tracks: [.local("video", mid: "0"), .local("audio", mid: "1")])
        return session
    }

    static let browserOffer = """
    v=0\r
    o=- 4611731400430051336 2 IN IP4 127.0.0.1\r
    s=-\r
    t=0 0\r
    a=group:BUNDLE 0 1\r
    m=video 9 UDP/TLS/RTP/SAVPF 102 103\r
    c=IN IP4 0.0.0.0\r
    a=mid:0\r
    a=setup:actpass\r
    a=sendonly\r
    a=rtpmap:102 H264/90000\r
    a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r
    a=rtpmap:103 rtx/90000\r
    a=fmtp:103 apt=102\r
    m=audio 9 UDP/TLS/RTP/SAVPF 111\r
    c=IN IP4 0.0.0.0\r
    a=mid:1\r
    a=setup:actpass\r
    a=sendonly\r
    a=rtpmap:111 opus/48000/2\r

    """

    static let relayRecvOffer = """
    v=0\r
    o=- 1 2 IN IP4 127.0.0.1\r
    s=-\r
    t=0 0\r
    a=group:BUNDLE 0 1\r
    m=video 9 UDP/TLS/RTP/SAVPF 96\r
    a=mid:0\r
    a=setup:actpass\r
    a=recvonly\r
    a=rtpmap:96 H264/90000\r
    m=audio 9 UDP/TLS/RTP/SAVPF 111\r
    a=mid:1\r
    a=setup:actpass\r
    a=recvonly\r
    a=rtpmap:111 opus/48000/2\r

    """

    /// A relay-side answer to an SFU offer (setup active, recvonly).
    static func answer(mids: [String]) -> String {
        var lines = ["v=0", "o=- 2 2 IN IP4 127.0.0.1", "s=-", "t=0 0", "a=group:BUNDLE \(mids.joined(separator: " "))"]
        for mid in mids {
            lines += ["m=video 9 UDP/TLS/RTP/SAVPF 125", "a=mid:\(mid)", "a=setup:active", "a=recvonly"]
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }
}

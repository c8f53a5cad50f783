@testable import FakeCalls
import FakeMediaMTX
import Foundation
import Logging
import Testing
@testable import Relay

#if canImport(Glibc)
import Glibc
#endif

/// ICE consent loss end to end: the path between relayd and the SFU goes silent (no close_notify,
/// no BYE — a cable pulled), the relay notices within its (shortened) consent timeout, and
/// comes back by itself once the path works again, because the guest still publishes.
@Suite struct LifecycleConsentTests {
    @Test func consentLossIsNoticedAndTheRelayResubscribesWhenThePathReturns() async throws {
        let capture = LogCapture()
        let logger = capture.logger(label: "consent")
        let records = try ExternalTool.temporaryDirectory("consent")
        defer { try? FileManager.default.removeItem(at: records) }
        let mediamtx = FakeMediaMTX(configuration: .init(rtmpPort: 0, apiPort: nil, recordDirectory: records), logger: logger)
        try mediamtx.start()
        defer { mediamtx.stop() }

        // FakeCalls assembled by hand so its SDP announces the proxy instead of its media socket.
        let loopback = SocketAddress(ipv4: 127, 0, 0, 1, port: 0)
        let media = try FakeSFUMedia(bindTo: loopback)
        defer { media.stop() }
        let proxy = try UDPBlackholeProxy(target: media.localAddress)
        defer { proxy.stop() }
        let mediaSide = SDPFakeMediaSide(certificate: try DTLSCertificate(commonName: "fakecalls"),
                                         mediaHost: "127.0.0.1", mediaPort: Int(proxy.localAddress.port))
        mediaSide.setObserver(SDPFakeMediaSide.Observer(negotiated: { media.negotiated($0) }, closed: { media.sessionClosed($0) }))
        let api = FakeCallsAPI(options: FakeCallsOptions(appId: LifecycleChain.appId, token: LifecycleChain.token),
                               mediaSide: mediaSide, logger: logger)
        let http = try MicroHTTPServer(configuration: HTTPServerConfiguration(host: "127.0.0.1", port: 0, logger: logger),
                                       handler: api.handler)
        defer { http.stop() }
        let publisher = await api.newFixtureSession(appId: LifecycleChain.appId)
        let (tracks, codecs) = try media.addFixture(session: publisher, video: FixturePaths.url(LifecycleChain.video).path,
                                                   audio: FixturePaths.url(LifecycleChain.audio).path)
        mediaSide.registerFixturePublisher(session: publisher, codecs: codecs)
        await api.publishFixtureTracks(session: publisher, tracks: tracks)

        var options = LifecycleChain.fastOptions()
        options.lifecycle.consentTimeout = .seconds(1)
        options.lifecycle.consentInterval = .milliseconds(200)
        options.lifecycle.stallTimeout = .seconds(30)  // consent, not the stall check, must notice
        options.lifecycle.mediaSilence = .seconds(30)
        let relay = try RelayServer(config: RelayConfig(
            cloudflare: CloudflareConfig(callsAppId: LifecycleChain.appId, callsAPIToken: Secret(LifecycleChain.token)),
            guests: [GuestConfig(id: "guest1")], mediamtx: MediaMTXConfig(rtmpPort: mediamtx.rtmpPort ?? 0),
            relay: RelayServiceConfig(listenHost: "127.0.0.1", listenPort: 0, callsBaseURL: "http://127.0.0.1:\(http.port)/v1")),
            logger: logger, relayOptions: options)
        let guest = PublishedGuest(guestId: "guest1", sessionId: publisher,
                                   tracks: [.init(name: "video", kind: "video", mid: "0"), .init(name: "audio", kind: "audio", mid: "1")],
                                   resourceId: "r", etag: "\"e\"", since: Date())
        await relay.startRelay(for: guest)
        func status() async -> GuestRelayStatus? { await relay.relayStatuses().first }
        #expect(await mediamtx.waitUntilReady(path: "guest1", timeout: .seconds(10)))
        #expect(await LifecycleChain.eventually { await status()?.state == "relaying" })

        proxy.setDropping(true)
        let cut = ContinuousClock.now
        let noticed = await LifecycleChain.eventually(.seconds(5)) { await status()?.lastError?.contains("ICE consent") == true }
        let noticedAfter = ContinuousClock.now - cut
        let whenNoticed = await status()
        #expect(noticed, "\(String(describing: whenNoticed))")
        #expect(noticedAfter < .seconds(4), "consent loss took \(noticedAfter) to notice (timeout 1 s)")
        #expect(await status()?.state != "relaying")

        proxy.setDropping(false)
        let back = await LifecycleChain.eventually(.seconds(15)) {
            let now = await status()
            return now?.state == "relaying" && (now?.reconnects ?? 0) >= 1
        }
        let whenBack = await status()
        #expect(back, "\(String(describing: whenBack))")
        #expect(await mediamtx.waitUntilReady(path: "guest1", timeout: .seconds(10)))
        let current = await status()?.subscriberSessionId ?? ""
        #expect(await api.sessionsHoldingTracks().sorted() == [publisher, current].sorted())
        let logged = capture.entries(at: .error).filter { $0.message.contains("ICE consent") }
        #expect(logged.count == 1, "\(logged.map(\.message))")
        await relay.shutdown()
        #expect(await api.sessionsHoldingTracks() == [publisher])
    }
}

/// A UDP relay between relayd and FakeCalls' media socket that can drop everything, both ways,
/// without telling either side — what a broken network path looks like. One client at a time:
/// the last address that sent from outside is where the SFU's datagrams go.
///
/// `@unchecked Sendable`: `dropping`, `stopRequested` and `client` are guarded by `lock`; the
/// socket is used by the proxy thread only and closed after it ended.
final class UDPBlackholeProxy: @unchecked Sendable {
    let localAddress: SocketAddress
    private let target: SocketAddress
    private let socket: Relay.UDPSocket
    private let lock = NSLock()
    private var dropping = false
    private var stopRequested = false
    private var client: SocketAddress?
    private let finished = DispatchSemaphore(value: 0)

    init(target: SocketAddress) throws {
        self.target = target
        socket = try Relay.UDPSocket(bindTo: SocketAddress(ipv4: 127, 0, 0, 1, port: 0))
        localAddress = socket.localAddress
        let thread = Thread { [self] in run() }
        thread.name = "udp-blackhole-proxy"
        thread.start()
    }

    func setDropping(_ value: Bool) { lock.withLock { dropping = value } }

    func stop() {
        let first = lock.withLock { () -> Bool in
            defer { stopRequested = true }
            return !stopRequested
        }
        guard first else { return }
        finished.wait()
        socket.close()
    }

    private func run() {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 16)
        defer {
            buffer.deallocate()
            finished.signal()
        }
        var fds = [pollfd(fd: socket.fd, events: Int16(POLLIN), revents: 0)]
        while !lock.withLock({ stopRequested }) {
            fds[0].revents = 0
            guard poll(&fds, 1, 20) > 0 else { continue }
            while let (count, from) = socket.receive(into: buffer) {
                let bytes = Array(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
                let (drop, destination) = lock.withLock { () -> (Bool, SocketAddress?) in
                    if from == target { return (dropping, client) }
                    client = from
                    return (dropping, target)
                }
                if !drop, let destination { _ = socket.send(bytes, to: destination) }
            }
        }
    }
}

import Foundation
import Logging

/// Everything `relayd run` serves, built from a RelayConfig: the Calls client (libcurl), the WHIP
/// endpoint and the HTTP server (libmicrohttpd). The demo and the end-to-end tests build the
/// same object, so what they exercise is what production runs.
public final class RelayServer: Sendable {
    public let whip: WHIPEndpoint
    public let calls: CallsClient
    /// What `GET /metrics` serves.
    public let metrics: RelayMetrics
    let guests: RelayGuests
    /// The operator page's thumbnails, one per guest id.
    public let snapshots = GuestSnapshots()
    private let server: MicroHTTPServer
    private let logger: Logger

    /// The port the HTTP server is bound to (useful when the config says 0).
    public var port: Int { server.port }

    public convenience init(config: RelayConfig, logger: Logger) throws {
        try self.init(config: config, logger: logger, relayOptions: GuestRelay.Options())
    }

    /// `relayOptions`: lifecycle timers and the RTMP publisher's settings (tests shorten them).
    init(config: RelayConfig, logger: Logger, relayOptions: GuestRelay.Options) throws {
        self.logger = logger
        let metrics = RelayMetrics(adminToken: config.relay.adminToken?.reveal())
        self.metrics = metrics
        let http = MeteredHTTPClient(base: try CurlHTTPClient(), metrics: metrics)
        let calls = CallsClient(baseURL: config.relay.callsBaseURL, appId: config.cloudflare.callsAppId,
                                token: config.cloudflare.callsAPIToken.reveal(), http: http,
                                retryPolicy: relayOptions.callsRetry, logger: logger.withLabelMetadata("calls"))
        self.calls = calls
        // One DTLS certificate per process: its fingerprint goes into every answer to the SFU.
        let certificate = try DTLSCertificate(commonName: "relayd")
        // Media goes out to the SFU from every interface (host candidates for each), except when
        // relayd itself only listens on loopback (demo, tests): then its media stays there too.
        let loopbackOnly = SocketAddress(ip: config.relay.listenHost, port: 0)?.isLoopback ?? false
        let bindAddress = loopbackOnly ? SocketAddress(ipv4: 127, 0, 0, 1, port: 0) : SocketAddress(ipv4: 0, 0, 0, 0, port: 0)
        let guestGone = GuestGoneHandler()
        let snapshots = self.snapshots
        guests = RelayGuests(makeDependencies: { guest in
            GuestRelay.Dependencies(calls: calls, certificate: certificate, rtmpURL: config.rtmpURL(for: guest.guestId),
                                    video: config.relay.video, audio: config.relay.audio, bindAddress: bindAddress,
                                    logger: logger, options: relayOptions, snapshot: snapshots.snapshot(for: guest.guestId))
        }, onGuestGone: guestGone)
        let observer = guests
        let settings = WHIPEndpoint.Settings(
            guestStatus: { id in
                switch config.lookupGuest(id) {
                case .enabled: .enabled
                case .disabled: .disabled
                case .unknown: .unknown
                }
            },
            bearerToken: config.relay.whipBearerToken?.reveal())
        let endpoint = WHIPEndpoint(settings: settings, calls: calls, offerPolicy: SDPGuestOfferPolicy(),
                                    observer: observer, logger: logger)
        whip = endpoint
        guestGone.set { [weak endpoint] guest in await endpoint?.endVanished(guest) }
        let operatorRoutes = OperatorRoutes(
            auth: AdminAuth(token: config.relay.adminToken?.reveal()),
            configured: config.guests.map { OperatorRoutes.ConfiguredGuest(id: $0.id, name: $0.name, enabled: $0.enabled) },
            whip: endpoint, guests: guests, snapshots: snapshots)
        let routes = RelayRoutes(whip: endpoint, guests: guests, guestPage: GuestPage(config: config), metrics: metrics,
                                 operatorRoutes: operatorRoutes)
        var tls: HTTPServerTLS?
        if let files = config.relay.tls {
            tls = HTTPServerTLS(certificatePEM: try String(contentsOfFile: files.certificateFile, encoding: .utf8),
                                privateKeyPEM: try String(contentsOfFile: files.keyFile, encoding: .utf8))
        }
        server = try MicroHTTPServer(
            configuration: HTTPServerConfiguration(host: config.relay.listenHost, port: config.relay.listenPort,
                                                   tls: tls, logger: logger),
            handler: { request in
                let response = await routes.handle(request)
                metrics.observe(request, response)
                return response
            })
        logger.info("relayd listening on \(config.relay.listenHost):\(server.port) (WHIP: /api/calls/whip/{guest})")
    }

    /// Relays a session published some other way than through the WHIP endpoint (the demo's
    /// fixture guest, tools): the same subscribe → media → RTMP path a WHIP guest gets.
    public func startRelay(for guest: PublishedGuest) async { await guests.guestPublished(guest) }

    /// Ends a relay started with `startRelay`.
    public func endRelay(for guest: PublishedGuest) async { await guests.guestEnded(guest, reason: .deleted) }

    /// Every relay's state, as `GET /api/calls/sessions` reports it.
    public func relayStatuses() async -> [GuestRelayStatus] { await guests.statuses() }

    /// Ends every guest (closing their Calls tracks) and stops the HTTP server.
    public func shutdown() async {
        logger.info("relayd stopping: ending every guest session")
        await whip.endAll(reason: .shutdown)
        await guests.stopAll()
        server.stop()
    }
}

extension Logger {
    /// A copy of this logger with a `component` metadata value, for lines from one part of relayd.
    func withLabelMetadata(_ component: String) -> Logger {
        var copy = self
        copy[metadataKey: "component"] = "\(component)"
        return copy
    }
}

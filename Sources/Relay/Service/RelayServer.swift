import Foundation
import Logging

/// Everything `relayd run` serves, built from a RelayConfig: the Calls client (libcurl), the WHIP
/// endpoint and the HTTP server (libmicrohttpd). The demo and the end-to-end tests build the
/// same object, so what they exercise is what production runs.
public final class RelayServer: Sendable {
    public let whip: WHIPEndpoint
    public let calls: CallsClient
    private let server: MicroHTTPServer
    private let logger: Logger

    /// The port the HTTP server is bound to (useful when the config says 0).
    public var port: Int { server.port }

    public init(config: RelayConfig, logger: Logger, observer: (any GuestSessionObserver)? = nil) throws {
        self.logger = logger
        let http = try CurlHTTPClient()
        calls = CallsClient(baseURL: config.relay.callsBaseURL, appId: config.cloudflare.callsAppId,
                            token: config.cloudflare.callsAPIToken.reveal(), http: http,
                            logger: logger.withLabelMetadata("calls"))
        let settings = WHIPEndpoint.Settings(
            guestStatus: { id in
                switch config.lookupGuest(id) {
                case .enabled: .enabled
                case .disabled: .disabled
                case .unknown: .unknown
                }
            },
            bearerToken: config.relay.whipBearerToken?.reveal())
        whip = WHIPEndpoint(settings: settings, calls: calls, offerPolicy: SDPGuestOfferPolicy(), observer: observer,
                            logger: logger)
        let routes = RelayRoutes(whip: whip)
        var tls: HTTPServerTLS?
        if let files = config.relay.tls {
            tls = HTTPServerTLS(certificatePEM: try String(contentsOfFile: files.certificateFile, encoding: .utf8),
                                privateKeyPEM: try String(contentsOfFile: files.keyFile, encoding: .utf8))
        }
        server = try MicroHTTPServer(
            configuration: HTTPServerConfiguration(host: config.relay.listenHost, port: config.relay.listenPort,
                                                   tls: tls, logger: logger),
            handler: { await routes.handle($0) })
        logger.info("relayd listening on \(config.relay.listenHost):\(server.port) (WHIP: /api/calls/whip/{guest})")
    }

    /// Ends every guest (closing their Calls tracks) and stops the HTTP server.
    public func shutdown() async {
        logger.info("relayd stopping: ending every guest session")
        await whip.endAll(reason: .shutdown)
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

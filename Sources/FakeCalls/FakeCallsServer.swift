import Logging
import Relay

/// FakeCalls as a running service: its HTTP API on libmicrohttpd (the same server relayd uses)
/// and the UDP port its SFU media side announces. `relayd fake-calls` and the demo run this.
public final class FakeCallsServer: Sendable {
    public let api: FakeCallsAPI
    public let mediaSide: SDPFakeMediaSide
    private let server: MicroHTTPServer
    private let mediaPort: UDPPortReservation

    public var port: Int { server.port }
    public var udpPort: Int { mediaPort.port }
    /// What relayd's `relay.calls_base_url` should be to use this fake.
    public var baseURL: String { "http://\(host):\(server.port)/v1" }
    private let host: String

    public init(host: String = "127.0.0.1", port: Int = 0, options: FakeCallsOptions, logger: Logger) throws {
        self.host = host
        mediaPort = try UDPPortReservation(host: host, port: 0)
        mediaSide = SDPFakeMediaSide(certificate: try DTLSCertificate(commonName: "fakecalls"),
                                     mediaHost: host, mediaPort: mediaPort.port)
        api = FakeCallsAPI(options: options, mediaSide: mediaSide, logger: logger)
        server = try MicroHTTPServer(configuration: HTTPServerConfiguration(host: host, port: port, logger: logger),
                                     handler: api.handler)
    }

    public func stop() { server.stop() }
}

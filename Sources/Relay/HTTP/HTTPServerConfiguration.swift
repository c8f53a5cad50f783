import Logging

/// Certificate and key for serving HTTPS directly (libmicrohttpd's GnuTLS mode), as PEM text.
public struct HTTPServerTLS: Sendable {
    public var certificatePEM: String
    public var privateKeyPEM: String

    public init(certificatePEM: String, privateKeyPEM: String) {
        self.certificatePEM = certificatePEM
        self.privateKeyPEM = privateKeyPEM
    }
}

public struct HTTPServerConfiguration: Sendable {
    /// Numeric address to listen on ("127.0.0.1", "0.0.0.0", "::1", "::") or "localhost".
    public var host: String
    /// 0 picks an ephemeral port; read the real one from `MicroHTTPServer.port`.
    public var port: Int
    /// Larger request bodies are answered 413 without calling the handler.
    public var maxBodyBytes: Int
    /// Simultaneous connections; more are refused by the listener.
    public var connectionLimit: Int
    /// An idle connection (no bytes either way for this long) is closed: slow-loris defence.
    /// Time a request spends waiting for its handler does not count.
    public var connectionTimeoutSeconds: Int
    /// nil serves plain HTTP.
    public var tls: HTTPServerTLS?
    public var logger: Logger

    public init(host: String = "127.0.0.1", port: Int = 0, maxBodyBytes: Int = 64 * 1024,
                connectionLimit: Int = 256, connectionTimeoutSeconds: Int = 15,
                tls: HTTPServerTLS? = nil, logger: Logger = Logger(label: "relay.http.server")) {
        self.host = host
        self.port = port
        self.maxBodyBytes = maxBodyBytes
        self.connectionLimit = connectionLimit
        self.connectionTimeoutSeconds = connectionTimeoutSeconds
        self.tls = tls
        self.logger = logger
    }
}

public struct HTTPServerError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// A configuration value is out of range (see detail).
        case invalidConfiguration
        /// The host is not an address this machine can listen on.
        case badHost
        /// The listener could not start: port in use, permission, bad certificate or key.
        case startFailed
    }

    public var kind: Kind
    public var detail: String

    public init(kind: Kind, detail: String) {
        self.kind = kind
        self.detail = detail
    }

    public var description: String { "HTTP server \(kind): \(detail)" }
}

import CCurl
import CRelayShim
import Foundation
import Synchronization

public struct CurlHTTPClientConfiguration: Sendable {
    public enum TLSVerification: Sendable {
        /// The system trust store (production: rtc.live.cloudflare.com).
        case system
        /// Trust exactly these PEM certificates (tests, private deployments).
        case trusting(certificatesPEM: String)
        /// No certificate or host name check. Only for tests against self-signed servers.
        case disabled
    }

    public var tlsVerification: TLSVerification
    public var userAgent: String
    /// A response body larger than this fails the request (.transport) instead of filling memory.
    public var maxResponseBytes: Int

    public init(tlsVerification: TLSVerification = .system, userAgent: String = "relayd",
                maxResponseBytes: Int = 16 << 20) {
        self.tlsVerification = tlsVerification
        self.userAgent = userAgent
        self.maxResponseBytes = maxResponseBytes
    }
}

/// The HTTPClient seam on libcurl. All transfers of one client run on one dedicated thread that
/// drives a curl multi handle (connections are reused between requests to the same host), so
/// no Swift concurrency thread ever blocks on the network. Cancelling the calling task wakes
/// that thread, which aborts the transfer at once and throws `CancellationError`.
/// Redirects are not followed (a 3xx is a response); only http and https URLs are allowed.
/// One client is meant to be shared (it owns a thread); dropping it ends that thread.
public final class CurlHTTPClient: HTTPClient {
    private let loop: CurlTransferLoop

    public init(configuration: CurlHTTPClientConfiguration = CurlHTTPClientConfiguration()) throws {
        guard curlGlobalReady else {
            throw HTTPClientError(kind: .transport, detail: "libcurl global initialisation failed (TLS library missing?)")
        }
        loop = try CurlTransferLoop(configuration: configuration)
    }

    deinit { loop.shutdown() }

    public func send(_ request: HTTPClientRequest) async throws -> HTTPResponse {
        try Task.checkCancellation()
        let cancel = CurlCancelFlag()
        // Both closures use `self` (not just the loop) so a caller that drops the client while
        // the request is in flight does not shut the loop down under it.
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                self.loop.submit(CurlSubmission(request: request, cancel: cancel, continuation: continuation))
            }
        } onCancel: {
            cancel.raise()
            self.loop.wake()
        }
    }
}

/// curl_global_init, once per process (Swift runs a global's initialiser exactly once).
private let curlGlobalReady: Bool = relay_curl_global_init() == CURLE_OK

/// Set when the calling task is cancelled; read by the transfer thread and curl's progress callback.
final class CurlCancelFlag: Sendable {
    private let raised = Atomic<Bool>(false)
    func raise() { raised.store(true, ordering: .releasing) }
    var isRaised: Bool { raised.load(ordering: .acquiring) }
}

struct CurlSubmission: Sendable {
    let request: HTTPClientRequest
    let cancel: CurlCancelFlag
    let continuation: CheckedContinuation<HTTPResponse, any Error>
}

import Foundation
import Relay
import Testing

/// relayd terminating TLS itself (libmicrohttpd + GnuTLS) with a self-signed certificate.
@Suite struct HTTPTLSTests {
    @Test func servesHTTPSWithASelfSignedCertificate() async throws {
        let tls = try HTTPTestSupport.selfSignedCertificate()
        let server = try MicroHTTPServer(configuration: .init(tls: tls)) { request in
            HTTPResponse(status: 201, contentType: "application/sdp", text: "answer for \(request.path)")
        }
        defer { server.stop() }
        let url = "https://127.0.0.1:\(server.port)/api/calls/whip/guest1"

        let insecure = try CurlHTTPClient(configuration: .init(tlsVerification: .disabled))
        let response = try await insecure.send(HTTPClientRequest(method: "POST", url: url, body: Data("v=0".utf8)))
        #expect(response.status == 201)
        #expect(response.text == "answer for /api/calls/whip/guest1")

        let pinned = try CurlHTTPClient(configuration: .init(tlsVerification: .trusting(certificatesPEM: tls.certificatePEM)))
        #expect(try await pinned.send(HTTPClientRequest(method: "GET", url: url)).status == 201)

        let strict = try CurlHTTPClient()
        let refused = await #expect(throws: HTTPClientError.self) {
            _ = try await strict.send(HTTPClientRequest(method: "GET", url: url))
        }
        #expect(refused?.kind == .transport)

        let plain = await #expect(throws: HTTPClientError.self) {
            _ = try await insecure.send(HTTPClientRequest(method: "GET", url: "http://127.0.0.1:\(server.port)/", timeout: .seconds(3)))
        }
        #expect(plain != nil)
    }

    /// The client hangs up while the server is still writing (TLS and plain): the server must
    /// not die of SIGPIPE and must keep serving.
    @Test(arguments: [true, false])
    func clientHangingUpMidResponseIsHarmless(tls useTLS: Bool) async throws {
        let tls = useTLS ? try HTTPTestSupport.selfSignedCertificate() : nil
        let big = Data(count: 8 << 20)
        let server = try MicroHTTPServer(configuration: .init(tls: tls)) { request in
            HTTPResponse(status: 200, body: request.path == "/big" ? big : Data("small".utf8))
        }
        defer { server.stop() }
        let scheme = useTLS ? "https" : "http"
        let client = try CurlHTTPClient(configuration: .init(tlsVerification: .disabled, maxResponseBytes: 1024))
        for _ in 0..<3 {
            let error = await #expect(throws: HTTPClientError.self) {
                _ = try await client.send(HTTPClientRequest(method: "GET", url: "\(scheme)://127.0.0.1:\(server.port)/big"))
            }
            #expect(error?.detail.contains("larger than 1024 bytes") == true)
        }
        let small = try await client.send(HTTPClientRequest(method: "GET", url: "\(scheme)://127.0.0.1:\(server.port)/small"))
        #expect(small.text == "small")
        try await HTTPTestSupport.waitUntil("aborted responses to be freed") { server.requestsInFlight == 0 }
    }

    @Test func badKeyMaterialIsAStartError() throws {
        let error = #expect(throws: HTTPServerError.self) {
            _ = try MicroHTTPServer(configuration: .init(tls: HTTPServerTLS(certificatePEM: "not a cert", privateKeyPEM: "not a key"))) { _ in
                HTTPResponse(status: 200)
            }
        }
        #expect(error?.kind == .startFailed)
    }
}

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

    @Test func badKeyMaterialIsAStartError() throws {
        let error = #expect(throws: HTTPServerError.self) {
            _ = try MicroHTTPServer(configuration: .init(tls: HTTPServerTLS(certificatePEM: "not a cert", privateKeyPEM: "not a key"))) { _ in
                HTTPResponse(status: 200)
            }
        }
        #expect(error?.kind == .startFailed)
    }
}

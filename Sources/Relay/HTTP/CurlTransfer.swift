import CCurl
import CRelayShim
import Foundation

/// One request on one curl easy handle: owns the handle, its header list and error buffer, and
/// collects the response. Lives on the transfer loop's thread only.
final class CurlTransfer {
    let easy: UnsafeMutableRawPointer
    /// "METHOD scheme://host:port/path" — what error messages name (no query, no credentials).
    let summary: String
    private var headerList: UnsafeMutablePointer<curl_slist>?
    private let errorBuffer: UnsafeMutablePointer<CChar>
    private let cancel: CurlCancelFlag
    private let maxResponseBytes: Int
    /// Request header values: scrubbed from any error text (they may be Bearer tokens).
    private let secrets: [String]

    private var responseHeaders = HTTPHeaders()
    private var responseBody = Data()
    private var responseTooLarge = false

    init(request: HTTPClientRequest, configuration: CurlHTTPClientConfiguration, cancel: CurlCancelFlag) throws {
        summary = "\(request.method) \(Self.redacted(request.url))"
        guard let easy = curl_easy_init() else {
            throw HTTPClientError(kind: .transport, detail: "curl_easy_init failed for \(summary) (out of memory?)")
        }
        self.easy = easy
        self.cancel = cancel
        self.maxResponseBytes = configuration.maxResponseBytes
        self.secrets = request.headers.map(\.value).filter { $0.count >= 4 }
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
        try configure(request, configuration)
    }

    deinit {
        curl_easy_cleanup(easy)
        curl_slist_free_all(headerList)
        errorBuffer.deallocate()
    }

    /// The finished transfer as the HTTPClient contract wants it.
    func outcome(_ code: CURLcode) -> Result<HTTPResponse, any Error> {
        if code == CURLE_OK {
            var status = 0
            _ = relay_curl_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
            return .success(HTTPResponse(status: status, headers: responseHeaders, body: responseBody))
        }
        if cancel.isRaised { return .failure(CancellationError()) }
        if responseTooLarge {
            return .failure(HTTPClientError(kind: .transport, detail: "\(summary): response body larger than \(maxResponseBytes) bytes"))
        }
        let kind: HTTPClientError.Kind
        switch code {
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            kind = .connectionFailed
        case CURLE_OPERATION_TIMEDOUT:
            kind = .timedOut
        default:
            kind = .transport
        }
        var reason = String(cString: curl_easy_strerror(code))
        let specific = String(cString: errorBuffer)
        if !specific.isEmpty { reason += ": " + specific }
        for secret in secrets { reason = reason.replacingOccurrences(of: secret, with: "<redacted>") }
        return .failure(HTTPClientError(kind: kind, detail: "\(summary): \(reason)"))
    }

    // MARK: Setup

    private func configure(_ request: HTTPClientRequest, _ configuration: CurlHTTPClientConfiguration) throws {
        let this = Unmanaged.passUnretained(self).toOpaque()
        var failed: [String] = []
        func check(_ code: CURLcode, _ what: String) { if code != CURLE_OK { failed.append(what) } }

        check(relay_curl_setopt_string(easy, CURLOPT_URL, request.url), "URL")
        check(relay_curl_setopt_string(easy, CURLOPT_PROTOCOLS_STR, "http,https"), "protocols")
        check(relay_curl_setopt_long(easy, CURLOPT_NOSIGNAL, 1), "nosignal")
        check(relay_curl_setopt_long(easy, CURLOPT_TIMEOUT_MS, Self.milliseconds(request.timeout)), "timeout")
        check(relay_curl_setopt_pointer(easy, CURLOPT_ERRORBUFFER, errorBuffer), "error buffer")
        check(relay_curl_setopt_string(easy, CURLOPT_USERAGENT, configuration.userAgent), "user agent")
        check(relay_curl_setopt_data_callback(easy, CURLOPT_WRITEFUNCTION, { data, size, count, user in
            guard let user else { return 0 }
            return Unmanaged<CurlTransfer>.fromOpaque(user).takeUnretainedValue().receiveBody(data, size * count)
        }), "write callback")
        check(relay_curl_setopt_pointer(easy, CURLOPT_WRITEDATA, this), "write data")
        check(relay_curl_setopt_data_callback(easy, CURLOPT_HEADERFUNCTION, { data, size, count, user in
            guard let user else { return 0 }
            return Unmanaged<CurlTransfer>.fromOpaque(user).takeUnretainedValue().receiveHeader(data, size * count)
        }), "header callback")
        check(relay_curl_setopt_pointer(easy, CURLOPT_HEADERDATA, this), "header data")
        // Backstop for cancellation: the loop normally removes a cancelled transfer at once.
        check(relay_curl_setopt_xferinfo(easy, { user, _, _, _, _ in
            guard let user else { return 0 }
            return Unmanaged<CurlTransfer>.fromOpaque(user).takeUnretainedValue().cancel.isRaised ? 1 : 0
        }, this), "progress callback")

        switch configuration.tlsVerification {
        case .system:
            break
        case .trusting(let pem):
            let bytes = Array(pem.utf8)
            check(relay_curl_setopt_blob(easy, CURLOPT_CAINFO_BLOB, bytes, bytes.count), "trusted certificates")
        case .disabled:
            check(relay_curl_setopt_long(easy, CURLOPT_SSL_VERIFYPEER, 0), "verify peer")
            check(relay_curl_setopt_long(easy, CURLOPT_SSL_VERIFYHOST, 0), "verify host")
        }

        try setMethodAndBody(request, check)
        try setHeaders(request)
        if !failed.isEmpty {
            throw HTTPClientError(kind: .transport, detail: "\(summary): libcurl refused option(s) \(failed.joined(separator: ", "))")
        }
    }

    private func setMethodAndBody(_ request: HTTPClientRequest, _ check: (CURLcode, String) -> Void) throws {
        let method = request.method
        guard !method.isEmpty, method.utf8.allSatisfy(Self.isTokenByte) else {
            throw HTTPClientError(kind: .transport, detail: "invalid HTTP method '\(method.prefix(32))'")
        }
        if let body = request.body {
            // POSTFIELDS sends the body for any method; CUSTOMREQUEST then renames the verb.
            check(relay_curl_setopt_offset(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count)), "body size")
            body.withUnsafeBytes { bytes in
                if let base = bytes.baseAddress, bytes.count > 0 {
                    check(relay_curl_setopt_pointer(easy, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: base)), "body")
                } else {
                    check(relay_curl_setopt_string(easy, CURLOPT_COPYPOSTFIELDS, ""), "body")
                }
            }
            if method != "POST" { check(relay_curl_setopt_string(easy, CURLOPT_CUSTOMREQUEST, method), "method") }
        } else if method == "GET" {
            check(relay_curl_setopt_long(easy, CURLOPT_HTTPGET, 1), "method")
        } else if method == "HEAD" {
            check(relay_curl_setopt_long(easy, CURLOPT_NOBODY, 1), "method")
        } else if method == "POST" || method == "PUT" || method == "PATCH" {
            // A body-carrying verb without a body still says Content-Length: 0.
            check(relay_curl_setopt_offset(easy, CURLOPT_POSTFIELDSIZE_LARGE, 0), "body size")
            check(relay_curl_setopt_string(easy, CURLOPT_COPYPOSTFIELDS, ""), "body")
            if method != "POST" { check(relay_curl_setopt_string(easy, CURLOPT_CUSTOMREQUEST, method), "method") }
        } else {
            check(relay_curl_setopt_string(easy, CURLOPT_CUSTOMREQUEST, method), "method")
        }
    }

    private func setHeaders(_ request: HTTPClientRequest) throws {
        var lines: [String] = []
        for (name, value) in request.headers {
            guard !name.isEmpty, name.utf8.allSatisfy(Self.isTokenByte) else {
                throw HTTPClientError(kind: .transport, detail: "\(summary): invalid header name '\(name.prefix(64))'")
            }
            guard !value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 }) else {
                throw HTTPClientError(kind: .transport, detail: "\(summary): header \(name) contains a line break")
            }
            // "Name;" is curl's spelling of a header with an empty value.
            lines.append(value.isEmpty ? "\(name);" : "\(name): \(value)")
        }
        // No "Expect: 100-continue" round trip for big bodies, and no invented form Content-Type.
        if request.headers["Expect"] == nil { lines.append("Expect:") }
        if request.body != nil, request.headers["Content-Type"] == nil { lines.append("Content-Type:") }
        for line in lines {
            guard let extended = curl_slist_append(headerList, line) else {
                throw HTTPClientError(kind: .transport, detail: "\(summary): out of memory building headers")
            }
            headerList = extended
        }
        if relay_curl_setopt_pointer(easy, CURLOPT_HTTPHEADER, headerList) != CURLE_OK {
            throw HTTPClientError(kind: .transport, detail: "\(summary): libcurl refused the header list")
        }
    }

    // MARK: Callbacks (loop thread, during curl_multi_perform)

    private func receiveBody(_ data: UnsafeMutablePointer<CChar>?, _ count: Int) -> Int {
        guard let data, count > 0 else { return 0 }
        guard responseBody.count + count <= maxResponseBytes else {
            responseTooLarge = true
            return 0 // makes curl fail with CURLE_WRITE_ERROR
        }
        responseBody.append(UnsafeRawPointer(data).assumingMemoryBound(to: UInt8.self), count: count)
        return count
    }

    private func receiveHeader(_ data: UnsafeMutablePointer<CChar>?, _ count: Int) -> Int {
        guard let data, count > 0 else { return count }
        let line = String(decoding: UnsafeRawBufferPointer(start: data, count: count), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        if line.hasPrefix("HTTP/") {
            // A new status line (after 100 Continue, or a proxy's CONNECT): start afresh.
            responseHeaders = HTTPHeaders()
        } else if let colon = line.firstIndex(of: ":") {
            let name = String(line[..<colon]).trimmingCharacters(in: .whitespaces)
            let value = String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
            if !name.isEmpty { responseHeaders.add(name, value) }
        }
        return count
    }

    // MARK: Helpers

    private static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        let total = seconds.multipliedReportingOverflow(by: 1000)
        guard !total.overflow else { return Int.max }
        // 0 would mean "no timeout" to curl.
        return max(1, Int(total.partialValue) + Int(attoseconds / 1_000_000_000_000_000))
    }

    /// RFC 9110 token characters.
    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }

    /// The URL without credentials or query: safe to log.
    private static func redacted(_ url: String) -> String {
        guard let components = URLComponents(string: url), let host = components.host else { return "<unparsable URL>" }
        let port = components.port.map { ":\($0)" } ?? ""
        return "\(components.scheme ?? "?")://\(host)\(port)\(components.path)"
    }
}

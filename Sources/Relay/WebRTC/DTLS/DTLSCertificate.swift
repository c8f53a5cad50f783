import COpenSSL
import CRelayShim

/// A self-signed ECDSA P-256 certificate and its private key, made fresh with OpenSSL for one
/// process or one session. WebRTC trusts it through the SHA-256 fingerprint in the SDP, not
/// through a CA. Owns the X509 and EVP_PKEY and frees them in deinit.
///
/// `@unchecked Sendable`: nothing is mutated after init; connections only up-reference the
/// X509/EVP_PKEY (atomic in OpenSSL 3) and read them, which OpenSSL allows from many threads.
public final class DTLSCertificate: @unchecked Sendable {
    private let certificate: OpaquePointer  // X509*
    private let privateKey: OpaquePointer  // EVP_PKEY*

    /// SHA-256 fingerprint, for `a=fingerprint:` (`fingerprint.sdpValue`).
    public let fingerprint: DTLSFingerprint
    /// The certificate in DER.
    public let derBytes: [UInt8]

    /// Generates a key pair and a certificate valid from one day ago (clock skew) for
    /// `validDays` days, with a random 63-bit serial and CN=`commonName`, signed with SHA-256.
    public init(commonName: String = "relayd", validDays: Int = 30) throws(DTLSError) {
        OpenSSLErrorQueue.clear()
        guard let key = relay_openssl_generate_p256_key() else {
            throw .openSSL(operation: "EVP_EC_gen(P-256)", details: OpenSSLErrorQueue.drain())
        }
        guard let x509 = X509_new() else {
            EVP_PKEY_free(key)
            throw .openSSL(operation: "X509_new", details: OpenSSLErrorQueue.drain())
        }
        do {
            try Self.fill(x509, key: key, commonName: commonName, validDays: validDays)
            fingerprint = try certificateFingerprint(x509, algorithm: .sha256)
            derBytes = try Self.der(of: x509)
        } catch {
            X509_free(x509)
            EVP_PKEY_free(key)
            throw error
        }
        certificate = x509
        privateKey = key
        DTLSLiveCounter.certificates.add(1)
    }

    deinit {
        X509_free(certificate)
        EVP_PKEY_free(privateKey)
        DTLSLiveCounter.certificates.add(-1)
    }

    /// Live instances in this process (for leak tests).
    public static var liveInstances: Int { DTLSLiveCounter.certificates.value }

    /// Installs certificate and key in an SSL_CTX (which takes its own references).
    func install(in context: OpaquePointer) throws(DTLSError) {
        guard SSL_CTX_use_certificate(context, certificate) == 1 else {
            throw .openSSL(operation: "SSL_CTX_use_certificate", details: OpenSSLErrorQueue.drain())
        }
        guard SSL_CTX_use_PrivateKey(context, privateKey) == 1, SSL_CTX_check_private_key(context) == 1 else {
            throw .openSSL(operation: "SSL_CTX_use_PrivateKey", details: OpenSSLErrorQueue.drain())
        }
    }

    private static func fill(_ x509: OpaquePointer, key: OpaquePointer, commonName: String, validDays: Int) throws(DTLSError) {
        var serial: UInt64 = 0
        let randomOK = withUnsafeMutableBytes(of: &serial) { RAND_bytes($0.baseAddress, Int32($0.count)) == 1 }
        serial = (serial >> 1) | 1  // positive and never zero
        guard randomOK,
              X509_set_version(x509, 2) == 1,  // v3
              ASN1_INTEGER_set_uint64(X509_get_serialNumber(x509), serial) == 1,
              X509_gmtime_adj(X509_getm_notBefore(x509), -86_400) != nil,
              X509_gmtime_adj(X509_getm_notAfter(x509), 86_400 * max(1, validDays)) != nil,
              X509_set_pubkey(x509, key) == 1,
              relay_openssl_x509_set_self_name(x509, commonName) == 1,
              X509_sign(x509, key, EVP_sha256()) > 0
        else {
            throw .openSSL(operation: "building the self-signed certificate", details: OpenSSLErrorQueue.drain())
        }
    }

    private static func der(of x509: OpaquePointer) throws(DTLSError) -> [UInt8] {
        let length = i2d_X509(x509, nil)
        guard length > 0 else { throw .openSSL(operation: "i2d_X509", details: OpenSSLErrorQueue.drain()) }
        var bytes = [UInt8](repeating: 0, count: Int(length))
        let written = bytes.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var cursor = buffer.baseAddress
            return i2d_X509(x509, &cursor)
        }
        guard written == length else { throw .openSSL(operation: "i2d_X509", details: OpenSSLErrorQueue.drain()) }
        return bytes
    }
}

/// The fingerprint of an X509 certificate (DER hashed with the given algorithm).
func certificateFingerprint(_ x509: OpaquePointer, algorithm: DTLSFingerprint.Algorithm) throws(DTLSError) -> DTLSFingerprint {
    let digest: OpaquePointer? =
        switch algorithm {
        case .sha1: EVP_sha1()
        case .sha224: EVP_sha224()
        case .sha256: EVP_sha256()
        case .sha384: EVP_sha384()
        case .sha512: EVP_sha512()
        }
    var output = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
    var length: UInt32 = 0
    guard X509_digest(x509, digest, &output, &length) == 1, Int(length) == algorithm.digestLength else {
        throw .openSSL(operation: "X509_digest(\(algorithm.rawValue))", details: OpenSSLErrorQueue.drain())
    }
    return DTLSFingerprint(algorithm: algorithm, bytes: Array(output.prefix(Int(length))))
}

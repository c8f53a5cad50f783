import COpenSSL
import CRelayShim

/// One DTLS-SRTP association (RFC 5764) over OpenSSL, as a sans-IO byte pump: datagrams and
/// time go in (`start`, `handle(datagram:now:)`, `handleTimeout(now:)`), datagrams, events and
/// a deadline come out (`pollTransmit`, `pollEvent`, `nextTimeout`). No socket, no clock,
/// no thread inside. Owns its SSL_CTX, SSL and the two memory BIOs and frees them in deinit.
///
/// Retransmission. OpenSSL 3.0 measures its DTLS timer on the wall clock (gettimeofday), so it
/// cannot follow the caller's clock. This class therefore keeps its own timer on the `now` it
/// is given: when `nextTimeout` passes, `handleTimeout` re-sends the last handshake flight as it
/// was (RFC 6347 §4.2.4; a peer that already has those records drops them as replays), doubling
/// the timeout each time. The side that sent the final flight re-sends it when the peer
/// repeats handshake records after the handshake is done. `handleTimeout` also gives OpenSSL's
/// own timer its turn, so a real deployment additionally gets OpenSSL's freshly numbered
/// retransmissions, which any peer accepts.
///
/// Not thread-safe: one driver owns it.
public final class DTLSConnection {
    public let configuration: DTLSConfiguration
    public var role: DTLSRole { configuration.role }
    public private(set) var state: DTLSConnectionState = .idle

    private let context: OpaquePointer  // SSL_CTX*
    private let ssl: OpaquePointer  // SSL*, owns both BIOs
    private let incoming: OpaquePointer  // BIO*: datagrams from the peer
    private let outgoing: OpaquePointer  // BIO*: records OpenSSL wants sent
    private let verification: PeerVerification

    private var transmitQueue = PollQueue<[UInt8]>()
    private var events = PollQueue<DTLSEvent>()
    private var scratch = [UInt8](repeating: 0, count: 16 * 1024 + 512)

    /// The handshake flight we sent last, kept to re-send verbatim.
    private var lastFlight: [[UInt8]] = []
    /// True when `lastFlight` finished the handshake (the server's ChangeCipherSpec+Finished).
    private var sentFinalFlight = false
    private var finalFlightResends = 0
    private var retransmitDeadline: ContinuousClock.Instant?
    private var retransmitTimeout: Duration
    private var retransmissions = 0

    public init(certificate: DTLSCertificate, configuration: DTLSConfiguration) throws(DTLSError) {
        self.configuration = configuration
        retransmitTimeout = configuration.initialRetransmitTimeout
        let verification = PeerVerification(expected: configuration.remoteFingerprint)
        self.verification = verification
        OpenSSLErrorQueue.clear()
        let handles = try Self.makeHandles(certificate: certificate, configuration: configuration, verification: verification)
        context = handles.context
        ssl = handles.ssl
        incoming = handles.incoming
        outgoing = handles.outgoing
        DTLSLiveCounter.connections.add(1)
    }

    deinit {
        SSL_free(ssl)  // frees both BIOs
        SSL_CTX_free(context)
        DTLSLiveCounter.connections.add(-1)
    }

    /// Live instances in this process (for leak tests).
    public static var liveInstances: Int { DTLSLiveCounter.connections.value }

    // MARK: Inputs

    /// Begins the handshake: the client queues its ClientHello; the server waits for one.
    /// Calling it again does nothing.
    public func start(now: ContinuousClock.Instant) {
        guard state == .idle else { return }
        state = .handshaking
        advanceHandshake(now: now)
    }

    /// Feeds one datagram received from the peer (first byte 20–63 per RFC 7983). Anything
    /// that is not valid DTLS is dropped, as DTLS requires.
    public func handle(datagram: some Collection<UInt8>, now: ContinuousClock.Instant) {
        if state == .idle { start(now: now) }
        guard state == .handshaking || state == .connected, !datagram.isEmpty, datagram.count <= 65_535 else { return }
        if state == .connected, sentFinalFlight, DTLSRecordPacker.startsWithHandshake(datagram),
           finalFlightResends < configuration.maximumRetransmissions
        {
            // The peer repeats its last flight: our final flight was lost. Send it again.
            finalFlightResends += 1
            transmitQueue.append(contentsOf: lastFlight)
        }
        _ = relay_openssl_bio_reset(incoming)  // each datagram is read on its own
        let bytes = Array(datagram)
        let written = bytes.withUnsafeBytes { BIO_write(incoming, $0.baseAddress, Int32($0.count)) }
        guard written == Int32(bytes.count) else {
            fail(.connectionFailed(details: "BIO_write of a \(bytes.count)-byte datagram: \(OpenSSLErrorQueue.drain())"))
            return
        }
        if state == .handshaking {
            advanceHandshake(now: now)
        } else {
            readApplicationData()
        }
    }

    /// Call when `now` has reached `nextTimeout`: re-sends the last handshake flight, or fails
    /// the handshake when the peer stayed silent too long. Harmless to call early or often.
    public func handleTimeout(now: ContinuousClock.Instant) {
        guard state == .handshaking else { return }
        OpenSSLErrorQueue.clear()
        // OpenSSL's own (wall-clock) timer first; it retransmits with fresh record numbers.
        let native = configuration.usesOpenSSLTimer ? relay_openssl_dtls_handle_timeout(ssl) : 0
        let nativeOutput = drainOutgoing()
        transmitQueue.append(contentsOf: nativeOutput)
        if native < 0 {
            OpenSSLErrorQueue.clear()
            fail(.handshakeTimedOut(retransmissions: retransmissions))
            return
        }
        guard let deadline = retransmitDeadline, now >= deadline else { return }
        guard retransmissions < configuration.maximumRetransmissions else {
            fail(.handshakeTimedOut(retransmissions: retransmissions))
            return
        }
        retransmissions += 1
        if nativeOutput.isEmpty { transmitQueue.append(contentsOf: lastFlight) }
        retransmitTimeout = min(retransmitTimeout * 2, configuration.maximumRetransmitTimeout)
        retransmitDeadline = now + retransmitTimeout
    }

    /// Sends application data over the association as one record, which must fit one datagram
    /// (about `mtu` − 60 bytes). Failing to send leaves the connection as it was.
    public func send(_ data: some Collection<UInt8>) throws(DTLSError) {
        guard state == .connected else { throw .notConnected(state: state.rawValue) }
        guard !data.isEmpty else { return }
        guard data.count <= configuration.mtu else {
            throw .openSSL(
                operation: "SSL_write", details: "\(data.count) bytes do not fit one \(configuration.mtu)-byte datagram")
        }
        OpenSSLErrorQueue.clear()
        let bytes = Array(data)
        let written = bytes.withUnsafeBytes { SSL_write(ssl, $0.baseAddress, Int32($0.count)) }
        guard written == Int32(bytes.count) else {
            throw .openSSL(operation: "SSL_write", details: OpenSSLErrorQueue.drain())
        }
        transmitQueue.append(contentsOf: drainOutgoing())
    }

    /// Leaves: queues close_notify (when connected) and stops. No event is reported for a
    /// close we started ourselves.
    public func close() {
        switch state {
        case .connected:
            OpenSSLErrorQueue.clear()
            _ = SSL_shutdown(ssl)
            transmitQueue.append(contentsOf: drainOutgoing())
            OpenSSLErrorQueue.clear()
        case .idle, .handshaking:
            break
        case .closed, .failed:
            return
        }
        state = .closed
        retransmitDeadline = nil
    }

    // MARK: Outputs

    /// The next datagram to send to the peer, or nil.
    public func pollTransmit() -> [UInt8]? { transmitQueue.pop() }

    /// The next event, or nil.
    public func pollEvent() -> DTLSEvent? { events.pop() }

    /// When `handleTimeout` should be called next (on the caller's clock), or nil when no
    /// timer runs (before start, after the handshake).
    public var nextTimeout: ContinuousClock.Instant? {
        state == .handshaking ? retransmitDeadline : nil
    }

    // MARK: Handshake

    private func advanceHandshake(now: ContinuousClock.Instant) {
        OpenSSLErrorQueue.clear()
        let result = SSL_do_handshake(ssl)
        let flight = drainOutgoing()
        transmitQueue.append(contentsOf: flight)
        if result == 1 {
            finishHandshake(finalFlight: flight)
            return
        }
        switch SSL_get_error(ssl, result) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
            if !flight.isEmpty {
                // A new flight: the previous one was answered. Restart the timer.
                lastFlight = flight
                retransmissions = 0
                retransmitTimeout = configuration.initialRetransmitTimeout
                retransmitDeadline = now + retransmitTimeout
            }
        default:
            let details = OpenSSLErrorQueue.drain()
            if let mismatch = verification.mismatch {
                fail(mismatch)  // the alert OpenSSL queued is already in transmitQueue
            } else {
                fail(.handshakeFailed(details: details))
            }
        }
    }

    private func finishHandshake(finalFlight: [[UInt8]]) {
        retransmitDeadline = nil
        lastFlight = finalFlight
        sentFinalFlight = !finalFlight.isEmpty
        // The verify callback has run; check again on the certificate OpenSSL kept.
        guard verification.matched, let peer = SSL_get1_peer_certificate(ssl) else {
            abort(with: verification.mismatch ?? .peerCertificateMissing)
            return
        }
        let got = try? certificateFingerprint(peer, algorithm: configuration.remoteFingerprint.algorithm)
        X509_free(peer)
        guard let got, got == configuration.remoteFingerprint else {
            let fallback = DTLSFingerprint(algorithm: configuration.remoteFingerprint.algorithm, bytes: [])
            abort(with: .fingerprintMismatch(expected: configuration.remoteFingerprint, got: got ?? fallback))
            return
        }
        guard let selected = SSL_get_selected_srtp_profile(ssl),
              let profile = DTLSSRTPProfile(wireID: selected.pointee.id)
        else {
            abort(with: .noSRTPProfileNegotiated(offered: configuration.srtpProfiles))
            return
        }
        let length = 2 * (profile.keyLength + profile.saltLength)
        var material = [UInt8](repeating: 0, count: length)
        let label = "EXTRACTOR-dtls_srtp"
        let exported = label.withCString { labelPointer in
            SSL_export_keying_material(ssl, &material, length, labelPointer, label.utf8.count, nil, 0, 0)
        }
        guard exported == 1, let keys = DTLSSRTPKeys(exportedMaterial: material, profile: profile, role: role) else {
            abort(with: .handshakeFailed(details: "SSL_export_keying_material: \(OpenSSLErrorQueue.drain())"))
            return
        }
        state = .connected
        events.append(.connected(keys))
        readApplicationData()  // records that arrived with the last flight
    }

    /// Fails after a completed handshake: tell the peer (close_notify) and stop.
    private func abort(with error: DTLSError) {
        _ = SSL_shutdown(ssl)
        transmitQueue.append(contentsOf: drainOutgoing())
        fail(error)
    }

    // MARK: Established

    private func readApplicationData() {
        while state == .connected {
            OpenSSLErrorQueue.clear()
            let count = scratch.withUnsafeMutableBytes { SSL_read(ssl, $0.baseAddress, Int32($0.count)) }
            if count > 0 {
                events.append(.applicationData(Array(scratch[0..<Int(count)])))
                continue
            }
            switch SSL_get_error(ssl, count) {
            case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
                transmitQueue.append(contentsOf: drainOutgoing())
                return
            case SSL_ERROR_ZERO_RETURN:
                // close_notify from the peer: answer it and report that the peer left.
                _ = SSL_shutdown(ssl)
                transmitQueue.append(contentsOf: drainOutgoing())
                OpenSSLErrorQueue.clear()
                state = .closed
                events.append(.closed)
                return
            default:
                let details = OpenSSLErrorQueue.drain()
                transmitQueue.append(contentsOf: drainOutgoing())
                fail(.connectionFailed(details: details))
                return
            }
        }
    }

    // MARK: Plumbing

    private func fail(_ error: DTLSError) {
        guard state != .failed, state != .closed else { return }
        transmitQueue.append(contentsOf: drainOutgoing())  // e.g. the alert OpenSSL queued
        state = .failed
        retransmitDeadline = nil
        events.append(.failed(error))
    }

    /// Everything OpenSSL has written since the last call, as datagrams.
    private func drainOutgoing() -> [[UInt8]] {
        let pending = Int(BIO_ctrl_pending(outgoing))
        guard pending > 0 else { return [] }
        var bytes = [UInt8](repeating: 0, count: pending)
        let read = bytes.withUnsafeMutableBytes { BIO_read(outgoing, $0.baseAddress, Int32($0.count)) }
        guard read > 0 else { return [] }
        if Int(read) < pending { bytes.removeLast(pending - Int(read)) }
        return DTLSRecordPacker.datagrams(from: bytes, mtu: configuration.mtu)
    }

    private struct Handles {
        let context: OpaquePointer
        let ssl: OpaquePointer
        let incoming: OpaquePointer
        let outgoing: OpaquePointer
    }

    /// WebRTC peers use ECDSA certificates; RSA suites stay for servers that still use RSA.
    private static let cipherList =
        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:"
        + "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305:"
        + "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA"

    private static func makeHandles(
        certificate: DTLSCertificate, configuration: DTLSConfiguration, verification: PeerVerification
    ) throws(DTLSError) -> Handles {
        guard !configuration.srtpProfiles.isEmpty else {
            throw .openSSL(operation: "configuring use_srtp", details: "no SRTP profile configured")
        }
        guard let context = SSL_CTX_new(DTLS_method()) else {
            throw .openSSL(operation: "SSL_CTX_new(DTLS_method())", details: OpenSSLErrorQueue.drain())
        }
        var ssl: OpaquePointer?
        do throws(DTLSError) {
            guard relay_openssl_prepare_dtls_context(context) == 1 else {
                throw DTLSError.openSSL(operation: "setting DTLS 1.2 options", details: OpenSSLErrorQueue.drain())
            }
            try certificate.install(in: context)
            guard SSL_CTX_set_cipher_list(context, cipherList) == 1 else {
                throw DTLSError.openSSL(operation: "SSL_CTX_set_cipher_list", details: OpenSSLErrorQueue.drain())
            }
            let profiles = configuration.srtpProfiles.map(\.openSSLName).joined(separator: ":")
            guard SSL_CTX_set_tlsext_use_srtp(context, profiles) == 0 else {  // 0 means success here
                throw DTLSError.openSSL(operation: "SSL_CTX_set_tlsext_use_srtp(\(profiles))", details: OpenSSLErrorQueue.drain())
            }
            // Demand a certificate from the peer; trust it only through the SDP fingerprint.
            SSL_CTX_set_verify(context, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nil)
            SSL_CTX_set_cert_verify_callback(context, verifyPeerCertificate, Unmanaged.passUnretained(verification).toOpaque())

            guard let newSSL = SSL_new(context) else {
                throw DTLSError.openSSL(operation: "SSL_new", details: OpenSSLErrorQueue.drain())
            }
            ssl = newSSL
            guard let incoming = BIO_new(BIO_s_mem()) else {
                throw DTLSError.openSSL(operation: "BIO_new", details: OpenSSLErrorQueue.drain())
            }
            guard let outgoing = BIO_new(BIO_s_mem()) else {
                BIO_free(incoming)
                throw DTLSError.openSSL(operation: "BIO_new", details: OpenSSLErrorQueue.drain())
            }
            _ = relay_openssl_bio_set_mem_eof_return(incoming, -1)
            _ = relay_openssl_bio_set_mem_eof_return(outgoing, -1)
            SSL_set_bio(newSSL, incoming, outgoing)  // the SSL owns them from here
            guard relay_openssl_dtls_set_link_mtu(newSSL, configuration.mtu) == 1 else {
                throw DTLSError.openSSL(operation: "DTLS_set_link_mtu(\(configuration.mtu))", details: OpenSSLErrorQueue.drain())
            }
            if !configuration.usesOpenSSLTimer { DTLS_set_timer_cb(newSSL, openSSLTimerThatNeverFires) }
            switch configuration.role {
            case .client: SSL_set_connect_state(newSSL)
            case .server: SSL_set_accept_state(newSSL)
            }
            return Handles(context: context, ssl: newSSL, incoming: incoming, outgoing: outgoing)
        } catch {
            if let ssl { SSL_free(ssl) }
            SSL_CTX_free(context)
            throw error
        }
    }
}

/// OpenSSL asks this for the length of its next retransmission timeout; an hour means its
/// wall-clock timer never fires within a handshake, leaving retransmission to our own timer.
private func openSSLTimerThatNeverFires(_ ssl: OpaquePointer?, _ previousMicroseconds: UInt32) -> UInt32 {
    3_600_000_000
}

/// What the verify callback learned about the peer certificate. A class so OpenSSL can hold a
/// pointer to it; the connection keeps it alive for as long as its SSL_CTX.
private final class PeerVerification {
    let expected: DTLSFingerprint
    var matched = false
    var mismatch: DTLSError?

    init(expected: DTLSFingerprint) { self.expected = expected }
}

/// Replaces OpenSSL's chain verification: a self-signed certificate is fine, but it must hash
/// to the fingerprint the SDP announced. Returning 0 makes OpenSSL send a bad_certificate alert
/// and abort the handshake.
private func verifyPeerCertificate(_ store: OpaquePointer?, _ argument: UnsafeMutableRawPointer?) -> Int32 {
    guard let store, let argument else { return 0 }
    let verification = Unmanaged<PeerVerification>.fromOpaque(argument).takeUnretainedValue()
    guard let certificate = X509_STORE_CTX_get0_cert(store),
          let got = try? certificateFingerprint(certificate, algorithm: verification.expected.algorithm)
    else {
        X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED)
        return 0
    }
    guard got == verification.expected else {
        verification.mismatch = .fingerprintMismatch(expected: verification.expected, got: got)
        X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED)
        return 0
    }
    verification.matched = true
    X509_STORE_CTX_set_error(store, X509_V_OK)
    return 1
}

import Relay


/// A DTLS client and server face to face, with a manual clock and a loop that moves datagrams.
final class DTLSTestPair {
    let clientCertificate: DTLSCertificate
    let serverCertificate: DTLSCertificate
    let client: DTLSConnection
    let server: DTLSConnection
    let start = ContinuousClock.now
    private(set) var elapsed: Duration = .zero
    var now: ContinuousClock.Instant { start + elapsed }

    private(set) var clientEvents: [DTLSEvent] = []
    private(set) var serverEvents: [DTLSEvent] = []
    /// Datagrams sent by each side, in order, counted over the whole run.
    private(set) var clientSent = 0
    private(set) var serverSent = 0

    init(
        clientProfiles: [DTLSSRTPProfile] = [.aeadAES128GCM, .aes128CMHMACSHA1_80],
        serverProfiles: [DTLSSRTPProfile] = [.aeadAES128GCM, .aes128CMHMACSHA1_80],
        clientExpects: DTLSFingerprint? = nil,
        serverExpects: DTLSFingerprint? = nil,
        usesOpenSSLTimer: Bool = true
    ) throws {
        clientCertificate = try DTLSCertificate(commonName: "client")
        serverCertificate = try DTLSCertificate(commonName: "server")
        client = try DTLSConnection(
            certificate: clientCertificate,
            configuration: DTLSConfiguration(
                role: .client, remoteFingerprint: clientExpects ?? serverCertificate.fingerprint, srtpProfiles: clientProfiles,
                usesOpenSSLTimer: usesOpenSSLTimer))
        server = try DTLSConnection(
            certificate: serverCertificate,
            configuration: DTLSConfiguration(
                role: .server, remoteFingerprint: serverExpects ?? clientCertificate.fingerprint, srtpProfiles: serverProfiles,
                usesOpenSSLTimer: usesOpenSSLTimer))
    }

    func advance(by duration: Duration) { elapsed += duration }

    func collectEvents() {
        while let event = client.pollEvent() { clientEvents.append(event) }
        while let event = server.pollEvent() { serverEvents.append(event) }
    }

    /// Moves datagrams until both sides are quiet. `deliver` decides, per datagram, whether
    /// it arrives; `reorder` may shuffle each batch.
    func pump(
        deliver: (_ fromClient: Bool, _ index: Int, _ datagram: [UInt8]) -> Bool = { _, _, _ in true },
        reorder: (inout [[UInt8]]) -> Void = { _ in }
    ) {
        for _ in 0..<100 {
            var toServer: [[UInt8]] = []
            var toClient: [[UInt8]] = []
            while let datagram = client.pollTransmit() {
                if deliver(true, clientSent, datagram) { toServer.append(datagram) }
                clientSent += 1
            }
            while let datagram = server.pollTransmit() {
                if deliver(false, serverSent, datagram) { toClient.append(datagram) }
                serverSent += 1
            }
            if toServer.isEmpty && toClient.isEmpty { break }
            reorder(&toServer)
            reorder(&toClient)
            for datagram in toServer { server.handle(datagram: datagram, now: now) }
            for datagram in toClient { client.handle(datagram: datagram, now: now) }
        }
        collectEvents()
    }

    /// Advances the manual clock to the earliest deadline and fires the timers that are due.
    /// Returns false when no timer runs.
    @discardableResult
    func fireNextTimeout() -> Bool {
        let deadlines = [client.nextTimeout, server.nextTimeout].compactMap { $0 }
        guard let next = deadlines.min() else { return false }
        if next > now { elapsed = next - start }
        client.handleTimeout(now: now)
        server.handleTimeout(now: now)
        collectEvents()
        return true
    }

    var clientKeys: DTLSSRTPKeys? { Self.keys(in: clientEvents) }
    var serverKeys: DTLSSRTPKeys? { Self.keys(in: serverEvents) }

    static func keys(in events: [DTLSEvent]) -> DTLSSRTPKeys? {
        for case .connected(let keys) in events { return keys }
        return nil
    }

    static func failure(in events: [DTLSEvent]) -> DTLSError? {
        for case .failed(let error) in events { return error }
        return nil
    }
}

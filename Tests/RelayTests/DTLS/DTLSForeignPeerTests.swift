#if os(Linux)
import Foundation
import Glibc
import Relay
import Testing

extension DTLSTests {
    /// A foreign DTLS client, `openssl s_client`, over real UDP on loopback against our server:
    /// it prints the SRTP keying material it exported, which judges our split of the keys.
    @Suite struct ForeignPeer {
        static let profiles: [DTLSSRTPProfile] = [.aes128CMHMACSHA1_80, .aeadAES128GCM]

        /// A certificate + key made by the openssl command line, and its SDP fingerprint.
        struct ForeignIdentity {
            let directory: URL
            let certificatePath: String
            let keyPath: String
            let fingerprint: DTLSFingerprint

            init() throws {
                directory = FileManager.default.temporaryDirectory.appendingPathComponent("dtls-\(UUID().uuidString)")
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                certificatePath = directory.appendingPathComponent("peer.pem").path
                keyPath = directory.appendingPathComponent("peer.key").path
                try ForeignPeer.run([
                    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", keyPath, "-out", certificatePath, "-subj", "/CN=foreign", "-days", "2",
                ])
                let line = try ForeignPeer.run(["x509", "-in", certificatePath, "-noout", "-fingerprint", "-sha256"])
                let hex = try #require(line.split(separator: "=").last).trimmingCharacters(in: .whitespacesAndNewlines)
                fingerprint = try DTLSFingerprint(sdpValue: "sha-256 \(hex)")
            }

            func remove() { try? FileManager.default.removeItem(at: directory) }
        }

        /// `openssl s_client` against our server over real UDP on loopback. It prints the SRTP
        /// keying material it exported, which judges our split of the keys.
        @Test(arguments: profiles)
        func opensslClientAgainstOurServer(profile: DTLSSRTPProfile) throws {
            let identity = try ForeignIdentity()
            defer { identity.remove() }
            let server = try DTLSConnection(
                certificate: DTLSCertificate(commonName: "relayd"),
                configuration: DTLSConfiguration(role: .server, remoteFingerprint: identity.fingerprint))
            let socket = try UDPSocket()
            let length = 2 * (profile.keyLength + profile.saltLength)
            let peer = try ForeignProcess([
                "s_client", "-dtls1_2", "-connect", "127.0.0.1:\(socket.port)", "-cert", identity.certificatePath,
                "-key", identity.keyPath, "-use_srtp", profile.openSSLName, "-keymatexport", "EXTRACTOR-dtls_srtp",
                "-keymatexportlen", "\(length)", "-mtu", "1200", "-no_ign_eof",
            ])
            var closing = false
            let result = try Self.drive(server, over: socket, peer: peer) { connection in
                try connection.send(Array("hello from relayd\n".utf8))
                peer.write("hello from openssl\n")
            } until: { progress in
                // Both greetings crossed: EOF on stdin makes s_client send close_notify.
                if !closing, progress.received.count >= 19, peer.transcript.contains("hello from relayd") {
                    closing = true
                    peer.closeInput()
                }
                return progress.closed
            }
            let transcript = peer.finish()
            try Self.judge(result, transcript: transcript, profile: profile, role: .server)
            #expect(result.closed, "no close_notify seen")
        }

        /// Our client against `openssl s_server` (the relay is the DTLS client in production).
        @Test(arguments: profiles)
        func ourClientAgainstOpensslServer(profile: DTLSSRTPProfile) throws {
            let identity = try ForeignIdentity()
            defer { identity.remove() }
            let length = 2 * (profile.keyLength + profile.saltLength)
            let peer = try ForeignProcess([
                "s_server", "-dtls1_2", "-accept", "0", "-naccept", "1", "-cert", identity.certificatePath,
                "-key", identity.keyPath, "-Verify", "1", "-use_srtp", profile.openSSLName,
                "-keymatexport", "EXTRACTOR-dtls_srtp", "-keymatexportlen", "\(length)", "-mtu", "1200",
            ])
            let port = try #require(peer.waitForLine(containing: "ACCEPT").flatMap { UInt16($0.split(separator: ":").last ?? "") })
            let socket = try UDPSocket(peerPort: port)
            let client = try DTLSConnection(
                certificate: DTLSCertificate(commonName: "relayd"),
                configuration: DTLSConfiguration(role: .client, remoteFingerprint: identity.fingerprint))
            client.start(now: .now)
            var greeted = false
            let result = try Self.drive(client, over: socket, peer: peer) { connection in
                try connection.send(Array("hello from relayd\n".utf8))
                peer.write("hello from openssl\n")
            } until: { progress in
                if !greeted, progress.received.count >= 19, peer.transcript.contains("hello from relayd") {
                    greeted = true
                    client.close()  // close_notify ends s_server (-naccept 1)
                    while let datagram = client.pollTransmit() { socket.send(datagram) }
                }
                return greeted
            }
            let transcript = peer.finish()
            try Self.judge(result, transcript: transcript, profile: profile, role: .client)
        }

        struct Progress {
            var keys: DTLSSRTPKeys?
            var received: [UInt8] = []
            var closed = false
        }

        /// Runs the connection against the real socket on the real clock until `done` says so
        /// (or 20 s pass); `onConnected` runs once after the handshake.
        static func drive(
            _ connection: DTLSConnection, over socket: UDPSocket, peer: ForeignProcess,
            onConnected: (DTLSConnection) throws -> Void, until done: (Progress) -> Bool
        ) throws -> Progress {
            var progress = Progress()
            var announced = false
            let deadline = ContinuousClock.now + .seconds(20)
            while ContinuousClock.now < deadline, !done(progress) {
                if let datagram = socket.receive(timeoutMilliseconds: 20) { connection.handle(datagram: datagram, now: .now) }
                if let due = connection.nextTimeout, ContinuousClock.now >= due { connection.handleTimeout(now: .now) }
                while let event = connection.pollEvent() {
                    switch event {
                    case .connected(let keys): progress.keys = keys
                    case .applicationData(let bytes): progress.received += bytes
                    case .closed: progress.closed = true
                    case .failed(let error): Issue.record("DTLS failed: \(error)")
                    }
                }
                if progress.keys != nil && !announced {
                    announced = true
                    try onConnected(connection)
                }
                while let datagram = connection.pollTransmit() { socket.send(datagram) }
            }
            return progress
        }

        /// Keys must be the exporter output split as client_key | server_key | client_salt |
        /// server_salt, from our side's point of view; data must have crossed both ways.
        static func judge(_ result: Progress, transcript: String, profile: DTLSSRTPProfile, role: DTLSRole) throws {
            let keys = try #require(result.keys, "no handshake; openssl said:\n\(transcript)")
            #expect(keys.profile == profile)
            #expect(String(decoding: result.received, as: UTF8.self) == "hello from openssl\n")
            #expect(transcript.contains("hello from relayd"), "\(transcript)")
            let line = try #require(transcript.split(separator: "\n").first { $0.contains("Keying material:") }, "\(transcript)")
            let material = try #require(Self.bytes(fromHex: String(line.split(separator: ":").last ?? "")))
            let (k, s) = (profile.keyLength, profile.saltLength)
            #expect(material.count == 2 * (k + s))
            let clientKey = Array(material[0..<k]), serverKey = Array(material[k..<(2 * k)])
            let clientSalt = Array(material[(2 * k)..<(2 * k + s)]), serverSalt = Array(material[(2 * k + s)...])
            let expected =
                role == .client
                ? DTLSSRTPKeys(profile: profile, localKey: clientKey, localSalt: clientSalt, remoteKey: serverKey, remoteSalt: serverSalt)
                : DTLSSRTPKeys(profile: profile, localKey: serverKey, localSalt: serverSalt, remoteKey: clientKey, remoteSalt: clientSalt)
            #expect(keys == expected)
        }

        static func bytes(fromHex text: String) -> [UInt8]? {
            let digits = Array(text.trimmingCharacters(in: .whitespacesAndNewlines).utf8)
            guard digits.count % 2 == 0 else { return nil }
            return stride(from: 0, to: digits.count, by: 2).compactMap { index in
                UInt8(String(decoding: digits[index..<(index + 2)], as: UTF8.self), radix: 16)
            }
        }

        @discardableResult
        static func run(_ arguments: [String]) throws -> String {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            process.arguments = arguments
            let output = Pipe()
            process.standardOutput = output
            process.standardError = output
            try process.run()
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return String(decoding: data, as: UTF8.self)
        }
    }
}

/// An `openssl` command-line process whose output is collected in the background.
final class ForeignProcess: @unchecked Sendable {  // @unchecked: `lock` guards `collected` and `ended`.
    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private let lock = NSLock()
    private var collected = Data()
    private var ended = false

    init(_ arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        output.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let chunk = handle.availableData
            if chunk.isEmpty { handle.readabilityHandler = nil }
            self?.append(chunk)
        }
        try process.run()
    }

    deinit { if process.isRunning { process.terminate() } }

    private func append(_ chunk: Data) {
        lock.lock()
        if chunk.isEmpty { ended = true } else { collected.append(chunk) }
        lock.unlock()
    }

    var transcript: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: collected, as: UTF8.self)
    }

    private var outputEnded: Bool {
        lock.lock()
        defer { lock.unlock() }
        return ended
    }

    func write(_ text: String) { input.fileHandleForWriting.write(Data(text.utf8)) }
    func closeInput() { try? input.fileHandleForWriting.close() }

    /// Waits (up to `timeout`) for a line of output containing `marker`.
    func waitForLine(containing marker: String, timeout: Duration = .seconds(10)) -> String? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let line = transcript.split(separator: "\n").first(where: { $0.contains(marker) }) {
                return line.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            usleep(5_000)
        }
        return nil
    }

    /// Waits up to 10 s for the process to end (then stops it) and returns all its output.
    func finish() -> String {
        closeInput()
        let deadline = ContinuousClock.now + .seconds(10)
        while process.isRunning || !outputEnded, ContinuousClock.now < deadline { usleep(5_000) }
        if process.isRunning { process.terminate() }
        return transcript
    }
}

/// A UDP socket on 127.0.0.1, port chosen by the kernel; sends to a fixed peer port or to
/// whoever sent last.
final class UDPSocket {
    let descriptor: Int32
    let port: UInt16
    private var peer = sockaddr_in()
    private var hasPeer = false

    struct Failure: Error { let what: String }

    init(peerPort: UInt16? = nil) throws {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(what: "socket") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        var actual = sockaddr_in()
        var actualLength = length
        let named = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &actualLength) }
        }
        guard bound == 0, named == 0 else {
            close(fd)
            throw Failure(what: "bind")
        }
        descriptor = fd
        port = UInt16(bigEndian: actual.sin_port)
        if let peerPort {
            peer.sin_family = sa_family_t(AF_INET)
            peer.sin_addr.s_addr = inet_addr("127.0.0.1")
            peer.sin_port = peerPort.bigEndian
            hasPeer = true
        }
    }

    deinit { close(descriptor) }

    func receive(timeoutMilliseconds: Int32) -> [UInt8]? {
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, timeoutMilliseconds) == 1 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let count = buffer.withUnsafeMutableBytes { bytes in
            withUnsafeMutablePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    recvfrom(descriptor, bytes.baseAddress, bytes.count, 0, $0, &length)
                }
            }
        }
        guard count > 0 else { return nil }
        hasPeer = true
        return Array(buffer[0..<count])
    }

    func send(_ datagram: [UInt8]) {
        guard hasPeer else { return }
        let length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = datagram.withUnsafeBytes { bytes in
            withUnsafePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(descriptor, bytes.baseAddress, bytes.count, 0, $0, length)
                }
            }
        }
    }
}
#endif

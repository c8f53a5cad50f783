import Foundation
import Testing
@testable import Relay

/// Collects a driver's events (delivered on its thread) and lets the test wait for a condition
/// on them with a timeout. `@unchecked Sendable`: `condition` guards `events`.
final class DriverEventLog: @unchecked Sendable {
    private let condition = NSCondition()
    private var events: [PeerConnectionEvent] = []
    private(set) var rtpCount = 0

    func append(_ event: PeerConnectionEvent) {
        condition.lock()
        if case .rtp = event { rtpCount += 1 } else { events.append(event) }
        condition.broadcast()
        condition.unlock()
    }

    var snapshot: [PeerConnectionEvent] {
        condition.lock()
        defer { condition.unlock() }
        return events
    }

    var receivedRTP: Int {
        condition.lock()
        defer { condition.unlock() }
        return rtpCount
    }

    /// Waits until `predicate` holds on (non-RTP events, RTP count), or the timeout passes.
    func wait(timeout: Duration, until predicate: ([PeerConnectionEvent], Int) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(Double(timeout.components.seconds))
        condition.lock()
        defer { condition.unlock() }
        while !predicate(events, rtpCount) {
            guard condition.wait(until: deadline) else { return predicate(events, rtpCount) }
        }
        return true
    }
}

@Suite("UDPPeerDriver over loopback")
struct UDPPeerDriverTests {
    static let ipv6LoopbackWorks: Bool = {
        guard let address = SocketAddress("[::1]:0"), let driver = try? UDPPeerDriver(bindTo: address) else { return false }
        driver.shutdown()
        return true
    }()

    @Test func relayAndSFUConnectAndMove200RTPPacketsOverIPv4() throws {
        try connectAndMoveMedia(loopback: try #require(SocketAddress("127.0.0.1:0")))
    }

    @Test(.enabled(if: ipv6LoopbackWorks))
    func relayAndSFUConnectOverIPv6() throws {
        try connectAndMoveMedia(loopback: try #require(SocketAddress("[::1]:0")))
    }

    @Test func bindingReportsTheRealPortAndHostCandidates() throws {
        let driver = try UDPPeerDriver(bindTo: try #require(SocketAddress("127.0.0.1:0")))
        defer { driver.shutdown() }
        #expect(driver.localAddress.port != 0)
        #expect(driver.hostCandidates.map(\.address) == [driver.localAddress])
        #expect(driver.hostCandidates.first?.kind == .host)

        let wildcard = try UDPPeerDriver(bindTo: try #require(SocketAddress("0.0.0.0:0")))
        defer { wildcard.shutdown() }
        #expect(!wildcard.hostCandidates.isEmpty)
        #expect(wildcard.hostCandidates.allSatisfy { $0.address.port == wildcard.localAddress.port && !$0.address.isUnspecified })
    }

    @Test func bindingAnAddressThatIsNotLocalFailsWithAReason() throws {
        let notLocal = try #require(SocketAddress("192.0.2.123:0"))
        do throws(UDPDriverError) {
            _ = try UDPPeerDriver(bindTo: notLocal)
            Issue.record("binding a TEST-NET address should fail")
        } catch {
            #expect(error.code == EADDRNOTAVAIL)
            #expect(error.description.contains("bind 192.0.2.123:0"))
        }
    }

    @Test func aDriverNeverStartedClosesItsDescriptors() throws {
        let driver = try UDPPeerDriver(bindTo: try #require(SocketAddress("127.0.0.1:0")))
        let identities = Self.identities(of: driver.descriptors)
        #expect(identities.count == 2)  // the socket, the pipe (both ends)
        driver.shutdown()
        #expect(Self.openIdentities().isDisjoint(with: identities))
    }

    /// `shutdown()` from inside `onEvent` (the driver thread) must not deadlock joining itself;
    /// the thread closes its descriptors on the way out.
    @Test func shutdownFromTheEventCallbackDoesNotDeadlock() throws {
        let loopback = try #require(SocketAddress("127.0.0.1:0"))
        let driver = try UDPPeerDriver(bindTo: loopback)
        let identities = Self.identities(of: driver.descriptors)
        let peer = try #require(SocketAddress("127.0.0.1:9"))
        let configuration = PeerConnectionConfiguration(
            ice: ICEConfiguration(mode: .controlling, localCredentials: .random()),
            dtls: DTLSConfiguration(role: .client, remoteFingerprint: try DTLSCertificate().fingerprint),
            certificate: try DTLSCertificate(), localCandidates: driver.hostCandidates,
            remoteCredentials: .random(), remoteCandidates: [.host(peer)])
        let log = DriverEventLog()
        try driver.start(configuration: configuration) { [driver] event in
            log.append(event)
            if event == .disconnected(.localClose) { driver.shutdown() }
        }
        driver.close()
        #expect(log.wait(timeout: .seconds(5)) { events, _ in events == [.disconnected(.localClose)] })
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(5)
        while !driver.isStopped && clock.now < deadline { Thread.sleep(forTimeInterval: 0.005) }
        #expect(driver.isStopped)
        driver.shutdown()  // returns at once
        #expect(Self.openIdentities().isDisjoint(with: identities))
    }

    private func connectAndMoveMedia(loopback: SocketAddress) throws {
        let relayDriver = try UDPPeerDriver(bindTo: loopback)
        let sfuDriver = try UDPPeerDriver(bindTo: loopback)
        // Identify the descriptors by what they point at (socket:[inode], pipe:[inode]): other
        // tests open and close descriptors in parallel, so numbers and counts prove nothing.
        let identities = Self.identities(of: relayDriver.descriptors + sfuDriver.descriptors)
        #expect(identities.count == 4)

        let relayLocal = LocalTransportParameters(certificate: try DTLSCertificate(), candidates: relayDriver.hostCandidates)
        let sfuLocal = LocalTransportParameters(certificate: try DTLSCertificate(), candidates: sfuDriver.hostCandidates)
        let offer = SDP.makeSendOnlyOffer(
            tracks: PeerSession.sfuTracks,
            local: sfuLocal.mediaParameters(setup: .actpass, iceLite: true, codecs: PeerSession.sfuCodecs))
        let answer = SessionSetup.relayAnswer(toSFUOffer: try SDP.parse(offer.serialized), local: relayLocal)
        let (relayConfiguration, _) = try SessionSetup.configuration(
            side: .relay, local: relayLocal, localSDP: answer, remoteSDP: try SDP.parse(offer.serialized))
        let (sfuConfiguration, _) = try SessionSetup.configuration(
            side: .sfu, local: sfuLocal, localSDP: offer, remoteSDP: try SDP.parse(answer.serialized))

        let relayLog = DriverEventLog()
        let sfuLog = DriverEventLog()
        try relayDriver.start(configuration: relayConfiguration) { relayLog.append($0) }
        try sfuDriver.start(configuration: sfuConfiguration) { sfuLog.append($0) }

        let connected = relayLog.wait(timeout: .seconds(10)) { events, _ in events.contains(.connected) }
            && sfuLog.wait(timeout: .seconds(10)) { events, _ in events.contains(.connected) }
        #expect(connected, "relay: \(relayLog.snapshot), sfu: \(sfuLog.snapshot)")
        #expect(relayLog.snapshot.contains(.iceConnected(local: relayDriver.localAddress, remote: sfuDriver.localAddress)))

        for sequence in 0..<200 {
            sfuDriver.sendRTP(PeerSession.videoPacket(sequence: UInt16(sequence), payload: [0x65] + [UInt8](repeating: 7, count: 900)))
        }
        let allArrived = relayLog.wait(timeout: .seconds(10)) { _, rtp in rtp >= 200 }
        #expect(allArrived, "relay received \(relayLog.receivedRTP) of 200")
        #expect(relayLog.receivedRTP == 200)

        relayDriver.sendRTCP([.pictureLossIndication(RTCPPictureLossIndication(senderSSRC: 1, mediaSSRC: PeerSession.videoSSRC))])
        let pli = sfuLog.wait(timeout: .seconds(10)) { events, _ in
            events.contains { if case .rtcp = $0 { return true } else { return false } }
        }
        #expect(pli)

        // Shutting the SFU side down sends close_notify: the relay hears that the peer left.
        sfuDriver.shutdown()
        let left = relayLog.wait(timeout: .seconds(10)) { events, _ in events.contains(.disconnected(.closeNotify)) }
        #expect(left, "relay events: \(relayLog.snapshot)")
        #expect(relayDriver.statistics.rtpReceived == 200)
        #expect(relayDriver.statistics.srtpAuthFailures == 0)
        relayDriver.shutdown()
        relayDriver.shutdown()  // idempotent
        #expect(Self.openIdentities().isDisjoint(with: identities), "descriptors leaked")
    }

    // MARK: descriptor identities from /proc/self/fd

    static func identity(of fd: Int32) -> String? {
        try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)")
    }

    static func identities(of descriptors: [Int32]) -> Set<String> {
        Set(descriptors.compactMap(identity(of:)))
    }

    static func openIdentities() -> Set<String> {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return Set(entries.compactMap { Int32($0) }.compactMap(identity(of:)))
    }
}

import FakeCalls
import Foundation
import Relay

/// The relay side of one pull subscription, for the FakeCalls media tests: a Calls session that
/// subscribed to a publisher's "video" and "audio" over real HTTP, answered the SFU's offer
/// with `SessionSetup.relayAnswer`, and receives over a `UDPPeerDriver` on loopback.
///
/// `@unchecked Sendable`: `condition` guards every mutable property; the driver's callback
/// (its thread) and the test's task meet only under it.
final class MediaSubscriber: @unchecked Sendable {
    let driver: UDPPeerDriver
    let session: String
    /// The SFU's mapping for this subscriber, from its offer.
    let videoSSRC: UInt32
    let audioSSRC: UInt32
    let videoPayloadType: UInt8
    let audioPayloadType: UInt8

    private let condition = NSCondition()
    private var connected = false
    private var videoPackets = 0
    private var audioPackets = 0
    private var otherPackets = 0
    private var wrongPayloadType = 0
    private var depacketizer = H264Depacketizer()
    private var extender = RTPSequenceExtender()
    private var keyframes = 0
    private var frames = 0
    private var senderReports: [UInt32: Int] = [:]
    private var lastVideoSequence: UInt16?

    struct Snapshot {
        var connected: Bool
        var videoPackets: Int
        var audioPackets: Int
        var otherPackets: Int
        var wrongPayloadType: Int
        var keyframes: Int
        var frames: Int
        var senderReports: [UInt32: Int]
    }

    /// - Parameters:
    ///   - flowing: retry until the publisher's tracks flow (`subscribeWhenFlowing`).
    ///   - clientOffer: use the compatibility shape (the relay offers recvonly m-lines "0"/"1",
    ///     the SFU answers) instead of the documented pull (the SFU offers, the relay answers).
    static func subscribe(client: CallsClient, publisher: String, flowing: Bool = false,
                          clientOffer: Bool = false) async throws -> MediaSubscriber {
        let session = try await client.newSession()
        let driver = try UDPPeerDriver(bindTo: SocketAddress("127.0.0.1:0")!)
        let local = LocalTransportParameters(certificate: try DTLSCertificate(), candidates: driver.hostCandidates)
        var tracks = [TrackObject(location: .remote, sessionId: publisher, trackName: "video"),
                      TrackObject(location: .remote, sessionId: publisher, trackName: "audio")]
        let localSDP: SDP
        let remoteSDP: SDP
        if clientOffer {
            tracks[0].mid = "0"
            tracks[1].mid = "1"
            let offer = SessionSetup.relayRecvOnlyOffer(
                tracks: [SDPTrackSlot(kind: .video, mid: "0"), SDPTrackSlot(kind: .audio, mid: "1")], local: local)
            let response = try await client.subscribe(session: session, tracks: tracks, offer: offer.serialized)
            guard let text = response.sessionDescription?.sdp else { throw Failure("the SFU sent no answer") }
            localSDP = offer
            remoteSDP = try SDP.parse(text)
        } else {
            let response = flowing
                ? try await client.subscribeWhenFlowing(session: session, tracks: tracks)
                : try await client.subscribe(session: session, tracks: tracks, offer: nil)
            guard let text = response.sessionDescription?.sdp else { throw Failure("the SFU sent no offer") }
            remoteSDP = try SDP.parse(text)
            localSDP = SessionSetup.relayAnswer(toSFUOffer: remoteSDP, local: local)
        }
        let (configuration, remote) = try SessionSetup.configuration(side: .relay, local: local, localSDP: localSDP,
                                                                     remoteSDP: remoteSDP)
        let video = try remote.media.first { $0.kind == .video }.orThrow("no video m-line in the SFU's SDP")
        let audio = try remote.media.first { $0.kind == .audio }.orThrow("no audio m-line in the SFU's SDP")
        let subscriber = MediaSubscriber(
            driver: driver, session: session,
            videoSSRC: try video.remoteSSRCs.first.orThrow("no video a=ssrc"),
            audioSSRC: try audio.remoteSSRCs.first.orThrow("no audio a=ssrc"),
            videoPayloadType: UInt8(try video.codecs.codecs.first.orThrow("no video codec").payloadType),
            audioPayloadType: UInt8(try audio.codecs.codecs.first.orThrow("no audio codec").payloadType))
        if !clientOffer { try await client.renegotiate(session: session, answer: localSDP.serialized) }
        try driver.start(configuration: configuration) { [subscriber] in subscriber.handle($0) }
        return subscriber
    }

    private init(driver: UDPPeerDriver, session: String, videoSSRC: UInt32, audioSSRC: UInt32,
                 videoPayloadType: UInt8, audioPayloadType: UInt8) {
        self.driver = driver
        self.session = session
        self.videoSSRC = videoSSRC
        self.audioSSRC = audioSSRC
        self.videoPayloadType = videoPayloadType
        self.audioPayloadType = audioPayloadType
    }

    private func handle(_ event: PeerConnectionEvent) {
        condition.lock()
        defer {
            condition.broadcast()
            condition.unlock()
        }
        switch event {
        case .connected:
            connected = true
        case .rtp(let packet):
            let header = packet.header
            if header.ssrc == videoSSRC {
                videoPackets += 1
                lastVideoSequence = header.sequenceNumber
                if header.payloadType != videoPayloadType { wrongPayloadType += 1; return }
                let sequence = UInt64(bitPattern: extender.extend(header.sequenceNumber))
                let unit = packet.bytes.withUnsafeBytes { raw in
                    depacketizer.push(payload: UnsafeRawBufferPointer(rebasing: raw[header.payloadRange]),
                                      timestamp: header.timestamp, sequence: sequence, marker: header.marker)
                }
                if let unit {
                    frames += 1
                    if unit.isKeyframe { keyframes += 1 }
                }
            } else if header.ssrc == audioSSRC {
                audioPackets += 1
                if header.payloadType != audioPayloadType { wrongPayloadType += 1 }
            } else {
                otherPackets += 1
            }
        case .rtcp(let packets):
            for case .senderReport(let report) in packets { senderReports[report.ssrc, default: 0] += 1 }
        default:
            break
        }
    }

    var snapshot: Snapshot {
        condition.lock()
        defer { condition.unlock() }
        return Snapshot(connected: connected, videoPackets: videoPackets, audioPackets: audioPackets,
                        otherPackets: otherPackets, wrongPayloadType: wrongPayloadType, keyframes: keyframes,
                        frames: frames, senderReports: senderReports)
    }

    /// Waits (on the driver's events, not a sleep) until `predicate` holds or `timeout` passes.
    func wait(timeout: Duration, until predicate: (Snapshot) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(Double(timeout.components.seconds))
        condition.lock()
        defer { condition.unlock() }
        while true {
            let now = Snapshot(connected: connected, videoPackets: videoPackets, audioPackets: audioPackets,
                               otherPackets: otherPackets, wrongPayloadType: wrongPayloadType, keyframes: keyframes,
                               frames: frames, senderReports: senderReports)
            if predicate(now) { return true }
            guard condition.wait(until: deadline) else { return false }
        }
    }

    /// The sequence number of the newest video packet received.
    var newestVideoSequence: UInt16? {
        condition.lock()
        defer { condition.unlock() }
        return lastVideoSequence
    }

    /// Reports video packets lost (the SFU answers from its cache).
    func sendNACK(_ lost: [UInt16]) {
        driver.sendRTCP([.genericNACK(RTCPGenericNACK(senderSSRC: 0x1234, mediaSSRC: videoSSRC, lost: lost))])
    }

    /// Asks the SFU for a video keyframe, as a relay does.
    func sendPLI() {
        driver.sendRTCP([.pictureLossIndication(RTCPPictureLossIndication(senderSSRC: 0x1234, mediaSSRC: videoSSRC))])
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}

extension Optional {
    func orThrow(_ reason: String) throws -> Wrapped {
        guard let self else { throw MediaSubscriber.Failure(reason) }
        return self
    }
}

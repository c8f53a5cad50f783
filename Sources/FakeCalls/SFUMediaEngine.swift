import Foundation
import Relay

/// Counters of the SFU media side (a snapshot taken by the driver thread every loop turn).
public struct FakeSFUMediaStatistics: Sendable, Equatable {
    /// One per Calls session whose negotiation finished and that is not closed.
    public var livePeerConnections = 0
    public var connectedPeerConnections = 0
    public var datagramsReceived = 0
    /// Datagrams from an unknown address that were not a STUN request naming a known ufrag.
    public var unroutedDatagrams = 0
    /// Decrypted RTP from publishers (browsers).
    public var publisherRTPReceived = 0
    /// RTP packets fixture publishers produced.
    public var fixtureRTPProduced = 0
    /// RTP packets sent to subscribers (one per packet per subscriber).
    public var rtpForwarded = 0
    /// PLI and FIR received from subscribers.
    public var keyframeRequestsFromSubscribers = 0
    /// PLI sent on to browser publishers.
    public var keyframeRequestsToPublishers = 0
    /// Fixture video that jumped to a keyframe after a PLI/FIR.
    public var fixtureKeyframeRestarts = 0
    /// Fixture mode: RTP packets played from recordings.
    public var recordedRTPProduced = 0
    /// Fixture mode: keyframe jumps of recorded sessions after a PLI/FIR.
    public var recordedKeyframeJumps = 0
    /// Fixture mode: published mids with no recording of their codec (they stay silent).
    public var recordedTracksUnavailable = 0
    public var nacksFromSubscribers = 0
    /// Lost packets re-sent from the retransmission cache.
    public var retransmissionsFromCache = 0
    /// NACKs sent on to the publisher for packets no longer cached.
    public var nacksForwardedToPublishers = 0
    /// Sender Reports sent to subscribers (fixture ones, and forwarded publisher ones).
    public var senderReportsSent = 0
    /// Media the SFU could not send (peer not connected, protect failed).
    public var sendFailures = 0
    /// Fixture mode: video frames (distinct RTP timestamps) of recordings sent to connected
    /// subscribers, counted from the first keyframe each recording sent to one: the frames a
    /// receiver could decode if nothing were lost.
    public var recordedVideoFramesSent = 0
    /// `FakeCallsOptions.impairment`: what it did to the datagrams the SFU sent (media,
    /// retransmissions, reports, ICE/DTLS) and to those it received (NACK, PLI, ICE checks…).
    public var impairmentOutbound = NetworkImpairment.Counters()
    public var impairmentInbound = NetworkImpairment.Counters()

    /// Datagrams (both directions) the impairment dropped.
    public var datagramsDroppedByImpairment: Int { impairmentOutbound.dropped + impairmentInbound.dropped }
    public var datagramsDuplicatedByImpairment: Int { impairmentOutbound.duplicated + impairmentInbound.duplicated }
    public var datagramsDelayedByImpairment: Int { impairmentOutbound.delayed + impairmentInbound.delayed }

    public init() {}
}

/// The SFU's media state, owned by its driver thread (never touched elsewhere): one
/// `PeerConnection(.sfu)` per Calls session over the one shared socket, the routes from each
/// published track to its subscribers, the retransmission caches and the fixture players.
///
/// Per packet: one dictionary lookup by source address, one by SSRC, one by track; one copy of
/// the packet per subscriber (the header is rewritten in that copy) plus the copy
/// `PeerConnection.sendRTP` makes to protect it. Fixture packets are built with
/// `RTPPacketBuilder` (one array each). Nothing else allocates on the media path.
final class SFUMediaEngine {
    struct TrackKey: Hashable {
        var session: String
        var mid: String
    }

    final class Peer {
        let session: String
        var connection: PeerConnection
        var remote: RemoteSessionDescription
        var published: [SFUNegotiation.PublishedMid] = []
        var subscribed: [SFUNegotiation.SubscribedMid] = []
        /// Publisher SSRC → its mid and whether it is the RTX stream (from the SDP, or learned
        /// from the payload type of the first packet).
        var inbound: [UInt32: (mid: String, isRTX: Bool)] = [:]
        var subscribedBySSRC: [UInt32: SFUNegotiation.SubscribedMid] = [:]
        var reportedFlowing = false

        init(session: String, connection: PeerConnection, remote: RemoteSessionDescription) {
            self.session = session
            self.connection = connection
            self.remote = remote
        }

        func apply(_ negotiation: SFUNegotiation) {
            remote = negotiation.remote
            published = negotiation.published
            subscribed = negotiation.subscribed
            inbound = [:]
            for mid in published {
                for ssrc in mid.ssrcs { inbound[ssrc] = (mid.mid, false) }
                for rtx in mid.rtxSSRCByMediaSSRC.values { inbound[rtx] = (mid.mid, true) }
            }
            subscribedBySSRC = [:]
            for mid in subscribed { subscribedBySSRC[mid.ssrc] = mid }
        }
    }

    struct Route {
        let peer: Peer
        let mid: SFUNegotiation.SubscribedMid
    }

    /// One published track: where its packets go and the last second of them for NACKs.
    final class Track {
        var routes: [Route] = []
        var cache = RetransmissionCache()
        var lastMediaAt: ContinuousClock.Instant?
        /// The publisher's media SSRC (target of forwarded PLI/NACK).
        var mediaSSRC: UInt32?
    }

    let socket: UDPSocket
    private(set) var statistics = FakeSFUMediaStatistics()
    private var peers: [String: Peer] = [:]
    private var byUfrag: [String: Peer] = [:]
    private var byAddress: [SocketAddress: Peer] = [:]
    private var tracks: [TrackKey: Track] = [:]
    private var fixtures: [String: [FixtureMediaSource]] = [:]
    /// Fixture mode: publisher sessions played from recordings, by session.
    private var recorded: [String: RecordedPlayback] = [:]
    private var recordedScratch: [RecordedRTPPlayer.Output] = []
    private var nextSenderReport: ContinuousClock.Instant
    private let clockStart: ContinuousClock.Instant
    /// NTP time (seconds since 1900) at `clockStart`: SRs of every track share this mapping.
    private let ntpStart: Double
    private let onPublisherFlowing: @Sendable (String) -> Void
    private var fixtureScratch: [[UInt8]] = []
    /// The SFU's own SSRC as a feedback sender.
    private let feedbackSSRC: UInt32 = 0x5346_5500
    /// Record mode: every publisher's decrypted RTP/RTCP also goes to files (nil: off).
    var recorder: PublisherRecorder?
    /// `FakeCallsOptions.impairment`: every datagram in and out goes through it (nil: off).
    private var impairment: NetworkImpairmentLink?

    init(socket: UDPSocket, now: ContinuousClock.Instant, onPublisherFlowing: @escaping @Sendable (String) -> Void) {
        self.socket = socket
        self.onPublisherFlowing = onPublisherFlowing
        clockStart = now
        ntpStart = Date().timeIntervalSince1970 + 2_208_988_800
        nextSenderReport = now + .seconds(1)
        fixtureScratch.reserveCapacity(64)
    }

    // MARK: Commands

    func negotiated(_ negotiation: SFUNegotiation, now: ContinuousClock.Instant) {
        if let existing = peers[negotiation.session], existing.connection.state != .closed,
           negotiation.remote.keepsTransport(of: existing.remote) {
            existing.apply(negotiation)
        } else {
            removePeer(negotiation.session)
            guard let connection = try? PeerConnection(configuration: negotiation.configuration) else { return }
            let peer = Peer(session: negotiation.session, connection: connection, remote: negotiation.remote)
            peer.apply(negotiation)
            peers[negotiation.session] = peer
            byUfrag[negotiation.configuration.ice.localCredentials.ufrag] = peer
            connection.start(now: now)
            drain(peer, now: now)
        }
        for mid in negotiation.published where tracks[TrackKey(session: negotiation.session, mid: mid.mid)] == nil {
            tracks[TrackKey(session: negotiation.session, mid: mid.mid)] = Track()
        }
        rebuildRoutes()
        recorder?.negotiated(session: negotiation.session, published: negotiation.published)
    }

    func addFixture(session: String, sources: [FixtureMediaSource]) {
        fixtures[session] = sources
        for source in sources { tracks[TrackKey(session: session, mid: source.mid)] = Track() }
        rebuildRoutes()
    }

    func closed(_ session: String) {
        removePeer(session)
        fixtures[session] = nil
        recorded[session] = nil
        for key in tracks.keys where key.session == session { tracks[key] = nil }
        rebuildRoutes()
        recorder?.closed(session: session)
    }

    func closeAll() {
        for session in Array(peers.keys) { removePeer(session) }
        recorder?.closeAll()
    }

    private func removePeer(_ session: String) {
        guard let peer = peers.removeValue(forKey: session) else { return }
        peer.connection.close()
        while let transmit = peer.connection.pollTransmit() { send(datagram: transmit.bytes, to: transmit.destination) }
        byUfrag = byUfrag.filter { $0.value !== peer }
        byAddress = byAddress.filter { $0.value !== peer }
    }

    private func rebuildRoutes() {
        for track in tracks.values { track.routes.removeAll(keepingCapacity: true) }
        for peer in peers.values {
            for mid in peer.subscribed {
                let key = TrackKey(session: mid.publisherSession, mid: mid.publisherMid)
                let track = tracks[key] ?? Track()
                tracks[key] = track
                track.routes.append(Route(peer: peer, mid: mid))
            }
        }
        statistics.livePeerConnections = peers.count
    }

    // MARK: The loop's inputs

    /// The earliest deadline of any connection, fixture frame or Sender Report.
    func nextDeadline() -> ContinuousClock.Instant? {
        var earliest: ContinuousClock.Instant?
        func consider(_ instant: ContinuousClock.Instant?) {
            guard let instant else { return }
            earliest = earliest.map { min($0, instant) } ?? instant
        }
        for peer in peers.values { consider(peer.connection.pollTimeout()) }
        for sources in fixtures.values { for source in sources { consider(source.nextDeadline) } }
        for playback in recorded.values where !playback.paused { for player in playback.players { consider(player.nextDeadline) } }
        consider(impairment?.nextDeadline)
        if !fixtures.isEmpty || !recorded.isEmpty { consider(nextSenderReport) }
        return earliest
    }

    func handle(datagram: UnsafeRawBufferPointer, from remote: SocketAddress, now: ContinuousClock.Instant) {
        statistics.datagramsReceived += 1
        guard let decision = impairment?.decideInbound(bytes: datagram.count, now: now) else {
            return process(datagram: datagram, from: remote, now: now)
        }
        if let counters = impairment?.inbound.counters { statistics.impairmentInbound = counters }
        func deliver(at release: ContinuousClock.Instant?) {
            guard let release else { return }
            if release <= now {
                process(datagram: datagram, from: remote, now: now)
            } else {
                // The receive buffer is reused for the next datagram: a held one needs its own copy.
                impairment?.arriving.push(.init(bytes: Array(datagram), source: remote), at: release)
            }
        }
        deliver(at: decision.first)
        deliver(at: decision.second)
    }

    private func process(datagram: UnsafeRawBufferPointer, from remote: SocketAddress, now: ContinuousClock.Instant) {
        var target = byAddress[remote]
        if target == nil, let first = datagram.first, first < 2,
           let ufrag = ICEAgent.targetUfrag(ofRequest: Array(datagram)), let peer = byUfrag[ufrag] {
            // The first check from this address names the session: from now on the address does.
            byAddress[remote] = peer
            target = peer
        }
        guard let peer = target else {
            statistics.unroutedDatagrams += 1
            return
        }
        peer.connection.handle(datagram: datagram, from: remote, to: socket.localAddress, now: now)
        drain(peer, now: now)
    }

    func handleTimers(now: ContinuousClock.Instant) {
        releaseImpaired(now: now)
        for peer in peers.values {
            if let deadline = peer.connection.pollTimeout(), deadline <= now {
                peer.connection.handleTimeout(now: now)
                drain(peer, now: now)
            }
        }
        playFixtures(now: now)
        requestKeyframesForRecording(now: now)
        var connected = 0
        for peer in peers.values where peer.connection.state == .connected { connected += 1 }
        statistics.connectedPeerConnections = connected
    }

    /// "session/mid" of every published track whose media arrived in the last two seconds.
    func flowingTracks(now: ContinuousClock.Instant) -> Set<String> {
        var out = Set<String>()
        for (key, track) in tracks {
            if let last = track.lastMediaAt, now - last < .seconds(2) { out.insert("\(key.session)/\(key.mid)") }
        }
        return out
    }

    // MARK: Connections

    private func drain(_ peer: Peer, now: ContinuousClock.Instant) {
        flushTransmits(peer)
        while let event = peer.connection.pollEvent() {
            switch event {
            case .iceConnected(_, let remote):
                byAddress[remote] = peer
            case .rtp(let received):
                receivePublisherRTP(received, from: peer, now: now)
            case .rtcp(let packets):
                receiveRTCP(packets, from: peer, now: now)
            case .dtlsConnected, .connected, .disconnected:
                break
            }
            flushTransmits(peer)
        }
    }

    private func flushTransmits(_ peer: Peer) {
        while let transmit = peer.connection.pollTransmit() {
            send(datagram: transmit.bytes, to: transmit.destination)
        }
    }

    // MARK: Impairment

    /// Turns the impairment on (its burst schedule starts at `now`), changes it, or turns it off
    /// (datagrams it still held are dropped).
    func setImpairment(_ profile: NetworkImpairment.Profile?, now: ContinuousClock.Instant) {
        impairment = profile.map { NetworkImpairmentLink(profile: $0, start: now) }
    }

    /// Every datagram the SFU sends goes out here: at once, or through the impairment.
    private func send(datagram bytes: [UInt8], to destination: SocketAddress) {
        guard impairment != nil else {
            socket.send(bytes, to: destination)
            return
        }
        let now = ContinuousClock.now
        guard let decision = impairment?.decideOutbound(bytes: bytes.count, now: now) else { return }
        if let counters = impairment?.outbound.counters { statistics.impairmentOutbound = counters }
        func deliver(at release: ContinuousClock.Instant?) {
            guard let release else { return }
            if release <= now {
                socket.send(bytes, to: destination)
            } else {
                impairment?.held.push(.init(bytes: bytes, destination: destination), at: release)
            }
        }
        deliver(at: decision.first)
        deliver(at: decision.second)
    }

    /// Sends and handles what the impairment held back until now.
    private func releaseImpaired(now: ContinuousClock.Instant) {
        while let outgoing = impairment?.held.popDue(now: now) {
            socket.send(outgoing.bytes, to: outgoing.destination)
        }
        while let incoming = impairment?.arriving.popDue(now: now) {
            incoming.bytes.withUnsafeBytes { process(datagram: $0, from: incoming.source, now: now) }
        }
    }

    // MARK: Forwarding

    private func receivePublisherRTP(_ received: ReceivedRTP, from peer: Peer, now: ContinuousClock.Instant) {
        let header = received.header
        var origin = peer.inbound[header.ssrc]
        if origin == nil {
            // No a=ssrc for it (Firefox, or a new SSRC): the payload type says which mid.
            if let mid = peer.published.first(where: { $0.payloadType == header.payloadType }) {
                origin = (mid.mid, false)
            } else if let mid = peer.published.first(where: { $0.rtxPayloadType == header.payloadType }) {
                origin = (mid.mid, true)
            }
            if let origin { peer.inbound[header.ssrc] = origin }
        }
        guard let origin, let track = tracks[TrackKey(session: peer.session, mid: origin.mid)] else { return }
        statistics.publisherRTPReceived += 1
        recorder?.rtp(received, session: peer.session, mid: origin.mid, now: now)
        if recorded[peer.session] != nil { return }  // its recording plays instead
        if !peer.reportedFlowing {
            peer.reportedFlowing = true
            onPublisherFlowing(peer.session)
        }
        forward(received.bytes, sequenceNumber: header.sequenceNumber, ssrc: header.ssrc, isRTX: origin.isRTX,
                track: track, now: now)
    }

    private func forward(_ packet: [UInt8], sequenceNumber: UInt16, ssrc: UInt32, isRTX: Bool, track: Track,
                         now: ContinuousClock.Instant) {
        track.lastMediaAt = now
        if !isRTX {
            track.mediaSSRC = ssrc
            track.cache.store(packet, sequenceNumber: sequenceNumber, now: now)
        }
        for route in track.routes {
            send(packet, isRTX: isRTX, to: route)
        }
    }

    /// Sends one publisher packet to one subscriber with the subscriber's payload type and SSRC
    /// (sequence numbers and timestamps stay the publisher's, so NACKs name the same packets).
    private func send(_ packet: [UInt8], isRTX: Bool, to route: Route) {
        guard route.peer.connection.state == .connected else { return }
        let payloadType = isRTX ? route.mid.rtxPayloadType : route.mid.payloadType
        let ssrc = isRTX ? route.mid.rtxSSRC : route.mid.ssrc
        guard let payloadType, let ssrc else { return }
        var copy = packet
        RTPPacketView.rewriteHeader(of: &copy, payloadType: payloadType, ssrc: ssrc)
        do {
            try route.peer.connection.sendRTP(copy)
            statistics.rtpForwarded += 1
        } catch {
            statistics.sendFailures += 1
        }
        flushTransmits(route.peer)
    }

    private func sendRTCP(_ packets: [RTCPPacket], to peer: Peer) {
        guard peer.connection.state == .connected else { return }
        do { try peer.connection.sendRTCP(packets) } catch { statistics.sendFailures += 1 }
        flushTransmits(peer)
    }

    // MARK: Feedback

    private func receiveRTCP(_ packets: [RTCPPacket], from peer: Peer, now: ContinuousClock.Instant) {
        if !peer.published.isEmpty { recorder?.rtcp(packets, session: peer.session, now: now) }
        for packet in packets {
            switch packet {
            case .pictureLossIndication(let pli):
                keyframeRequested(subscriberSSRC: pli.mediaSSRC, by: peer)
            case .fullIntraRequest(let fir):
                for entry in fir.entries { keyframeRequested(subscriberSSRC: entry.ssrc, by: peer) }
            case .genericNACK(let nack):
                nackReceived(nack, from: peer, now: now)
            case .senderReport(let report):
                forwardSenderReport(report, from: peer)
            default:
                break
            }
        }
    }

    private func subscribedTrack(ssrc: UInt32, of peer: Peer) -> (SFUNegotiation.SubscribedMid, Track)? {
        guard let mid = peer.subscribedBySSRC[ssrc],
              let track = tracks[TrackKey(session: mid.publisherSession, mid: mid.publisherMid)] else { return nil }
        return (mid, track)
    }

    private func keyframeRequested(subscriberSSRC: UInt32, by peer: Peer) {
        guard let (mid, track) = subscribedTrack(ssrc: subscriberSSRC, of: peer) else { return }
        statistics.keyframeRequestsFromSubscribers += 1
        if recordedKeyframeRequested(session: mid.publisherSession, mid: mid.publisherMid) {
            return
        } else if var sources = fixtures[mid.publisherSession] {
            for index in sources.indices where sources[index].mid == mid.publisherMid {
                let before = sources[index].keyframeRestarts
                sources[index].restartFromKeyframe()
                if sources[index].keyframeRestarts > before { statistics.fixtureKeyframeRestarts += 1 }
            }
            fixtures[mid.publisherSession] = sources
        } else if let publisher = peers[mid.publisherSession], let mediaSSRC = track.mediaSSRC {
            sendRTCP([.pictureLossIndication(RTCPPictureLossIndication(senderSSRC: feedbackSSRC, mediaSSRC: mediaSSRC))],
                     to: publisher)
            statistics.keyframeRequestsToPublishers += 1
        }
    }

    private func nackReceived(_ nack: RTCPGenericNACK, from peer: Peer, now: ContinuousClock.Instant) {
        guard let (mid, track) = subscribedTrack(ssrc: nack.mediaSSRC, of: peer) else { return }
        statistics.nacksFromSubscribers += 1
        var missing: [UInt16] = []
        let route = Route(peer: peer, mid: mid)
        for sequenceNumber in nack.lostSequenceNumbers {
            if let packet = track.cache.packet(sequenceNumber: sequenceNumber, now: now) {
                send(packet, isRTX: false, to: route)
                statistics.retransmissionsFromCache += 1
            } else {
                missing.append(sequenceNumber)
            }
        }
        if !missing.isEmpty, let publisher = peers[mid.publisherSession], let mediaSSRC = track.mediaSSRC {
            sendRTCP([.genericNACK(RTCPGenericNACK(senderSSRC: feedbackSSRC, mediaSSRC: mediaSSRC, lost: missing))],
                     to: publisher)
            statistics.nacksForwardedToPublishers += 1
        }
    }

    /// A browser publisher's SR, passed on to each subscriber of that stream under its SSRC.
    private func forwardSenderReport(_ report: RTCPSenderReport, from peer: Peer) {
        guard let origin = peer.inbound[report.ssrc], !origin.isRTX,
              let track = tracks[TrackKey(session: peer.session, mid: origin.mid)] else { return }
        for route in track.routes {
            var copy = report
            copy.ssrc = route.mid.ssrc
            copy.reports = []
            sendRTCP([.senderReport(copy)], to: route.peer)
            statistics.senderReportsSent += 1
        }
    }

    /// Record mode: a PLI to every publisher's video now and then, so a recording holds
    /// keyframes to start playback from (browsers send them rarely on their own).
    private func requestKeyframesForRecording(now: ContinuousClock.Instant) {
        guard let recorder, recorder.keyframeRequestDue(now: now) else { return }
        for peer in peers.values {
            for mid in peer.published {
                let codec = peer.remote.media.first { $0.mid == mid.mid }?.codecs.codecs.first?.name.lowercased()
                guard codec != "opus", let ssrc = tracks[TrackKey(session: peer.session, mid: mid.mid)]?.mediaSSRC else { continue }
                sendRTCP([.pictureLossIndication(RTCPPictureLossIndication(senderSSRC: feedbackSSRC, mediaSSRC: ssrc))], to: peer)
                statistics.keyframeRequestsToPublishers += 1
            }
        }
    }

    // MARK: Fixtures

    private func playFixtures(now: ContinuousClock.Instant) {
        playRecordings(now: now)
        if !recorded.isEmpty && fixtures.isEmpty && now >= nextSenderReport {
            nextSenderReport = now + .seconds(1)
            sendFixtureSenderReports(now: now)
        }
        guard !fixtures.isEmpty else { return }
        for session in Array(fixtures.keys) {
            guard var sources = fixtures[session] else { continue }
            for index in sources.indices {
                sources[index].packets(dueBy: now, into: &fixtureScratch)
                guard !fixtureScratch.isEmpty else { continue }
                let track = tracks[TrackKey(session: session, mid: sources[index].mid)]
                for packet in fixtureScratch {
                    statistics.fixtureRTPProduced += 1
                    guard let track, packet.count >= RTPPacketView.fixedHeaderLength else { continue }
                    let sequenceNumber = UInt16(packet[2]) << 8 | UInt16(packet[3])
                    forward(packet, sequenceNumber: sequenceNumber, ssrc: sources[index].ssrc, isRTX: false,
                            track: track, now: now)
                }
                fixtureScratch.removeAll(keepingCapacity: true)
            }
            fixtures[session] = sources
        }
        if now >= nextSenderReport {
            nextSenderReport = now + .seconds(1)
            sendFixtureSenderReports(now: now)
        }
    }

    /// One SR per fixture track per subscriber; every track maps `now` to the same NTP time, so
    /// a receiver can line audio and video up.
    private func sendFixtureSenderReports(now: ContinuousClock.Instant) {
        let (seconds, attoseconds) = (now - clockStart).components
        let ntpSeconds = ntpStart + Double(seconds) + Double(attoseconds) * 1e-18
        let whole = floor(ntpSeconds)
        let ntp = UInt64(whole) << 32 | UInt64((ntpSeconds - whole) * 4_294_967_296.0)
        sendRecordedSenderReports(ntp: ntp, now: now)
        for (session, sources) in fixtures {
            for source in sources {
                guard let track = tracks[TrackKey(session: session, mid: source.mid)] else { continue }
                for route in track.routes {
                    let report = RTCPSenderReport(ssrc: route.mid.ssrc, ntpTimestamp: ntp,
                                                  rtpTimestamp: source.rtpTimestamp(at: now),
                                                  packetCount: source.packetCount, octetCount: source.octetCount)
                    sendRTCP([.senderReport(report)], to: route.peer)
                    statistics.senderReportsSent += 1
                }
            }
        }
    }
}

// MARK: Fixture mode: publishers played from recordings

extension SFUMediaEngine {
    /// One publisher session played from recordings: its players (one for the aligned tracks,
    /// or one per track when they could not be aligned) and, per player track, the published mid.
    struct RecordedPlayback {
        var players: [RecordedRTPPlayer]
        var mids: [[String]]
        /// Per player: the codec of each track when it is video (for counting frames sent).
        var videoCodecs: [[RecordedTrack.Codec?]]
        /// Per player: the RTP timestamp of the last video frame sent, and whether a keyframe
        /// went to a connected subscriber yet (frames count from there).
        var lastVideoTimestamp: [UInt32?]
        var keyframeSent: [Bool]
        /// `pauseRecordedPlayback()`: nothing more is sent.
        var paused = false

        init(players: [RecordedRTPPlayer], codecs: [String: RecordedTrack.Codec]) {
            self.players = players
            mids = players.map(\.mids)
            videoCodecs = mids.map { $0.map { mid in codecs[mid].flatMap { $0.kind == "video" ? $0 : nil } } }
            lastVideoTimestamp = Array(repeating: nil, count: players.count)
            keyframeSent = Array(repeating: false, count: players.count)
        }

        /// Counts a video packet sent to a connected subscriber; true when it begins a new frame
        /// that counts (at or after the first keyframe).
        mutating func countsNewFrame(player index: Int, codec: RecordedTrack.Codec, packet: [UInt8]) -> Bool {
            guard packet.count > RTPPacketView.fixedHeaderLength else { return false }
            let timestamp = UInt32(packet[4]) << 24 | UInt32(packet[5]) << 16 | UInt32(packet[6]) << 8 | UInt32(packet[7])
            guard lastVideoTimestamp[index] != timestamp else { return false }
            lastVideoTimestamp[index] = timestamp
            if !keyframeSent[index] {
                // The player writes a fixed 12-byte header (no CSRC, no extension).
                let payload = Array(packet[RTPPacketView.fixedHeaderLength...])
                var types = Set<UInt8>()
                if codec == .h264 { RecordedTrack.h264NALTypes(payload, into: &types) }
                let isKeyframe = codec == .vp8 ? RecordedTrack.isVP8Keyframe(payload) : !types.isDisjoint(with: [5, 7])
                guard isKeyframe else { return false }
                keyframeSent[index] = true
            }
            return true
        }
    }

    /// Stops every recording from sending more (the sessions and their connections stay): a
    /// test lets what is in flight arrive before it compares frames sent with frames relayed.
    func pauseRecordedPlayback() {
        for session in Array(recorded.keys) { recorded[session]?.paused = true }
    }

    /// A publisher negotiated in fixture mode: play, for each published mid, the recording of the
    /// codec its answer agreed on, with the publisher's payload types; the session counts as
    /// flowing at once. A renegotiation of a session already playing changes nothing.
    func playRecorded(_ negotiation: SFUNegotiation, catalog: FixtureCatalog, now: ContinuousClock.Instant) {
        let session = negotiation.session
        guard recorded[session] == nil, peers[session] != nil || tracks.keys.contains(where: { $0.session == session }) else { return }
        var videoCodec: RecordedTrack.Codec?
        var chosen: [(mid: SFUNegotiation.PublishedMid, codec: RecordedTrack.Codec)] = []
        for published in negotiation.published {
            guard let name = negotiation.remote.media(mid: published.mid)?.codecs.codecs.first?.name,
                  let codec = RecordedTrack.Codec(sdpName: name) else {
                statistics.recordedTracksUnavailable += 1
                continue
            }
            if codec.kind == "video", videoCodec == nil { videoCodec = codec }
            chosen.append((published, codec))
        }
        let recording = catalog.recording(videoCodec: videoCodec)
        var setups: [RecordedRTPPlayer.TrackSetup] = []
        var usedVideo = false, usedAudio = false
        for (published, codec) in chosen {
            var track: RecordedTrack?
            if codec.kind == "video" {
                if !usedVideo, let video = recording?.video, video.codec == codec { track = video }
                usedVideo = usedVideo || track != nil
            } else {
                if !usedAudio { track = recording?.audio ?? catalog.recording(videoCodec: nil)?.audio }
                usedAudio = usedAudio || track != nil
            }
            guard let track else {
                statistics.recordedTracksUnavailable += 1
                continue
            }
            setups.append(.init(mid: published.mid, track: track, payloadType: published.payloadType,
                                ssrc: UInt32.random(in: 1...UInt32.max)))
        }
        var random = SystemRandomNumberGenerator()
        var players: [RecordedRTPPlayer] = []
        if setups.isEmpty {
            return
        } else if let player = try? RecordedRTPPlayer(tracks: setups, start: now, using: &random) {
            players = [player]
        } else {
            // Tracks that cannot be lined up still play, each on its own.
            players = setups.compactMap { try? RecordedRTPPlayer(tracks: [$0], start: now, using: &random) }
        }
        guard !players.isEmpty else { return }
        recorded[session] = RecordedPlayback(players: players,
                                             codecs: Dictionary(setups.map { ($0.mid, $0.track.codec) }, uniquingKeysWith: { a, _ in a }))
        for mids in players.map(\.mids) {
            for mid in mids where tracks[TrackKey(session: session, mid: mid)] == nil {
                tracks[TrackKey(session: session, mid: mid)] = Track()
            }
        }
        rebuildRoutes()
        if let peer = peers[session] { peer.reportedFlowing = true }
        onPublisherFlowing(session)
    }

    func playRecordings(now: ContinuousClock.Instant) {
        guard !recorded.isEmpty else { return }
        for session in Array(recorded.keys) {
            guard var playback = recorded[session], !playback.paused else { continue }
            for index in playback.players.indices {
                playback.players[index].packets(dueBy: now, into: &recordedScratch)
                for output in recordedScratch {
                    statistics.recordedRTPProduced += 1
                    let mid = playback.mids[index][output.track]
                    guard let track = tracks[TrackKey(session: session, mid: mid)] else { continue }
                    if let codec = playback.videoCodecs[index][output.track],
                       track.routes.contains(where: { $0.peer.connection.state == .connected }),
                       playback.countsNewFrame(player: index, codec: codec, packet: output.packet) {
                        statistics.recordedVideoFramesSent += 1
                    }
                    let sequenceNumber = UInt16(output.packet[2]) << 8 | UInt16(output.packet[3])
                    forward(output.packet, sequenceNumber: sequenceNumber, ssrc: playback.players[index].ssrcs[output.track],
                            isRTX: false, track: track, now: now)
                }
                recordedScratch.removeAll(keepingCapacity: true)
            }
            recorded[session] = playback
        }
    }

    /// True when the session plays recordings (the request was handled: a keyframe jump, or
    /// nothing when the next frame is a keyframe already).
    func recordedKeyframeRequested(session: String, mid: String) -> Bool {
        guard var playback = recorded[session] else { return false }
        for index in playback.players.indices {
            if let track = playback.mids[index].firstIndex(of: mid), playback.players[index].requestKeyframe(track: track) {
                statistics.recordedKeyframeJumps += 1
            }
        }
        recorded[session] = playback
        return true
    }

    /// One SR per recorded track per subscriber, on the same NTP mapping as the other fixtures.
    func sendRecordedSenderReports(ntp: UInt64, now: ContinuousClock.Instant) {
        for (session, playback) in recorded {
            for (index, player) in playback.players.enumerated() {
                for (position, mid) in playback.mids[index].enumerated() {
                    guard let track = tracks[TrackKey(session: session, mid: mid)], !track.routes.isEmpty else { continue }
                    let state = player.senderReport(track: position, at: now)
                    for route in track.routes {
                        let report = RTCPSenderReport(ssrc: route.mid.ssrc, ntpTimestamp: ntp, rtpTimestamp: state.rtpTimestamp,
                                                      packetCount: state.packetCount, octetCount: state.octetCount)
                        sendRTCP([.senderReport(report)], to: route.peer)
                        statistics.senderReportsSent += 1
                    }
                }
            }
        }
    }
}

/// The last second (at most 1024 packets) of one track, by sequence number, for NACKs.
/// Stores the received arrays themselves (no copy).
struct RetransmissionCache {
    private struct Entry {
        var sequenceNumber: UInt16
        var storedAt: ContinuousClock.Instant
        var packet: [UInt8]
    }

    static let capacity = 1024
    static let maximumAge: Duration = .seconds(1)
    private var entries: [Entry?] = Array(repeating: nil, count: capacity)

    mutating func store(_ packet: [UInt8], sequenceNumber: UInt16, now: ContinuousClock.Instant) {
        entries[Int(sequenceNumber) % Self.capacity] = Entry(sequenceNumber: sequenceNumber, storedAt: now, packet: packet)
    }

    func packet(sequenceNumber: UInt16, now: ContinuousClock.Instant) -> [UInt8]? {
        guard let entry = entries[Int(sequenceNumber) % Self.capacity], entry.sequenceNumber == sequenceNumber,
              now - entry.storedAt <= Self.maximumAge else { return nil }
        return entry.packet
    }
}

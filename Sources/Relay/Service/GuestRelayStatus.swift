import Foundation

/// What `GET /api/calls/sessions` says about one guest: where its relay is, and the figures an
/// operator reads when the picture is not right. Keys are stable (sorted in the JSON); a figure
/// that is not known (yet) is left out rather than guessed.
///
/// ```
/// guestId, sessionId (publisher), subscriberSessionId, tracks
/// since               when the guest published (ISO 8601)
/// state               publishing | subscribing | connecting | relaying | reconnecting | closing | closed
/// stateSince          when it entered that state (ISO 8601); secondsInState
/// reconnects          SFU legs opened after the first
/// lastError           the last problem, in words, with what to check (cleared once relaying again)
/// media               the SFU leg: connection (connecting|securing|connected|closed), rtpReceived,
///                     rtcpReceived, rtcpSent, srtpAuthFailures, bitrateKbps (measured),
///                     packetsLost, lossPercent, nacksSent, plisSent, jitterBufferDelayMs,
///                     secondsSinceLastPacket
/// video               codecIn (h264|vp8), codecOut, width, height, fps (measured), framesOut
/// audio               codecIn (opus), codecOut (aac)
/// rtmp                url, state (connecting|publishing|reconnecting), publishes, reconnects,
///                     videoFramesSent, audioFramesSent, queuedBytes, lastError
/// ```
public struct GuestRelayStatus: Codable, Sendable, Equatable {
    public struct RTMP: Codable, Sendable, Equatable {
        public var url: String
        public var state: String?
        public var publishes: Int
        public var reconnects: Int?
        public var videoFramesSent: Int
        public var audioFramesSent: Int
        public var queuedBytes: Int
        public var lastError: String?
        /// When relayd wrote its first RTMP video frame (ISO 8601, ms): setup ends there.
        public var firstVideoFrameAt: String?
    }

    public struct Media: Codable, Sendable, Equatable {
        public var connection: String
        public var rtpReceived: Int
        public var rtcpReceived: Int
        public var rtcpSent: Int
        public var srtpAuthFailures: Int
        public var bitrateKbps: Int?
        public var packetsLost: Int?
        public var lossPercent: Double?
        public var nacksSent: Int?
        public var plisSent: Int?
        /// How long the video jitter buffer currently holds packets.
        public var jitterBufferDelayMs: Double?
        public var secondsSinceLastPacket: Double?
    }

    public struct Video: Codable, Sendable, Equatable {
        public var codecIn: String?
        public var codecOut: String?
        public var width: Int?
        public var height: Int?
        public var fps: Double?
        public var framesOut: Int?
    }

    public struct Audio: Codable, Sendable, Equatable {
        public var codecIn: String?
        public var codecOut: String?
        /// RMS level of the audio sent out, dBFS (−100: silence), over the last 100 ms.
        public var levelDb: Double?
    }

    public var guestId: String
    public var sessionId: String
    public var subscriberSessionId: String?
    public var tracks: [String]
    public var since: String
    public var state: String
    public var stateSince: String?
    public var secondsInState: Double?
    public var reconnects: Int?
    public var lastError: String?
    public var media: Media?
    public var video: Video?
    public var audio: Audio?
    public var rtmp: RTMP?

    /// A guest whose publish is answered but whose relay has not started (or was not asked for).
    static func publishing(_ guest: PublishedGuest) -> GuestRelayStatus {
        GuestRelayStatus(guestId: guest.guestId, sessionId: guest.sessionId, subscriberSessionId: nil,
                         tracks: guest.trackNames, since: ISO8601DateFormatter().string(from: guest.since),
                         state: GuestRelayLifecycle.State.publishing.rawValue)
    }
}

extension GuestRelay {
    func status() -> GuestRelayStatus {
        let now = ContinuousClock.now
        lock.lock()
        let lifecycle = self.lifecycle, subscriber = subscriberSession, codecs = self.codecs
        let driver = self.driver, publisher = self.publisher, meter = self.meter
        let publishes = self.publishes, rtmpState = self.rtmpState, rtmpError = self.rtmpError
        let rtmpReconnects = self.rtmpReconnects
        lock.unlock()
        let formatter = ISO8601DateFormatter()
        let inState = now - lifecycle.since
        let measured = meter?.snapshot
        var lastPacket: Duration?
        if let last = meter?.lastMedia { lastPacket = now - last }
        // Figures of a window that ended long ago would describe media that no longer flows.
        let stale = lastPacket.map { $0 > Duration.seconds(5) } ?? true
        let peer = driver.map { driver -> GuestRelayStatus.Media in
            let stats = driver.statistics
            return GuestRelayStatus.Media(
                connection: driver.state.rawValue, rtpReceived: stats.rtpReceived, rtcpReceived: stats.rtcpReceived,
                rtcpSent: stats.rtcpSent, srtpAuthFailures: stats.srtpAuthFailures,
                bitrateKbps: measured.map { stale ? 0 : $0.bitrateKbps ?? 0 },
                packetsLost: measured?.packetsLost, lossPercent: measured?.lossPercent,
                nacksSent: measured?.nacksSent, plisSent: measured?.plisSent, jitterBufferDelayMs: measured?.jitterBufferDelayMs,
                secondsSinceLastPacket: lastPacket.map(Self.seconds))
        }
        var video: GuestRelayStatus.Video?
        if codecs.videoIn != nil {
            video = GuestRelayStatus.Video(codecIn: codecs.videoIn, codecOut: codecs.videoOut, width: measured?.width,
                                           height: measured?.height,
                                           fps: measured?.framesPerSecond.map { stale ? 0 : $0 },
                                           framesOut: measured?.videoFramesOut)
        }
        let audio = codecs.audioIn.map {
            GuestRelayStatus.Audio(codecIn: $0, codecOut: codecs.audioOut, levelDb: stale ? nil : measured?.audioLevelDBFS)
        }
        let rtmp = publisher.map { publisher -> GuestRelayStatus.RTMP in
            let counters = publisher.counters
            return GuestRelayStatus.RTMP(url: dependencies.rtmpURL, state: rtmpState, publishes: publishes,
                                         reconnects: rtmpReconnects, videoFramesSent: counters.videoFramesSent,
                                         audioFramesSent: counters.audioFramesSent, queuedBytes: publisher.queuedBytes,
                                         lastError: rtmpError,
                                         firstVideoFrameAt: counters.firstVideoFrameAt.map {
                                            let formatter = ISO8601DateFormatter()
                                            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
                                            return formatter.string(from: $0)
                                         })
        }
        return GuestRelayStatus(
            guestId: guest.guestId, sessionId: guest.sessionId, subscriberSessionId: subscriber, tracks: guest.trackNames,
            since: formatter.string(from: guest.since), state: lifecycle.state.rawValue,
            stateSince: formatter.string(from: Date().addingTimeInterval(-Self.seconds(inState))),
            secondsInState: (Self.seconds(inState) * 10).rounded() / 10, reconnects: lifecycle.reconnects,
            lastError: lifecycle.lastError ?? rtmpError, media: peer, video: video, audio: audio, rtmp: rtmp)
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}


import Foundation

/// What `GET /api/calls/sessions` says about one guest: where its relay is, and the counters
/// an operator reads when the picture is not right.
public struct GuestRelayStatus: Codable, Sendable, Equatable {
    public struct RTMP: Codable, Sendable, Equatable {
        public var url: String
        public var publishes: Int
        public var videoFramesSent: Int
        public var audioFramesSent: Int
        public var queuedBytes: Int
        /// When relayd wrote its first RTMP video frame (ISO 8601, ms): setup ends there.
        public var firstVideoFrameAt: String?
    }

    public struct Media: Codable, Sendable, Equatable {
        public var connection: String
        public var rtpReceived: Int
        public var rtcpReceived: Int
        public var rtcpSent: Int
        public var srtpAuthFailures: Int
    }

    public var guestId: String
    public var sessionId: String
    public var subscriberSessionId: String?
    public var tracks: [String]
    public var since: String
    public var state: String
    public var lastError: String?
    public var media: Media?
    public var rtmp: RTMP?
}

extension GuestRelay {
    func status() -> GuestRelayStatus {
        lock.lock()
        let phase = self.phase, subscriber = subscriberSession, error = lastError
        let driver = self.driver, publisher = self.publisher, publishes = self.publishes
        lock.unlock()
        let peer = driver.map { driver -> GuestRelayStatus.Media in
            let stats = driver.statistics
            return GuestRelayStatus.Media(connection: driver.state.rawValue, rtpReceived: stats.rtpReceived,
                                          rtcpReceived: stats.rtcpReceived, rtcpSent: stats.rtcpSent,
                                          srtpAuthFailures: stats.srtpAuthFailures)
        }
        let rtmp = publisher.map { publisher -> GuestRelayStatus.RTMP in
            let counters = publisher.counters
            return GuestRelayStatus.RTMP(url: dependencies.rtmpURL, publishes: publishes, videoFramesSent: counters.videoFramesSent,
                                         audioFramesSent: counters.audioFramesSent, queuedBytes: publisher.queuedBytes,
                                         firstVideoFrameAt: counters.firstVideoFrameAt.map {
                                            let formatter = ISO8601DateFormatter()
                                            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
                                            return formatter.string(from: $0)
                                         })
        }
        return GuestRelayStatus(guestId: guest.guestId, sessionId: guest.sessionId, subscriberSessionId: subscriber,
                                tracks: guest.trackNames, since: ISO8601DateFormatter().string(from: guest.since),
                                state: phase.rawValue, lastError: error, media: peer, rtmp: rtmp)
    }
}


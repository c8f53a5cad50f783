/// What an operator reads about a guest's incoming media (the status page): per track, the
/// RFC 3550 reception figures and the jitter buffer's delay; for the session, the repair
/// requests sent. A snapshot, refreshed with every receiver report (about once a second).
public struct MediaReceiveFigures: Sendable, Equatable, Codable {
    public struct Track: Sendable, Equatable, Codable {
        public var ssrc: UInt32
        /// Packets counted as received, repaired ones included.
        public var packetsReceived: Int64
        /// Expected minus received since the source started (cumulative lost of RFC 3550).
        public var packetsLost: Int64
        /// Loss over the last report interval (~1 s), in percent.
        public var lossPercent: Double
        /// Interarrival jitter, in milliseconds.
        public var jitterMilliseconds: Double
        /// How long packets waited in the jitter buffer lately (a moving average), in milliseconds.
        public var jitterBufferDelayMilliseconds: Double
        /// Packets dropped before the jitter buffer (sequence jumps too large to be loss).
        public var packetsDropped: Int

        public init(ssrc: UInt32, packetsReceived: Int64 = 0, packetsLost: Int64 = 0, lossPercent: Double = 0,
                    jitterMilliseconds: Double = 0, jitterBufferDelayMilliseconds: Double = 0, packetsDropped: Int = 0) {
            self.ssrc = ssrc
            self.packetsReceived = packetsReceived
            self.packetsLost = packetsLost
            self.lossPercent = lossPercent
            self.jitterMilliseconds = jitterMilliseconds
            self.jitterBufferDelayMilliseconds = jitterBufferDelayMilliseconds
            self.packetsDropped = packetsDropped
        }
    }

    public var video: Track?
    public var audio: Track?
    /// RTP packets handed to the session (every payload type).
    public var packets = 0
    /// Sequence numbers asked for again (generic NACK entries).
    public var nacksSent = 0
    public var plisSent = 0
    /// Sender Reports received from the guest's media sources.
    public var senderReports = 0

    public init() {}

    /// Lost packets over both tracks.
    public var packetsLost: Int64 { (video?.packetsLost ?? 0) + (audio?.packetsLost ?? 0) }
}

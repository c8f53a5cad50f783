/// What a depacketizer counts, the same for every video codec.
public struct DepacketizerStats: Sendable, Equatable {
    public var framesEmitted = 0
    public var keyframesEmitted = 0
    /// Pictures with a hole (sequence gap, lost fragment start/end, malformed packet).
    public var framesDroppedCorrupt = 0
    /// Pictures over the size cap.
    public var framesDroppedOversized = 0
    /// Intact pictures dropped because they depend on one that was lost.
    public var framesDroppedAwaitingKeyframe = 0
    public var malformedPackets = 0

    public init() {}
}

/// Decides whether an assembled picture may leave: after any damage, nothing goes out until a
/// keyframe the decoder can start from, so no undecodable frame ever reaches the output. It
/// raises `keyframeNeeded` whenever the stream needs one (the receiver turns that into a PLI).
struct DecodabilityGate: Sendable {
    private(set) var keyframeNeeded = true
    private var awaitingKeyframe = true

    enum Verdict { case emit, drop }

    mutating func judge(corrupt: Bool, oversized: Bool, isKeyframe: Bool, canStartDecoding: Bool,
                        stats: inout DepacketizerStats) -> Verdict {
        if oversized {
            stats.framesDroppedOversized += 1
            return damaged()
        }
        if corrupt {
            stats.framesDroppedCorrupt += 1
            return damaged()
        }
        if awaitingKeyframe {
            guard isKeyframe, canStartDecoding else {
                stats.framesDroppedAwaitingKeyframe += 1
                keyframeNeeded = true
                return .drop
            }
            awaitingKeyframe = false
        }
        stats.framesEmitted += 1
        if isKeyframe { stats.keyframesEmitted += 1 }
        return .emit
    }

    mutating func takeKeyframeRequest() -> Bool {
        defer { keyframeNeeded = false }
        return keyframeNeeded
    }

    private mutating func damaged() -> Verdict {
        awaitingKeyframe = true
        keyframeNeeded = true
        return .drop
    }
}

/// The default H.264 path: no decode. Tracks the parameter sets of incoming access units and
/// says when a new AVC sequence header must go out, with the size and profile for metadata.
/// Units before the first SPS/PPS are held back (a reader cannot decode them). Pure value
/// logic; the units themselves pass through untouched (exact output).
public struct H264Passthrough: Sendable {
    /// What to send for one access unit.
    public struct Output: Sendable {
        /// Non-nil when a (new) sequence header must be sent before `unit`.
        public var sequenceHeader: AVCDecoderConfiguration?
        /// Parsed from the SPS in force: width/height/profile for onMetaData.
        public var stream: H264StreamInfo
        public var unit: H264AccessUnit
    }

    public private(set) var configuration: AVCDecoderConfiguration?
    public private(set) var stream: H264StreamInfo?
    /// Units dropped because no usable SPS/PPS had been seen yet, or their SPS did not parse.
    public private(set) var unitsWithoutParameterSets = 0
    /// Sequence headers produced (1 + parameter set changes).
    public private(set) var sequenceHeaders = 0

    /// Inter frames dropped while waiting for the keyframe after a new sequence header.
    public private(set) var unitsBeforeKeyframe = 0

    private var pendingHeader = false

    public init() {}

    /// Passes one unit; nil when it cannot be sent yet (no parameter sets so far, or waiting
    /// for the keyframe that starts a new configuration).
    public mutating func push(_ unit: H264AccessUnit) -> Output? {
        var header: AVCDecoderConfiguration?
        if let sps = unit.sps, let pps = unit.pps,
            configuration?.sequenceParameterSets != [sps] || configuration?.pictureParameterSets != [pps]
        {
            guard let record = try? AVCDecoderConfiguration(sps: sps, pps: pps), let parsed = try? H264SPS(nal: sps) else {
                unitsWithoutParameterSets += 1
                return nil
            }
            configuration = record
            stream = H264StreamInfo(sps: parsed)
            sequenceHeaders += 1
            header = record
            pendingHeader = true
        }
        guard configuration != nil, let stream else {
            unitsWithoutParameterSets += 1
            return nil
        }
        if pendingHeader {
            // A reader switching to new parameter sets must start at a keyframe.
            guard unit.isKeyframe else {
                unitsBeforeKeyframe += 1
                return nil
            }
            pendingHeader = false
            header = configuration
        }
        var out = unit
        out.parameterSetsChanged = header != nil
        return Output(sequenceHeader: header, stream: stream, unit: out)
    }
}

/// What onMetaData and the status page say about an H.264 stream.
public struct H264StreamInfo: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var profileIdc: UInt8
    public var levelIdc: UInt8
    /// "42c01f"-style profile-level-id.
    public var profileLevelId: String

    public init(sps: H264SPS) {
        width = sps.width
        height = sps.height
        profileIdc = sps.profileIdc
        levelIdc = sps.levelIdc
        profileLevelId = sps.profileLevelId
    }
}

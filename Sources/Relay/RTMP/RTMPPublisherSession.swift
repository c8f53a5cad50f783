/// The client side of an RTMP publish, as a value: bytes in, bytes and events out. No sockets,
/// clocks or threads — `RTMPPublisher` drives it over TCP, tests drive it against
/// `RTMPServerSession` in memory.
///
/// Sequence: C0+C1 → S0+S1+S2 → C2, Set Chunk Size, `connect` → `_result` →
/// `releaseStream` + `FCPublish` (not awaited) + `createStream` → `_result` → `publish` →
/// `onStatus NetStream.Publish.Start`. Then `@setDataFrame onMetaData`, the AVC and AAC
/// sequence headers, media. `close()` sends `FCUnpublish` + `deleteStream`.
public struct RTMPPublisherSession: Sendable {
    public struct Configuration: Sendable {
        public var flashVersion = "FMLE/3.0 (compatible; relayd)"
        public var chunkSize = 4096
        /// onMetaData. Width/height left nil are filled in from the SPS.
        public var metadata = FLVMetadata()
        /// AudioSpecificConfig for the AAC sequence header; nil publishes video only.
        /// An ADTS frame passed to `sendAudio` replaces it with the config its header describes.
        public var audioConfig: [UInt8]? = AAC.lc48kStereoConfig
        public var readerLimits = RTMPChunkReader.Limits()
        public init() {}
    }

    public enum Event: Sendable, Equatable {
        /// `connect` succeeded.
        case connected
        /// `NetStream.Publish.Start`: media may flow.
        case publishing
        /// The server refused connect, createStream or publish (BadName etc.).
        case rejected(RTMPError)
        /// The connection is finished: nil after `close()`, else what went wrong.
        case closed(RTMPError?)
    }

    public enum Action: Sendable, Equatable {
        case send([UInt8])
        case event(Event)
    }

    public enum State: Sendable, Equatable {
        case idle, handshaking, connecting, creatingStream, publishRequested, publishing, closed
    }

    public struct Counters: Sendable, Equatable {
        public var videoFramesSent = 0
        public var audioFramesSent = 0
        /// Media offered before `publishing`, or before the first keyframe with SPS/PPS.
        public var videoFramesDropped = 0
        public var audioFramesDropped = 0
        public var sequenceHeadersSent = 0
        public var bytesSent = 0
    }

    public let url: RTMPURL
    public private(set) var configuration: Configuration
    public private(set) var state: State = .idle
    public private(set) var streamID: UInt32 = 0
    public private(set) var counters = Counters()
    public private(set) var timestamps = RTMPTimestampMapper()

    private var handshake = RTMPHandshake.Client()
    private var layer: RTMPMessageLayer
    private var c1: [UInt8]
    private var nextTransactionID: Double = 1
    private var connectTransaction: Double = 0
    private var createStreamTransaction: Double = 0
    private var sps: [ArraySlice<UInt8>] = []
    private var pps: [ArraySlice<UInt8>] = []
    private var sentVideoConfig: [UInt8]?
    private var headersSent = false
    private var sentFirstKeyframe = false

    public init(url: RTMPURL, configuration: Configuration = Configuration()) {
        var rng = SystemRandomNumberGenerator()
        self.init(url: url, configuration: configuration, random: &rng)
    }

    /// Deterministic C1 for tests.
    public init(url: RTMPURL, configuration: Configuration = Configuration(), random: inout some RandomNumberGenerator) {
        self.url = url
        self.configuration = configuration
        self.layer = RTMPMessageLayer(limits: configuration.readerLimits)
        self.c1 = RTMPHandshake.randomPacket(time: 0, random: &random)
    }

    /// C0 + C1: the first bytes to write after the TCP connection is up.
    public mutating func start() -> [UInt8] {
        guard state == .idle else { return [] }
        state = .handshaking
        return handshake.start(c1: c1)
    }

    public mutating func receive<C: Collection>(_ bytes: C) -> [Action] where C.Element == UInt8 {
        var out: [UInt8] = []
        var events: [Event] = []
        do {
            try receive(bytes, out: &out, events: &events)
        } catch {
            state = .closed
            let refused = error.kind == .connectRejected || error.kind == .publishRejected
            events.append(refused ? .rejected(error) : .closed(error))
        }
        counters.bytesSent += out.count
        return (out.isEmpty ? [] : [.send(out)]) + events.map { .event($0) }
    }

    private mutating func receive<C: Collection>(_ bytes: C, out: inout [UInt8], events: inout [Event]) throws(RTMPError) where C.Element == UInt8 {
        switch state {
        case .idle, .closed:
            return
        case .handshaking:
            guard let (c2, leftover) = try handshake.receive(bytes) else { return }
            out.append(contentsOf: c2)
            layer.sendChunkSize(configuration.chunkSize, into: &out)
            connectTransaction = takeTransaction()
            let connect = RTMPCommand(name: "connect", transactionID: connectTransaction, arguments: [.object([
                ("app", .string(url.app)),
                ("type", .string("nonprivate")),
                ("flashVer", .string(configuration.flashVersion)),
                ("tcUrl", .string(url.tcUrl)),
            ])])
            layer.send(connect.message(), into: &out)
            state = .connecting
            if !leftover.isEmpty { try handle(try layer.receive(leftover, replies: &out), out: &out, events: &events) }
        default:
            try handle(try layer.receive(bytes, replies: &out), out: &out, events: &events)
        }
    }

    private mutating func takeTransaction() -> Double {
        defer { nextTransactionID += 1 }
        return nextTransactionID
    }

    private mutating func handle(_ messages: [RTMPMessage], out: inout [UInt8], events: inout [Event]) throws(RTMPError) {
        for message in messages where state != .closed {
            guard message.typeID == RTMPMessageType.commandAMF0 || message.typeID == RTMPMessageType.commandAMF3 else { continue }
            let command = try RTMPCommand(message)
            try handle(command, out: &out, events: &events)
        }
    }

    private mutating func handle(_ command: RTMPCommand, out: inout [UInt8], events: inout [Event]) throws(RTMPError) {
        switch (command.name, state) {
        case ("_result", .connecting) where command.transactionID == connectTransaction:
            if let code = command.statusCode, code != "NetConnection.Connect.Success" {
                throw rejection(.connectRejected, command, "server did not accept connect to app '\(url.app)'")
            }
            events.append(.connected)
            let name = AMF0Value.string(url.publishName)
            layer.send(RTMPCommand(name: "releaseStream", transactionID: takeTransaction(), arguments: [.null, name]).message(), into: &out)
            layer.send(RTMPCommand(name: "FCPublish", transactionID: takeTransaction(), arguments: [.null, name]).message(), into: &out)
            createStreamTransaction = takeTransaction()
            layer.send(RTMPCommand(name: "createStream", transactionID: createStreamTransaction, arguments: [.null]).message(), into: &out)
            state = .creatingStream
        case ("_error", .connecting) where command.transactionID == connectTransaction:
            throw rejection(.connectRejected, command, "server refused connect to app '\(url.app)' (check the app name and any auth)")
        case ("_result", .creatingStream) where command.transactionID == createStreamTransaction:
            guard let id = command.arguments.dropFirst().first?.numberValue, id >= 0, id < 4_294_967_296 else {
                throw RTMPError(.badCommand, "createStream _result carries no stream id")
            }
            streamID = UInt32(id)
            let publish = RTMPCommand(name: "publish", transactionID: 0, arguments: [.null, .string(url.publishName), .string("live")])
            layer.send(publish.message(chunkStreamID: RTMPChunkStream.streamCommand, messageStreamID: streamID), into: &out)
            state = .publishRequested
        case ("_error", .creatingStream) where command.transactionID == createStreamTransaction:
            throw rejection(.publishRejected, command, "server refused createStream")
        case ("onStatus", _):
            let code = command.statusCode ?? ""
            if code == "NetStream.Publish.Start", state == .publishRequested {
                state = .publishing
                events.append(.publishing)
                if canSendHeaders { sendHeaders(into: &out) }
            } else if command.statusLevel == "error" || code.hasSuffix("BadName") || code.hasSuffix(".Failed") || code.hasSuffix("Rejected") {
                if state == .publishing {
                    throw RTMPError(.closedByPeer, "server ended the publish of '\(url.mediaMTXPath)': \(command.statusDescription ?? code)", code: code)
                }
                let hint = code.hasSuffix("BadName") ? " (another publisher holds this path, or the name is not allowed)" : ""
                throw rejection(.publishRejected, command, "server refused to publish '\(url.mediaMTXPath)'\(hint)")
            }
        default:
            break  // onBWDone, onFCPublish, _result for releaseStream/FCPublish, …
        }
    }

    private mutating func rejection(_ kind: RTMPError.Kind, _ command: RTMPCommand, _ what: String) -> RTMPError {
        let detail = command.statusDescription.map { ": \($0)" } ?? ""
        let error = RTMPError(kind, what + detail, code: command.statusCode)
        return error
    }

    // MARK: media

    private var canSendHeaders: Bool {
        !configuration.metadata.hasVideo || (!sps.isEmpty && !pps.isEmpty)
    }

    private mutating func sendHeaders(into out: inout [UInt8]) {
        var metadata = configuration.metadata
        if metadata.hasVideo, let first = sps.first, let info = try? H264SPS(nal: first) {
            metadata.width = metadata.width ?? info.width
            metadata.height = metadata.height ?? info.height
        }
        metadata.hasAudio = metadata.hasAudio && configuration.audioConfig != nil
        send(type: RTMPMessageType.dataAMF0, csid: RTMPChunkStream.streamCommand, timestamp: 0,
             payload: FLVTagBody.metadata(metadata, forRTMP: true), into: &out)
        if metadata.hasVideo { sendVideoConfig(timestamp: 0, into: &out) }
        if let asc = configuration.audioConfig {
            send(type: RTMPMessageType.audio, csid: RTMPChunkStream.audio, timestamp: 0, payload: FLVTagBody.aacSequenceHeader(config: asc), into: &out)
            counters.sequenceHeadersSent += 1
        }
        headersSent = true
    }

    private mutating func sendVideoConfig(timestamp: UInt32, into out: inout [UInt8]) {
        guard let record = try? H264Bitstream.decoderConfigurationRecord(sps: sps, pps: pps) else { return }
        send(type: RTMPMessageType.video, csid: RTMPChunkStream.video, timestamp: timestamp,
             payload: FLVTagBody.avcSequenceHeader(record: record), into: &out)
        sentVideoConfig = record
        counters.sequenceHeadersSent += 1
    }

    private mutating func send(type: UInt8, csid: UInt32, timestamp: UInt32, payload: [UInt8], into out: inout [UInt8]) {
        layer.send(RTMPMessage(chunkStreamID: csid, timestamp: timestamp, typeID: type, messageStreamID: streamID, payload: payload), into: &out)
    }

    /// Sets SPS/PPS ahead of the first frame (they are also picked up from in-band NAL units).
    public mutating func setVideoConfig(sps: [UInt8], pps: [UInt8]) {
        self.sps = [sps[...]]
        self.pps = [pps[...]]
    }

    /// Whether the next video frame sent must be a keyframe to be used (nothing sent yet).
    public var needsKeyframe: Bool { state == .publishing && !sentFirstKeyframe }

    /// One H.264 access unit, Annex-B (start codes) or AVCC (4-byte lengths). SPS/PPS found in
    /// it update the sequence header (re-sent when they change); AUDs are dropped. Times are
    /// on the same clock as audio. Returns the bytes to write (empty if the frame was dropped).
    public mutating func sendVideo(accessUnit: [UInt8], pts: Duration, dts: Duration, isKeyframe: Bool) -> [UInt8] {
        let nals: [ArraySlice<UInt8>] = H264Bitstream.isAnnexB(accessUnit) ? H264Bitstream.splitAnnexB(accessUnit) : Self.splitAVCC(accessUnit)
        var newSPS: [ArraySlice<UInt8>] = [], newPPS: [ArraySlice<UInt8>] = []
        var keep: [ArraySlice<UInt8>] = []
        var hasIDR = false
        for nal in nals {
            switch H264Bitstream.nalType(nal) {
            case H264NALType.sps.rawValue: newSPS.append(nal)
            case H264NALType.pps.rawValue: newPPS.append(nal)
            case H264NALType.accessUnitDelimiter.rawValue: break
            case H264NALType.idrSlice.rawValue: hasIDR = true; keep.append(nal)
            default: keep.append(nal)
            }
        }
        if !newSPS.isEmpty { sps = newSPS }
        if !newPPS.isEmpty { pps = newPPS }
        let keyframe = isKeyframe || hasIDR
        var out: [UInt8] = []
        guard state == .publishing, !keep.isEmpty else {
            if !keep.isEmpty { counters.videoFramesDropped += 1 }
            return out
        }
        // A decoder can start only at a keyframe with the sequence header before it.
        guard sentFirstKeyframe || keyframe else { counters.videoFramesDropped += 1; return out }
        if !headersSent {
            guard canSendHeaders else { counters.videoFramesDropped += 1; return out }
            sendHeaders(into: &out)
        }
        sentFirstKeyframe = true
        let (timestamp, cts) = timestamps.video(pts: pts, dts: dts)
        if !newSPS.isEmpty || !newPPS.isEmpty, let record = try? H264Bitstream.decoderConfigurationRecord(sps: sps, pps: pps), record != sentVideoConfig {
            sendVideoConfig(timestamp: timestamp, into: &out)
        }
        var body: [UInt8] = []
        body.reserveCapacity(accessUnit.count + 5 + keep.count * 4)
        FLVTagBody.appendAVCFrameHeader(keyframe: keyframe, compositionTime: cts, into: &body)
        H264Bitstream.appendAVCC(keep, into: &body)
        send(type: RTMPMessageType.video, csid: RTMPChunkStream.video, timestamp: timestamp, payload: body, into: &out)
        counters.videoFramesSent += 1
        counters.bytesSent += out.count
        return out
    }

    /// One AAC frame, raw or with an ADTS header (stripped). Returns the bytes to write.
    public mutating func sendAudio(frame: [UInt8], pts: Duration) -> [UInt8] {
        var raw = frame[...]
        if let adts = AAC.adtsHeader(raw) {
            raw = raw.dropFirst(adts.headerLength)
            if !headersSent { configuration.audioConfig = adts.audioSpecificConfig }
        }
        var out: [UInt8] = []
        guard state == .publishing, configuration.audioConfig != nil else { counters.audioFramesDropped += 1; return out }
        if !headersSent {
            guard canSendHeaders else { counters.audioFramesDropped += 1; return out }
            sendHeaders(into: &out)
        }
        let timestamp = timestamps.audio(pts: pts)
        var body: [UInt8] = []
        body.reserveCapacity(raw.count + 2)
        FLVTagBody.appendAACFrameHeader(into: &body)
        body.append(contentsOf: raw)
        send(type: RTMPMessageType.audio, csid: RTMPChunkStream.audio, timestamp: timestamp, payload: body, into: &out)
        counters.audioFramesSent += 1
        counters.bytesSent += out.count
        return out
    }

    /// Ends the publish cleanly: `FCUnpublish` + `deleteStream`. Write the bytes, then close the socket.
    public mutating func close() -> [UInt8] {
        var out: [UInt8] = []
        if state == .publishing || state == .publishRequested {
            layer.send(RTMPCommand(name: "FCUnpublish", transactionID: takeTransaction(), arguments: [.null, .string(url.publishName)]).message(), into: &out)
            layer.send(RTMPCommand(name: "deleteStream", transactionID: takeTransaction(), arguments: [.null, .number(Double(streamID))]).message(), into: &out)
        }
        state = .closed
        return out
    }

    static func splitAVCC(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        var c = ByteCursor(bytes)
        var nals: [ArraySlice<UInt8>] = []
        while let len = c.u32(), let nal = c.take(Int(len)) { if !nal.isEmpty { nals.append(nal) } }
        return nals
    }
}

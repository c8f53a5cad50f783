/// The server side of an RTMP publish, as a value (bytes in, bytes and events out): what a
/// MediaMTX-like ingest needs. Handshake, `connect` → Window Ack Size, Set Peer Bandwidth,
/// Set Chunk Size, `_result`; `createStream` → `_result`; `publish` → an event the owner
/// answers with `acceptPublish()` or `rejectPublish(…)`; then media as FLV tags.
public struct RTMPServerSession: Sendable {
    public struct Configuration: Sendable {
        public var chunkSize = 4096
        public var windowAckSize: UInt32 = 2_500_000
        public var readerLimits = RTMPChunkReader.Limits()
        public init() {}
    }

    public enum Event: Sendable, Equatable {
        case connected(app: String, tcUrl: String?)
        /// Answer with `acceptPublish()` or `rejectPublish(…)`.
        case publishRequested(app: String, name: String)
        /// Audio, video and script (`onMetaData`, with `@setDataFrame` stripped) tags.
        case media(FLVTag)
        /// FCUnpublish / deleteStream / closeStream from the client.
        case unpublished
        case closed(RTMPError?)
    }

    public enum Action: Sendable, Equatable {
        case send([UInt8])
        case event(Event)
    }

    public enum State: Sendable, Equatable { case handshaking, connecting, connected, publishRequested, publishing, closed }

    public private(set) var state: State = .handshaking
    public private(set) var app = ""
    public private(set) var streamName = ""
    public private(set) var tcUrl: String?
    public private(set) var bytesReceived: UInt64 = 0
    public let configuration: Configuration

    private var handshake = RTMPHandshake.Server()
    private var layer: RTMPMessageLayer
    private var s1: [UInt8]
    private var publishStreamID: UInt32 = 0
    private var nextStreamID: UInt32 = 1

    /// The path MediaMTX would give this publish: app and name joined, empty parts dropped.
    public var path: String {
        let name = streamName.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        return (app.split(separator: "/") + name.split(separator: "/")).joined(separator: "/")
    }

    public init(configuration: Configuration = Configuration()) {
        var rng = SystemRandomNumberGenerator()
        self.init(configuration: configuration, random: &rng)
    }

    public init(configuration: Configuration = Configuration(), random: inout some RandomNumberGenerator) {
        self.configuration = configuration
        self.layer = RTMPMessageLayer(limits: configuration.readerLimits)
        self.s1 = RTMPHandshake.randomPacket(time: 0, random: &random)
    }

    public mutating func receive<C: Collection>(_ bytes: C) -> [Action] where C.Element == UInt8 {
        var out: [UInt8] = []
        var events: [Event] = []
        bytesReceived += UInt64(bytes.count)
        do {
            switch state {
            case .closed: return []
            case .handshaking:
                let s1 = self.s1
                for step in try handshake.receive(bytes, s1: { s1 }) {
                    switch step {
                    case .reply(let reply): out.append(contentsOf: reply)
                    case .complete(let leftover):
                        state = .connecting
                        if !leftover.isEmpty { try handle(try layer.receive(leftover, replies: &out), out: &out, events: &events) }
                    }
                }
            default:
                try handle(try layer.receive(bytes, replies: &out), out: &out, events: &events)
            }
        } catch {
            state = .closed
            events.append(.closed(error))
        }
        return (out.isEmpty ? [] : [.send(out)]) + events.map { .event($0) }
    }

    public mutating func acceptPublish() -> [UInt8] {
        guard state == .publishRequested else { return [] }
        var out: [UInt8] = []
        layer.send(RTMPControl.userControl(event: RTMPControl.UserControlEvent.streamBegin, value: publishStreamID), into: &out)
        sendStatus(level: "status", code: "NetStream.Publish.Start", description: "\(streamName) is now published.", into: &out)
        state = .publishing
        return out
    }

    public mutating func rejectPublish(code: String = "NetStream.Publish.BadName", description: String) -> [UInt8] {
        guard state == .publishRequested else { return [] }
        var out: [UInt8] = []
        sendStatus(level: "error", code: code, description: description, into: &out)
        state = .connected
        return out
    }

    private mutating func sendStatus(level: String, code: String, description: String, into out: inout [UInt8]) {
        let status = RTMPCommand(name: "onStatus", transactionID: 0, arguments: [.null, .object([
            ("level", .string(level)), ("code", .string(code)), ("description", .string(description)),
        ])])
        layer.send(status.message(chunkStreamID: RTMPChunkStream.streamCommand, messageStreamID: publishStreamID), into: &out)
    }

    static let knownTypes: Set<UInt8> = [1, 2, 3, 4, 5, 6, 8, 9, 15, 16, 17, 18, 19, 20, 22]

    private mutating func handle(_ messages: [RTMPMessage], out: inout [UInt8], events: inout [Event]) throws(RTMPError) {
        for message in messages where state != .closed {
            switch message.typeID {
            case RTMPMessageType.commandAMF0, RTMPMessageType.commandAMF3:
                try handle(try RTMPCommand(message), out: &out, events: &events)
            case RTMPMessageType.audio, RTMPMessageType.video:
                guard state == .publishing, message.messageStreamID == publishStreamID else { continue }
                let kind: FLVTag.Kind = message.typeID == RTMPMessageType.audio ? .audio : .video
                events.append(.media(FLVTag(kind: kind, timestamp: message.timestamp, body: message.payload)))
            case RTMPMessageType.dataAMF0:
                guard state == .publishing else { continue }
                events.append(.media(FLVTag(kind: .script, timestamp: message.timestamp, body: Self.stripSetDataFrame(message.payload))))
            default:
                if !Self.knownTypes.contains(message.typeID) {
                    throw RTMPError(.badChunk, "client sent unknown RTMP message type \(message.typeID)")
                }
            }
        }
    }

    /// `@setDataFrame` is an instruction to the server; the stored script tag starts at `onMetaData`.
    static func stripSetDataFrame(_ payload: [UInt8]) -> [UInt8] {
        let marker = AMF0.encode([.string("@setDataFrame")])
        if payload.starts(with: marker) { return Array(payload.dropFirst(marker.count)) }
        return payload
    }

    private mutating func handle(_ command: RTMPCommand, out: inout [UInt8], events: inout [Event]) throws(RTMPError) {
        switch command.name {
        case "connect":
            guard state == .connecting, let object = command.arguments.first, let app = object["app"]?.stringValue else {
                throw RTMPError(.badCommand, "connect without an app name (or sent twice)")
            }
            self.app = app.hasSuffix("/") ? String(app.dropLast()) : app
            self.tcUrl = object["tcUrl"]?.stringValue
            layer.send(RTMPControl.windowAckSize(configuration.windowAckSize), into: &out)
            layer.send(RTMPControl.setPeerBandwidth(configuration.windowAckSize, limitType: 2), into: &out)
            layer.sendChunkSize(configuration.chunkSize, into: &out)
            let result = RTMPCommand(name: "_result", transactionID: command.transactionID, arguments: [
                .object([("fmsVer", .string("LNX 9,0,124,2")), ("capabilities", .number(31))]),
                .object([("level", .string("status")), ("code", .string("NetConnection.Connect.Success")),
                         ("description", .string("Connection succeeded.")), ("objectEncoding", .number(0))]),
            ])
            layer.send(result.message(), into: &out)
            state = .connected
            events.append(.connected(app: self.app, tcUrl: tcUrl))
        case "createStream":
            guard state == .connected else { throw RTMPError(.badCommand, "createStream before connect") }
            publishStreamID = nextStreamID
            nextStreamID += 1
            layer.send(RTMPCommand(name: "_result", transactionID: command.transactionID, arguments: [.null, .number(Double(publishStreamID))]).message(), into: &out)
        case "publish":
            guard state == .connected else { throw RTMPError(.badCommand, "publish before connect/createStream, or twice") }
            streamName = command.arguments.dropFirst().first?.stringValue ?? ""
            state = .publishRequested
            events.append(.publishRequested(app: app, name: streamName))
        case "FCUnpublish", "deleteStream", "closeStream":
            if state == .publishing {
                state = .connected
                events.append(.unpublished)
            }
        default:
            break  // releaseStream, FCPublish, getStreamLength, …: no answer needed
        }
    }
}

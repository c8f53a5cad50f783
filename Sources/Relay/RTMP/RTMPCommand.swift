/// An AMF0 command message (`connect`, `_result`, `onStatus`, …) parsed into its parts.
public struct RTMPCommand: Sendable, Equatable {
    public var name: String
    public var transactionID: Double
    /// Everything after the transaction id (command object first, usually null or an object).
    public var arguments: [AMF0Value]

    public init(name: String, transactionID: Double, arguments: [AMF0Value]) {
        self.name = name
        self.transactionID = transactionID
        self.arguments = arguments
    }

    public init(_ message: RTMPMessage) throws(RTMPError) {
        var payload = message.payload
        // AMF3 command messages start with a format byte, then carry AMF0 in practice.
        if message.typeID == RTMPMessageType.commandAMF3, !payload.isEmpty { payload.removeFirst() }
        let values: [AMF0Value]
        do { values = try AMF0.decodeAll(payload) } catch {
            throw RTMPError(.badCommand, "command message does not decode: \(error)")
        }
        guard let name = values.first?.stringValue else {
            throw RTMPError(.badCommand, "command message does not start with a command name string")
        }
        self.name = name
        self.transactionID = values.count > 1 ? values[1].numberValue ?? 0 : 0
        self.arguments = Array(values.dropFirst(2))
    }

    public func message(chunkStreamID: UInt32 = RTMPChunkStream.command, messageStreamID: UInt32 = 0) -> RTMPMessage {
        RTMPMessage(chunkStreamID: chunkStreamID, timestamp: 0, typeID: RTMPMessageType.commandAMF0, messageStreamID: messageStreamID,
                    payload: AMF0.encode([.string(name), .number(transactionID)] + arguments))
    }

    /// The info object of `onStatus` / `_result` / `_error` (the first object argument after the command object).
    public var info: AMF0Value? {
        arguments.dropFirst().first { if case .object = $0 { true } else if case .ecmaArray = $0 { true } else { false } }
            ?? arguments.first { if case .object = $0 { $0["code"] != nil } else { false } }
    }

    public var statusCode: String? { info?["code"]?.stringValue }
    public var statusLevel: String? { info?["level"]?.stringValue }
    public var statusDescription: String? { info?["description"]?.stringValue }
}

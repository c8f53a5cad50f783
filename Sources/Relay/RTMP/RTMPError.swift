/// What went wrong on an RTMP connection, with a reason a person can act on.
public struct RTMPError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case badHandshake
        case badChunk
        case messageTooLarge
        case badChunkSize
        case badCommand
        case connectRejected
        case publishRejected
        case badURL
        case connectionFailed
        case timeout
        case closedByPeer
        case notPublishing
        case badMedia
    }
    public let kind: Kind
    public let reason: String
    /// For rejections: the server's status code, e.g. `NetStream.Publish.BadName`.
    public let code: String?

    public init(_ kind: Kind, _ reason: String, code: String? = nil) {
        self.kind = kind
        self.reason = reason
        self.code = code
    }

    public var description: String { code.map { "\(reason) [\($0)]" } ?? reason }
}

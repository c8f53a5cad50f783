import Logging

extension Logger.Metadata {
    /// What one log event carries, the way swift-log layers it: the handler's metadata, then
    /// the metadata provider's, then the call site's (later layers win on equal keys).
    static func merged(handler: Logger.Metadata, provider: Logger.MetadataProvider?, event: LogEvent) -> Logger.Metadata {
        var merged = handler
        if let provided = provider?.get() { merged.merge(provided) { _, new in new } }
        if let callSite = event.metadata { merged.merge(callSite) { _, new in new } }
        return merged
    }
}

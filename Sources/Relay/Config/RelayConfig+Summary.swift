/// What a config means, in a few lines for the startup log and `relayd run --check`. Secrets
/// appear only as their source ("from environment variable RELAYD_CALLS_API_TOKEN").
extension RelayConfig: CustomStringConvertible {
    public var summaryLines: [String] {
        let enabled = guests.filter(\.enabled)
        let disabled = guests.filter { !$0.enabled }
        var guestText = enabled.isEmpty ? "none enabled" : enabled.map(\.id).joined(separator: ", ")
        if !disabled.isEmpty { guestText += " (disabled: \(disabled.map(\.id).joined(separator: ", ")))" }
        // x264 settings matter in passthrough too: VP8 guests are always encoded.
        var video = "video \(relay.video.mode.rawValue), x264 \(relay.video.x264Preset) "
            + "\(relay.video.bitrateKbps) kbit/s, keyframe every "
            + "\(ConfigNodeReader.format(relay.video.keyframeIntervalSeconds)) s"
        if let width = relay.video.width { video += ", width \(width)" }
        if let height = relay.video.height { video += ", height \(height)" }
        let scheme = relay.tls == nil ? "http" : "https"
        return [
            "guests: \(guestText)",
            "Calls app \(cloudflare.callsAppId) at \(relay.callsBaseURL), token from \(cloudflare.callsAPITokenSource)",
            "WHIP endpoint \(scheme)://\(URLHost.bracketed(relay.listenHost)):\(relay.listenPort)/api/calls/whip/{guest}"
                + (relay.whipBearerToken == nil ? " (no bearer token required)" : " (bearer token required)"),
            "publishing to \(rtmpURL(for: "{guest}")), subscribe mode \(relay.subscribeMode.rawValue)",
            "\(video); audio AAC \(relay.audio.bitrateKbps) kbit/s; log level \(relay.logLevel)",
        ]
    }

    public var description: String { "RelayConfig(" + summaryLines.joined(separator: "; ") + ")" }
}

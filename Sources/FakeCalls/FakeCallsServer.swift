import Logging
import Relay

/// FakeCalls as a running service: its HTTP API on libmicrohttpd (the same server relayd uses)
/// and its SFU media side (`FakeSFUMedia`: one UDP socket, one thread, one PeerConnection per
/// negotiated session). `relayd fake-calls` and the demo run this.
public final class FakeCallsServer: Sendable {
    public let api: FakeCallsAPI
    public let mediaSide: SDPFakeMediaSide
    /// The media side: connections, forwarding, fixture publishers, counters.
    public let media: FakeSFUMedia
    private let server: MicroHTTPServer
    private let flowing: AsyncStream<String>.Continuation
    private let flowTask: Task<Void, Never>

    public var port: Int { server.port }
    public var udpPort: Int { Int(media.localAddress.port) }
    /// What relayd's `relay.calls_base_url` should be to use this fake.
    public var baseURL: String { "http://\(host):\(server.port)/v1" }
    private let host: String

    /// - Parameter host: an IP literal; the HTTP API and the media socket both bind it.
    public init(host: String = "127.0.0.1", port: Int = 0, options: FakeCallsOptions, logger: Logger) throws {
        self.host = host
        guard let mediaAddress = SocketAddress(ip: host, port: 0) else {
            throw FixtureMediaSource.LoadError(description: "FakeCalls' host '\(host)' is not an IP address")
        }
        let (stream, continuation) = AsyncStream<String>.makeStream()
        flowing = continuation
        media = try FakeSFUMedia(bindTo: mediaAddress, recordDirectory: options.recordDirectory,
                                 recordKeyframeInterval: options.recordKeyframeInterval, onPublisherFlowing: { continuation.yield($0) })
        media.mediaMode = options.mediaMode
        if let impairment = options.impairment { media.impairment = impairment }
        mediaSide = SDPFakeMediaSide(certificate: try DTLSCertificate(commonName: "fakecalls"),
                                     mediaHost: host, mediaPort: Int(media.localAddress.port))
        mediaSide.setObserver(SDPFakeMediaSide.Observer(
            negotiated: { [media] in media.negotiated($0) }, closed: { [media] in media.sessionClosed($0) }))
        let api = FakeCallsAPI(options: options, mediaSide: Self.recording(mediaSide, into: media, options: options),
                               logger: logger)
        self.api = api
        // A publisher's first RTP ends `not_found_track_error` for its tracks (and makes them active).
        flowTask = Task { [media] in
            for await session in stream {
                await api.markFlowing(session: session)
                if options.recordDirectory != nil { await Self.recordTrackNames(session: session, api: api, media: media) }
            }
        }
        do {
            server = try MicroHTTPServer(configuration: HTTPServerConfiguration(host: host, port: port, logger: logger),
                                         handler: api.handler)
        } catch {
            media.stop()
            continuation.finish()
            throw error
        }
    }

    /// A published session that needs no browser: `video` (H.264 Annex-B `.h264` or VP8 `.ivf`,
    /// 30 fps) and/or `audio` (Ogg Opus, 20 ms packets) are played in real time, looping, as
    /// tracks named "video" and "audio" (mids "0" and "1"). Subscribers `tracks/new` them as
    /// remote tracks of the returned session id. `appId` defaults to the only/first app.
    public func addFixturePublisher(video: String?, audio: String?, appId: String? = nil) async throws -> String {
        let firstApp = await api.options.apps.keys.sorted().first
        guard let app = appId ?? firstApp else {
            throw FixtureMediaSource.LoadError(description: "FakeCalls has no app to publish the fixture in")
        }
        let session = await api.newFixtureSession(appId: app)
        let tracks: [FakeLocalTrack]
        let codecs: [String: SDPCodec]
        do { (tracks, codecs) = try media.addFixture(session: session, video: video, audio: audio) } catch {
            await api.discardFixtureSession(session)
            throw error
        }
        mediaSide.registerFixturePublisher(session: session, codecs: codecs)
        await api.publishFixtureTracks(session: session, tracks: tracks)
        return session
    }

    /// Injects Calls failures from now on (replacing earlier ones; `[]` ends them). Safe from any
    /// thread: the API actor owns the rules.
    public func setFaults(_ faults: [FakeCallsFault]) async { await api.setFaults(faults) }

    /// Where publishers' media comes from (`.forward`: their browsers; `.fixtures`: recordings),
    /// for sessions that publish from now on.
    public var mediaMode: FakeCallsOptions.MediaMode {
        get { media.mediaMode }
        set { media.mediaMode = newValue }
    }

    /// Dropping the server stops it (the media thread and the flow task would otherwise keep
    /// each other alive).
    deinit { stop() }

    /// Stops the HTTP API and the media side. Idempotent.
    public func stop() {
        server.stop()
        media.stop()
        flowing.finish()
    }
}

// MARK: Record mode

extension FakeCallsServer {
    /// In record mode the API talks to the media side through `RecordingMediaSide` (which hands
    /// offer/answer text to the recorder).
    static func recording(_ mediaSide: SDPFakeMediaSide, into media: FakeSFUMedia,
                          options: FakeCallsOptions) -> any FakeSFUMediaSide {
        options.recordDirectory == nil ? mediaSide : RecordingMediaSide(inner: mediaSide, media: media)
    }

    /// The publisher's first RTP arrived, so its tracks/new finished: its track names are known.
    static func recordTrackNames(session: String, api: FakeCallsAPI, media: FakeSFUMedia) async {
        media.recordTrackNames(session: session, await api.localTrackNames(session: session))
    }
}

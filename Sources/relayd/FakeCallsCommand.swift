import ArgumentParser
import FakeCalls
import Foundation
import Logging
import Relay
import ServiceLifecycle

/// `relayd fake-calls`: a stand-in for Cloudflare Calls on this machine.
struct FakeCallsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fake-calls",
        abstract: "Serve a faithful Cloudflare Calls stand-in (HTTP API and SFU media side) for local runs.",
        discussion: """
            Answers the Calls HTTP API at http://<host>:<port>/v1/apps/<app-id>/… with the same paths, \
            status codes and errors as the real service; its SDP answers are real (ICE-lite, a DTLS \
            certificate fingerprint, a host candidate on its UDP media port). Point relayd at it with \
            relay.calls_base_url: http://127.0.0.1:<port>/v1 and the same app id and token.

            With --impair, every datagram of its media socket (both directions) goes through a \
            netem-like model, e.g.
              relayd fake-calls --fixtures Fixtures/rtp --impair loss=5%,burst=300ms/3s,jitter=20ms,seed=1
            Keys: loss=P%, burst=LENGTH/PERIOD (drop everything for LENGTH every PERIOD), \
            reorder=P%[/EXTRA] (default extra delay 20ms), dup=P%, delay=D, jitter=D (uniform ±), \
            rate=Nkbit|Nmbit with queue=D (tail drop past that queueing delay, default 500ms), seed=N.

            With --fault (repeatable), API requests fail the way real Calls can, e.g.
              relayd fake-calls --fault tracks/new@publisher=delay:5s --fault renegotiate@subscriber=410x1
            Form: ENDPOINT[@TARGET]=ACTION[xN]. Endpoints: sessions/new, tracks/new, renegotiate, \
            tracks/close, session, any. Targets: publisher, subscriber, or N (the Nth session). \
            Actions: delay:<n>ms|s, an HTTP status (425, 410, 500…, or STATUS:CODE), malformed, truncated; \
            xN applies the rule to the first N matching requests only.
            """
    )

    @Option(help: "TCP port of the HTTP API (0 picks a free port and prints it).")
    var port: Int = 0

    @Option(help: "The Calls app id the fake accepts; other app ids get 404.")
    var appId: String = "relayd-demo-app"

    @Option(help: "The bearer token the fake accepts; other tokens get 401. A test value, not a real secret.")
    var token: String = "relayd-demo-token"

    @Option(help: "Address to listen on (IPv4).")
    var host: String = "127.0.0.1"

    @Option(help: ArgumentHelp(
        "Record mode: write each publisher's decrypted RTP/RTCP to DIR/<session id>/<trackName>.pcap (RTP on UDP 5004, RTCP on 5005) with its offer.sdp and answer.sdp.",
        valueName: "DIR"))
    var record: String?

    @Option(help: ArgumentHelp("With --record: ask each publisher for a video keyframe (PLI) every SECONDS (0: only when subscribers ask).",
                               valueName: "SECONDS"))
    var recordKeyframeInterval: Double = 2

    @Option(help: ArgumentHelp(
        "Fixture mode: publishers get recorded media instead of their browser's (a recording directory with offer.sdp, video.pcap, audio.pcap, or a directory of them such as Fixtures/rtp).",
        valueName: "dir"))
    var fixtures: String?

    @Option(help: ArgumentHelp(
        "Impair the media socket (both directions), e.g. loss=5%,burst=300ms/3s,reorder=10%,dup=2%,delay=20ms,jitter=50ms,rate=500kbit,seed=1.",
        valueName: "spec"), transform: NetworkImpairment.Profile.commandLine)
    var impair: NetworkImpairment.Profile?

    @Option(help: ArgumentHelp(
        "Make API requests fail (repeatable), e.g. tracks/new@publisher=delay:5s, renegotiate@subscriber=410x1, sessions/new=500x2, any=malformed.",
        valueName: "rule"))
    var fault: [String] = []

    func validate() throws {
        for rule in fault where FakeCallsFault(spec: rule) == nil {
            throw ValidationError("--fault \(rule): not a rule. Write ENDPOINT[@TARGET]=ACTION[xN], e.g. tracks/new@publisher=delay:5s or renegotiate@subscriber=410x1 (see --help)")
        }
    }

    func run() async throws {
        RelayLogging.bootstrap(level: .info, secrets: [])
        let logger = Logger(label: "fake-calls")
        var options = FakeCallsOptions(appId: appId, token: token)
        if let fixtures {
            let catalog = try FixtureCatalog(directory: fixtures)
            options.mediaMode = .fixtures(catalog)
            print("fake-calls: fixture mode, playing \(catalog.recordings.map(\.name)) (video \(catalog.videoCodecs.map(\.rawValue)))")
        }
        if let record {
            try FileManager.default.createDirectory(atPath: record, withIntermediateDirectories: true)
            options.recordDirectory = record
            if recordKeyframeInterval > 0 { options.recordKeyframeInterval = .milliseconds(Int64(recordKeyframeInterval * 1000)) }
        }
        if let impair {
            options.impairment = impair
            print("fake-calls: impairing the media socket: \(options.impairment?.description ?? "none")")
        }
        let fake = try FakeCallsServer(host: host, port: port, options: options, logger: logger)
        let faults = fault.compactMap(FakeCallsFault.init(spec:))
        if !faults.isEmpty {
            await fake.setFaults(faults)
            print("fake-calls: injecting faults: \(fault.joined(separator: ", "))")
        }
        print("fake-calls: Calls API at \(fake.baseURL)/apps/\(appId) (media UDP \(host):\(fake.udpPort))\(record.map { "; recording publishers into \($0)" } ?? ""); Ctrl-C stops it")
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: UntilShutdown { fake.stop() })],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

/// A service that does nothing but wait for graceful shutdown, then runs its cleanup.
struct UntilShutdown: Service {
    let cleanup: @Sendable () -> Void

    func run() async throws {
        try? await gracefulShutdown()
        cleanup()
    }
}

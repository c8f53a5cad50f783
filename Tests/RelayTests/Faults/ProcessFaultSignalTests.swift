@testable import FakeCalls
import FakeMediaMTX
import Foundation
import Testing
@testable import Relay

#if canImport(Glibc)
import Glibc
#endif

/// Issue #8's fault "relayd gets SIGTERM mid-stream", on the built binary: `relayd run` with a
/// config pointing at an in-test FakeCalls (fixture mode) and FakeMediaMTX, a recorded offer
/// POSTed to its WHIP endpoint, the signal sent once frames flow.
@Suite(.serialized, .enabled(if: RelaydBinary.location != nil, "relayd binary not built next to the tests (swift build --build-tests builds it)"))
struct ProcessFaultSignalTests {
    /// Everything one run needs; `stop()` tears it down whatever happened.
    struct Run {
        let calls: ProcessFaultCalls
        let mediamtx: FakeMediaMTX
        let relayd: RelaydChild
        let started: ContinuousClock.Instant

        static func start() async throws -> Run {
            let calls = try ProcessFaultCalls(label: "signal")
            let mediamtx = try calls.mediamtx()
            let config = calls.directory.appendingPathComponent("relayd.yml")
            try """
                cloudflare:
                  calls_app_id: "\(ProcessFaultCalls.appId)"
                guests:
                  guest1:
                    name: "Guest 1"
                mediamtx:
                  host: 127.0.0.1
                  rtmp_port: \(mediamtx.rtmpPort ?? 0)
                relay:
                  listen_host: 127.0.0.1
                  listen_port: 0
                  calls_base_url: \(calls.fake.baseURL)
                  log_level: info
                """.write(to: config, atomically: true, encoding: .utf8)
            let relayd = try RelaydChild(
                binary: try #require(RelaydBinary.location), arguments: ["run", "--config", config.path],
                environment: ["RELAYD_CALLS_API_TOKEN": ProcessFaultCalls.token, "PATH": "/usr/bin:/bin"])
            return Run(calls: calls, mediamtx: mediamtx, relayd: relayd, started: .now)
        }

        /// POSTs the offer and waits until FakeMediaMTX's path is ready and ≥ 30 frames arrived.
        func flow() async throws {
            let port = try #require(await relayd.listeningPort(), "relayd did not say where it listens:\n\(relayd.text)")
            _ = try await ProcessFaultCalls.publish(relayPort: port)
            try #require(await mediamtx.waitUntilReady(path: "guest1", timeout: .seconds(15)), "\(relayd.text)")
            try #require(await mediamtx.wait(timeout: .seconds(10)) { ($0.paths["guest1"]?.streamCheck.video.frames ?? 0) >= 30 })
            #expect(await calls.fake.api.openSessionIds().count == 2, "the guest's publisher session and relayd's subscriber")
        }

        func stop() {
            relayd.killIfRunning()
            mediamtx.stop()
            calls.finish()
        }
    }

    /// The signal ends the service gracefully: exit 0 within a few seconds, every Calls session
    /// closed, the RTMP publish ended with a complete recording, the token never printed.
    func gracefulStop(on signal: Int32, name: String) async throws {
        let run = try await Run.start()
        defer { run.stop() }
        try await run.flow()

        run.relayd.signal(signal)
        let elapsed = try #require(await run.relayd.waitForExit(timeout: .seconds(8)), "relayd still runs 8 s after \(name):\n\(run.relayd.text)")
        let output = run.relayd.text
        #expect(run.relayd.process.terminationReason == .exit)
        #expect(run.relayd.process.terminationStatus == 0, "\(output)")
        #expect(elapsed < .seconds(5), "\(name) to exit took \(elapsed)")
        #expect(output.contains("\(name) received: shutting down gracefully"), "\(output)")
        #expect(output.contains("relayd stopping: ending every guest session"), "\(output)")
        #expect(output.contains("Ending session of guest1: "), "\(output)")
        #expect(!output.contains(ProcessFaultCalls.token))
        #expect(await run.calls.fake.api.openSessionIds().isEmpty, "every Calls session relayd made is closed")
        #expect(await run.mediamtx.waitUntilGone(path: "guest1", timeout: .seconds(3)))
        // relayd unpublished (FCUnpublish/deleteStream), the connection was not just cut.
        // (FakeMediaMTX logs it just after the path is gone: wait for the line.)
        let unpublished = await run.calls.capture.waitForMessage(containing: "unpublished by conn", timeout: .seconds(3))
        #expect(unpublished?.message.contains("(publisher unpublished)") == true, "\(String(describing: unpublished))")
        let recording = try #require(run.mediamtx.recordings(path: "guest1").last)
        let probe = try RecordingProbe.of(recording)
        #expect(probe.errors.isEmpty, "ffprobe/ffmpeg on the recording: \(probe.errors)")
        #expect(probe.videoFrames > 0 && probe.audioFrames > 0)
        #expect(probe.videoFrames == run.mediamtx.streamCheck(path: "guest1")?.video.frames)
        #expect(probe.firstVideoIsKey)
        for line in output.split(separator: "\n") where line.contains("received") || line.contains("stopping") || line.contains("Ending") {
            print("ProcessFault: relayd said: \(line)")
        }
        print("ProcessFault: \(name) → exit \(run.relayd.process.terminationStatus) in \(elapsed); recording \(probe.videoFrames) video frames")
    }

    @Test func sigtermMidStreamEndsEveryGuestAndExitsZero() async throws {
        try await gracefulStop(on: SIGTERM, name: "SIGTERM")
    }

    @Test func sigintMidStreamEndsEveryGuestAndExitsZero() async throws {
        try await gracefulStop(on: SIGINT, name: "SIGINT")
    }

    /// A shutdown stuck on Calls (each mutation takes 6 s): a second SIGTERM ends relayd at once,
    /// with a non-zero status and a line saying so.
    @Test func aSecondSigtermEndsAStuckShutdownAtOnce() async throws {
        let run = try await Run.start()
        defer { run.stop() }
        try await run.flow()

        await run.calls.fake.api.setMutationLatency(.seconds(6))
        run.relayd.signal(SIGTERM)
        #expect(await run.relayd.waitForOutput(containing: "relayd stopping: ending every guest session", timeout: .seconds(3)))
        #expect(await run.relayd.waitForOutput(containing: "Ending session of guest1", timeout: .seconds(3)))
        #expect(run.relayd.process.isRunning, "the shutdown waits for Calls")
        run.relayd.signal(SIGTERM)
        let elapsed = try #require(await run.relayd.waitForExit(timeout: .seconds(3)), "a second SIGTERM did not end relayd:\n\(run.relayd.text)")
        await run.calls.fake.api.setMutationLatency(.zero)
        let output = run.relayd.text
        #expect(run.relayd.process.terminationReason == .exit)
        #expect(run.relayd.process.terminationStatus != 0)
        #expect(elapsed < .seconds(2), "second SIGTERM to exit took \(elapsed)")
        #expect(output.contains("second SIGTERM"), "\(output)")
        #expect(!output.contains(ProcessFaultCalls.token))
        for line in output.split(separator: "\n") where line.contains("SIGTERM") { print("ProcessFault: relayd said: \(line)") }
        print("ProcessFault: second SIGTERM → exit \(run.relayd.process.terminationStatus) in \(elapsed)")
    }
}

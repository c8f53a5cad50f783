@testable import FakeCalls
import FakeMediaMTX
import Foundation
import Testing
@testable import Relay

/// Issue #8's fault "the recording disk is full": FakeMediaMTX records each publish as FLV onto
/// a 64 KiB tmpfs (about 1.5 s of the fixture's 320x240 video). When a write fails it says so,
/// once, with the file and the reason; the recording stops; the publish goes on untouched.
@Suite(.serialized, .enabled(if: SmallTmpfs.mountable, "cannot mount a small tmpfs here (needs root or CAP_SYS_ADMIN): the disk-full fault is skipped"))
struct ProcessFaultDiskTests {
    @Test func aFullRecordingDiskStopsTheRecordingButNotThePublish() async throws {
        let disk: SmallTmpfs
        switch try SmallTmpfs.mount(sizeKiB: 64) {
        case .success(let mounted): disk = mounted
        case .failure(let refused): Issue.record("\(refused)"); return
        }
        defer { disk.unmount() }
        let calls = try ProcessFaultCalls(label: "disk-full")
        defer { calls.finish() }
        let mediamtx = try calls.mediamtx(recordings: disk.url)
        defer { mediamtx.stop() }
        let relay = try calls.relay(rtmpPort: try #require(mediamtx.rtmpPort))
        let location = try await ProcessFaultCalls.publish(relayPort: relay.port)
        #expect(await mediamtx.waitUntilReady(path: "guest1", timeout: .seconds(15)))
        let ready = ContinuousClock.now

        #expect(await mediamtx.wait(timeout: .seconds(15)) { $0.counters.recordingsFailed >= 1 }, "64 KiB should fill in seconds")
        let filled = ContinuousClock.now - ready
        let recording = try #require(mediamtx.recordings(path: "guest1").first)
        let said = calls.capture.entries(at: .error).filter { $0.message.contains("No space left on device") }
        #expect(said.count == 1, "one clear error: \(calls.capture.entries(at: .error).map(\.message))")
        #expect(said.first?.message.contains(recording.path) == true, "the error names the file")
        #expect(said.first?.message.contains("disk holding the recordings is full") == true)
        #expect(mediamtx.path(named: "guest1")?.recordingError?.contains("ENOSPC") == true)

        // The publish goes on: more frames arrive on the same connection, relayd saw nothing.
        let framesAtFailure = mediamtx.path(named: "guest1")?.streamCheck.video.frames ?? 0
        #expect(await mediamtx.wait(timeout: .seconds(10)) { ($0.paths["guest1"]?.streamCheck.video.frames ?? 0) >= framesAtFailure + 30 })
        #expect(mediamtx.path(named: "guest1")?.ready == true)
        #expect(mediamtx.counters.publishes == 1 && mediamtx.closedConnections.isEmpty, "\(mediamtx.closedConnections)")
        let status = try #require(await relay.relayStatuses().first)
        #expect(status.rtmp?.state == "publishing" && status.rtmp?.reconnects == 0 && status.rtmp?.lastError == nil, "\(String(describing: status.rtmp))")
        #expect(status.state == "relaying")

        // The partial recording is a whole FLV: cut back to the last whole tag.
        let probe = try RecordingProbe.of(recording)
        #expect(probe.errors.isEmpty, "ffprobe/ffmpeg on the partial recording: \(probe.errors)")
        #expect(probe.videoFrames > 0 && probe.firstVideoIsKey, "\(probe)")
        let size = (try? FileManager.default.attributesOfItem(atPath: recording.path)[.size] as? Int) ?? 0
        #expect(size > 0 && size <= 64 << 10)

        #expect((200..<300).contains(try await ProcessFaultRTMPTests.delete(relayPort: relay.port, location: location)))
        #expect(await mediamtx.waitUntilGone(path: "guest1", timeout: .seconds(5)))
        print("ProcessFault: disk full after \(filled) of publishing; partial recording \(probe.videoFrames) frames, \(size) bytes; publish went on")
        await relay.shutdown()
    }
}

extension ProcessFaultDiskTests {
    /// FakeCalls' record mode on a 96 KiB tmpfs: its pcap writer flushes every 64 KB, so the
    /// first flush fits and the second hits ENOSPC. The capture stops with a reason (before,
    /// FileHandle's non-throwing write trapped: the whole FakeCalls process died); the file is a
    /// readable pcap of the datagrams that fitted.
    @Test func aFullDiskStopsFakeCallsRecordModeWithAReason() throws {
        let disk: SmallTmpfs
        switch try SmallTmpfs.mount(sizeKiB: 96) {
        case .success(let mounted): disk = mounted
        case .failure(let refused): Issue.record("\(refused)"); return
        }
        defer { disk.unmount() }
        let start = ContinuousClock.now
        let recorder = PublisherRecorder(directory: disk.url.path, now: start)
        recorder.negotiated(session: "s1", published: PublisherRecordingTests.published)
        recorder.trackNames(session: "s1", ["0": "video", "1": "audio"])
        var sent = 0
        for index in 0..<400 where recorder.failures.isEmpty {  // 400 × 1.2 KB ≫ 96 KiB
            let bytes = RTPPacketBuilder(payloadType: 109, sequenceNumber: UInt16(index), timestamp: UInt32(index) * 3000,
                                         ssrc: 1111, payload: [UInt8](repeating: UInt8(index & 0xFF), count: 1200)).serialize()
            recorder.rtp(ReceivedRTP(bytes: bytes, header: try RTPPacketView.parse(bytes)), session: "s1", mid: "0",
                         now: start + .milliseconds(10 * index))
            sent += 1
        }
        recorder.closed(session: "s1")
        #expect(recorder.failures.count == 1, "\(recorder.failures)")
        let failure = recorder.failures.first ?? ""
        #expect(failure.contains("No space left on device") && failure.contains("video.pcap"), "\(failure)")
        let file = disk.url.appendingPathComponent("s1/video.pcap")
        let datagrams = try Pcap.datagrams(in: [UInt8](Data(contentsOf: file)))
        #expect(datagrams.count > 0 && datagrams.count < sent, "\(datagrams.count) of \(sent) datagrams kept")
        #expect(datagrams.last?.payload.count == 1212, "the last record is whole")
        print("ProcessFault: record mode disk full after \(sent) datagrams; \(datagrams.count) kept")
    }
}

extension SmallTmpfs {
    /// Whether this machine lets the tests mount a tmpfs (root in a container that allows it).
    static let mountable: Bool = {
        guard case .success(let disk)? = try? mount(sizeKiB: 16) else { return false }
        disk.unmount()
        return true
    }()
}

import Foundation
import Relay

/// FakeCalls' record mode on the SFU driver thread: feeds `PublisherRecording` and performs its
/// file work with buffered `PcapFileWriter`s under `directory/<session id>/`. Lives on the driver
/// thread only (not Sendable); files are closed when their session closes or FakeCalls stops.
final class PublisherRecorder {
    let directory: String
    private var recording = PublisherRecording()
    private var writers: [PublisherRecording.FileKey: PcapFileWriter] = [:]
    private let clockStart: ContinuousClock.Instant
    /// Wall clock (µs since the Unix epoch) at `clockStart`: capture timestamps are wall clock.
    private let wallStartMicros: UInt64
    /// Files that could not be created or written (reported once each).
    private(set) var failures: [String] = []

    /// How often publishers are asked (PLI) for a keyframe while recording; nil: never.
    let keyframeInterval: Duration?
    private var nextKeyframeRequest: ContinuousClock.Instant

    init(directory: String, keyframeInterval: Duration? = nil, now: ContinuousClock.Instant) {
        self.directory = directory
        self.keyframeInterval = keyframeInterval
        nextKeyframeRequest = now + (keyframeInterval ?? .zero)
        clockStart = now
        wallStartMicros = UInt64(max(0, Date().timeIntervalSince1970 * 1_000_000))
    }

    func micros(at now: ContinuousClock.Instant) -> UInt64 {
        let (seconds, attoseconds) = (now - clockStart).components
        let elapsed = seconds * 1_000_000 + attoseconds / 1_000_000_000_000
        return elapsed >= 0 ? wallStartMicros + UInt64(elapsed) : wallStartMicros - min(wallStartMicros, UInt64(-elapsed))
    }

    /// True once per `keyframeInterval`.
    func keyframeRequestDue(now: ContinuousClock.Instant) -> Bool {
        guard let keyframeInterval, now >= nextKeyframeRequest else { return false }
        nextKeyframeRequest = now + keyframeInterval
        return true
    }

    func negotiated(session: String, published: [SFUNegotiation.PublishedMid]) {
        recording.negotiated(session: session, published: published)
    }

    func descriptions(session: String, offer: String, answer: String) {
        perform(recording.descriptions(session: session, offer: offer, answer: answer))
    }

    func trackNames(session: String, _ names: [String: String]) {
        perform(recording.trackNames(session: session, names))
    }

    func rtp(_ received: ReceivedRTP, session: String, mid: String, now: ContinuousClock.Instant) {
        if case .write(let key, let datagram) = recording.rtp(received.bytes, ssrc: received.header.ssrc,
                                                              session: session, mid: mid, micros: micros(at: now)) {
            write(datagram, key: key)
        }
    }

    func rtcp(_ packets: [RTCPPacket], session: String, now: ContinuousClock.Instant) {
        perform(recording.rtcp(packets, session: session, micros: micros(at: now)))
    }

    func closed(session: String) { perform(recording.closed(session: session)) }

    func closeAll() { perform(recording.closeAll()) }

    private func perform(_ outputs: [PublisherRecording.Output]) {
        for output in outputs {
            switch output {
            case .writeText(let session, let name, let text):
                let path = sessionDirectory(session) + "/" + name
                guard ensureDirectory(session), FileManager.default.createFile(atPath: path, contents: Data(text.utf8)) else {
                    fail("cannot write \(path)")
                    continue
                }
            case .write(let key, let datagram):
                write(datagram, key: key)
            case .close(let session):
                for (key, writer) in writers where key.session == session {
                    let failedBefore = writer.failure != nil
                    writer.close()  // flushes: the last write may fail too
                    if !failedBefore, let failure = writer.failure { failures.append("FakeCalls record mode: \(failure)") }
                    writers[key] = nil
                }
            }
        }
    }

    /// A capture whose write failed (disk full…) stays in `writers`, stopped, so it is reported
    /// once and not re-created (which would overwrite what it holds).
    private func write(_ datagram: Pcap.Datagram, key: PublisherRecording.FileKey) {
        guard let writer = writer(for: key), writer.failure == nil else { return }
        writer.write(datagram)
        if let failure = writer.failure { failures.append("FakeCalls record mode: \(failure)") }
    }

    private func writer(for key: PublisherRecording.FileKey) -> PcapFileWriter? {
        if let writer = writers[key] { return writer }
        let path = sessionDirectory(key.session) + "/" + key.name + ".pcap"
        guard ensureDirectory(key.session), let writer = try? PcapFileWriter(path: path) else {
            fail("cannot create \(path)")
            return nil
        }
        writers[key] = writer
        return writer
    }

    private func sessionDirectory(_ session: String) -> String { directory + "/" + session }

    private func ensureDirectory(_ session: String) -> Bool {
        (try? FileManager.default.createDirectory(atPath: sessionDirectory(session), withIntermediateDirectories: true)) != nil
    }

    private func fail(_ what: String) {
        let message = "FakeCalls record mode: \(what): check that the record directory \(directory) exists and is writable"
        if !failures.contains(message) { failures.append(message) }
    }
}

import FakeCalls
import FakeMediaMTX
import Foundation
import Testing
@testable import Relay

/// Guests joining and leaving many times: nothing may pile up (descriptors, Calls tracks, relays).
@Suite struct LifecycleChurnTests {
    typealias Chain = LifecycleChain

    /// 100 × join and leave. Every leg opens a Calls subscriber session, a UDP socket, a wakeup
    /// pipe and a driver thread; every end must free them all, wherever it comes: a third of the
    /// guests leave at once (the subscribe is cancelled in flight), a third once the relay is
    /// connecting (ICE/DTLS running), a third once media is connected.
    @Test func joiningAndLeaving100TimesLeavesNothingBehind() async throws {
        let chain = try Chain()
        let session = try await chain.addPublisher()
        let guest = chain.guest(session: session)
        func cycle(_ index: Int) async -> Bool {
            await chain.relay.startRelay(for: guest)
            var reached = true
            switch index % 3 {
            case 0: break
            case 1: reached = await Chain.eventually(.seconds(5)) { await chain.status()?.media != nil }
            default: reached = await Chain.eventually(.seconds(5)) { await chain.status()?.media?.connection == "connected" }
            }
            await chain.relay.endRelay(for: guest)
            return reached
        }
        // One cycle first: lazily created things (the HTTP client's connections, the DTLS
        // library's state) are not leaks.
        #expect(await cycle(2))
        let before = Chain.openDescriptors()
        let residentBefore = Self.residentMiB()
        let dtlsBefore = DTLSLiveCounter.connections.value
        var failures = 0
        for index in 0..<100 where !(await cycle(index)) { failures += 1 }
        #expect(failures == 0, "\(failures) of 100 joins did not get as far as they should")
        let after = Chain.openDescriptors()
        #expect(after <= before + 4, "open descriptors grew from \(before) to \(after)")
        // Memory: one relay leg holds pipelines, codec contexts and buffers worth megabytes; 100
        // leaked legs would be hundreds. Allocator slack stays well under the bound.
        let residentAfter = Self.residentMiB()
        print("100 join/leave cycles: resident \(Int(residentBefore)) → \(Int(residentAfter)) MiB, descriptors \(before) → \(after)")
        #expect(residentAfter - residentBefore < 48, "resident memory grew from \(residentBefore) to \(residentAfter) MiB over 100 cycles")
        #expect(await chain.fake.api.sessionsHoldingTracks() == [session])  // only the publisher
        #expect(await chain.relay.relayStatuses().isEmpty)
        // The SFU's media thread applies the closes on its next turn.
        #expect(await Chain.eventually(.seconds(2)) { chain.fake.media.statistics.livePeerConnections == 0 })
        // FakeCalls' SFU side runs in this process too: its end of each leg (an SSL object as
        // well) is freed on its media thread's next turn, hence after the line above.
        #expect(await Chain.eventually(.seconds(2)) { DTLSLiveCounter.connections.value <= dtlsBefore },
                "every leg's DTLS connection (OpenSSL SSL object) is freed: \(DTLSLiveCounter.connections.value) live, \(dtlsBefore) before")
        await chain.finish()
    }

    /// This process's resident set, MiB (/proc/self/statm, second field, in pages).
    static func residentMiB() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Double(fields[1]) else { return 0 }
        return pages * Double(sysconf(Int32(_SC_PAGESIZE))) / 1_048_576
    }
}

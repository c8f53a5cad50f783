import FakeCalls
import FakeMediaMTX
import Foundation
import Testing
@testable import Relay

/// Guests joining and leaving many times: nothing may pile up (descriptors, Calls tracks, relays).
@Suite struct LifecycleChurnTests {
    typealias Chain = LifecycleChain

    /// 100 × (subscribe → ICE/DTLS connected → end). Every leg opens a UDP socket, a wakeup pipe,
    /// a driver thread, a Calls subscriber session; every end must free them all.
    @Test func joiningAndLeaving100TimesLeavesNothingBehind() async throws {
        let chain = try Chain()
        let session = try await chain.addPublisher()
        let guest = chain.guest(session: session)
        func cycle() async -> Bool {
            await chain.relay.startRelay(for: guest)
            let connected = await Chain.eventually(.seconds(5)) {
                await chain.status()?.media?.connection == "connected"
            }
            await chain.relay.endRelay(for: guest)
            return connected
        }
        // One cycle first: lazily created things (the HTTP client's connections, the DTLS
        // library's state) are not leaks.
        #expect(await cycle())
        let before = Chain.openDescriptors()
        var failures = 0
        for _ in 0..<100 where !(await cycle()) { failures += 1 }
        #expect(failures == 0, "\(failures) of 100 joins did not connect")
        let after = Chain.openDescriptors()
        #expect(after <= before + 4, "open descriptors grew from \(before) to \(after)")
        #expect(await chain.fake.api.sessionsHoldingTracks() == [session])  // only the publisher
        #expect(await chain.relay.relayStatuses().isEmpty)
        #expect(chain.fake.media.statistics.livePeerConnections == 0)
        await chain.finish()
    }
}

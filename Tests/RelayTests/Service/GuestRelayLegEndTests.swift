import Testing
@testable import Relay

/// Which peer-connection events end a relay's SFU leg (the supervision task then asks Calls
/// whether to resubscribe or close; see GuestRelayLifecycleTests).
@Suite struct GuestRelayLegEndTests {
    @Test func anRTCPByeFromTheSFUEndsTheLeg() throws {
        let bytes = RTCPCompound.serialize([.receiverReport(RTCPReceiverReport(ssrc: 7)),
                                            .bye(RTCPBye(ssrcs: [0x1234], reason: "track ended"))])
        let parsed = try RTCPCompound.parse(bytes)
        #expect(GuestRelay.legEnd(for: .rtcp(parsed)) == .bye)
        // Ordinary RTCP does not.
        #expect(GuestRelay.legEnd(for: .rtcp([.receiverReport(RTCPReceiverReport(ssrc: 7))])) == nil)
    }

    @Test func consentLossCloseNotifyAndFailuresEndTheLegButOurOwnCloseDoesNot() {
        #expect(GuestRelay.legEnd(for: .disconnected(.consentLost)) == .consentLost)
        #expect(GuestRelay.legEnd(for: .disconnected(.closeNotify)) == .closeNotify)
        #expect(GuestRelay.legEnd(for: .disconnected(.localClose)) == nil)
        #expect(GuestRelay.legEnd(for: .disconnected(.dtlsFailed(.handshakeTimedOut(retransmissions: 6)))) != nil)
        #expect(GuestRelay.legEnd(for: .connected) == nil)
    }
}

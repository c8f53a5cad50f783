import Foundation
@testable import Relay

/// The recorded browser offers in Fixtures/sdp.
enum SDPFixtures {
    static let names = ["chromium-default", "chromium-h264", "chromium-vp8only", "chromium-simulcast",
                        "chromium-audio", "chromium-video"]

    static func text(_ name: String) throws -> String { try FixturePaths.text("sdp/\(name).sdp") }

    static func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: FixturePaths.url("sdp/\(name).sdp")))
    }

    static func parsed(_ name: String) throws -> SDP { try SDP.parse(try text(name)) }

    /// A parameters set as FakeCalls uses it: ICE-lite SFU, DTLS server.
    static func sfuParameters(codecs: [SDPCodec] = SDPCodec.relayDefaults) -> LocalMediaParameters {
        LocalMediaParameters(
            iceUfrag: "sfuU", icePwd: "sfuPasswordPasswordPass",
            fingerprint: .sha256((0..<32).map { String(format: "%02X", $0) }.joined(separator: ":")),
            setup: .passive, iceLite: true,
            candidates: [SDPCandidate(foundation: "1", priority: SDPCandidate.priority(type: "host"),
                                      address: "127.0.0.1", port: 40000)],
            codecs: codecs, sessionId: 42)
    }

    /// The relay's own parameters (full ICE, DTLS client when answering).
    static func relayParameters() -> LocalMediaParameters {
        LocalMediaParameters(
            iceUfrag: "rlyU", icePwd: "relayPasswordPassword00",
            fingerprint: .sha256((0..<32).map { String(format: "%02x", 255 - $0) }.joined(separator: ":")),
            setup: .active, iceLite: false,
            candidates: [SDPCandidate(foundation: "7", priority: SDPCandidate.priority(type: "host"),
                                      address: "::1", port: 50000)],
            sessionId: 7)
    }
}

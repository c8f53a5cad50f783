import Foundation
@testable import Relay
import Testing

/// The foreign check: real Chromium applies the answers `SDP.makeAnswer` builds for its own
/// recorded offers (after `preferH264`, answering as a single-codec ICE-lite SFU would). The same
/// browser version made the fixtures, so its fresh offers carry the same mids and payload types.
/// Set RELAY_SKIP_BROWSER_TESTS=1 to skip (takes ~10 s).
@Suite struct SDPChromiumAnswerTests {
    static let chromium = "/usr/lib/chromium/chromium"
    static var enabled: Bool {
        FileManager.default.isExecutableFile(atPath: chromium)
            && ProcessInfo.processInfo.environment["RELAY_SKIP_BROWSER_TESTS"] == nil
    }

    @Test(.enabled(if: enabled), .timeLimit(.minutes(2)))
    func chromiumAcceptsOurAnswers() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sdp-answers-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }

        var variants: [String] = []
        for name in SDPFixtures.names {
            let variant = String(name.dropFirst("chromium-".count))
            let offer = SDP.preferH264(try SDPFixtures.parsed(name)).sdp
            let answer = SDP.makeAnswer(toOffer: offer, local: SDPFixtures.sfuParameters(),
                                        options: SDPAnswerOptions(singleCodec: true, acceptSimulcast: variant == "simulcast"))
            try answer.serialized.write(to: dir.appendingPathComponent("\(variant).sdp"), atomically: true, encoding: .utf8)
            variants.append(variant)
        }

        let script = FixturePaths.root.deletingLastPathComponent().appendingPathComponent("scripts/record-browser-offers")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path, "--check-answers", dir.path] + variants
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()

        struct Negotiated: Decodable { var mid: String?; var kind: String?; var direction: String?; var codec: String? }
        struct Outcome: Decodable { var accepted: Bool; var negotiated: [Negotiated]?; var error: String? }
        let report = try JSONDecoder().decode([String: Outcome].self, from: data)
        #expect(process.terminationStatus == 0)
        for variant in variants {
            let outcome = try #require(report[variant], "no result for \(variant)")
            #expect(outcome.accepted, "Chromium refused the answer for \(variant): \(outcome.error ?? "")")
            for track in outcome.negotiated ?? [] {
                #expect(track.direction == "sendonly", "\(variant) mid \(track.mid ?? "?")")
                switch track.kind {
                case "audio": #expect(track.codec == "audio/opus", "\(variant)")
                case "video": #expect(track.codec == (variant == "vp8only" ? "video/VP8" : "video/H264"), "\(variant)")
                default: Issue.record("unexpected track kind \(track.kind ?? "nil") in \(variant)")
                }
            }
        }
    }
}

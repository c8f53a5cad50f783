import Foundation
import Logging
import Relay
import Testing

@Suite struct OneLineLogFormatTests {
    @Test func guestAndSessionLeadTheMetadata() {
        let line = OneLineLogHandler.format(
            timestamp: nil, level: .info, label: "relayd.guest", message: "Relay established",
            metadata: ["zeta": "1", "session": "abc123", "guest": "guest1", "alpha": "x", "subSession": "def456"])
        #expect(line == "info relayd.guest: Relay established guest=guest1 session=abc123 subSession=def456 alpha=x zeta=1")
    }

    @Test func valuesWithSpacesOrQuotesAreQuotedAndNewlinesEscaped() {
        let line = OneLineLogHandler.format(
            timestamp: nil, level: .warning, label: "r", message: "two\nlines",
            metadata: ["reason": "no route to host", "quote": "say \"hi\"", "empty": ""])
        #expect(line == #"warning r: two\nlines empty="" quote="say \"hi\"" reason="no route to host""#)
    }

    @Test func timestampsAreUTCWithMilliseconds() {
        func stamp(_ seconds: Double) -> String {
            OneLineLogHandler.format(timestamp: Date(timeIntervalSince1970: seconds), level: .debug, label: "l",
                                     message: "m", metadata: [:])
        }
        #expect(stamp(0) == "1970-01-01T00:00:00.000Z debug l: m")
        #expect(stamp(1_700_000_000.123) == "2023-11-14T22:13:20.123Z debug l: m")
        #expect(stamp(951_782_400) == "2000-02-29T00:00:00.000Z debug l: m")
        #expect(stamp(1_795_651_199.999) == "2026-11-25T23:59:59.999Z debug l: m")
    }

    @Test func handlerMergesLoggerAndCallSiteMetadataAndHonoursTheLevel() {
        let sink = LogLineSink()
        var logger = Logger(label: "relayd") { label in
            OneLineLogHandler(label: label, level: .info, timestamps: false, output: sink.append)
        }
        logger[metadataKey: "guest"] = "guest1"
        logger.debug("not shown")
        logger.info("subscribed", metadata: ["session": "s1"])
        #expect(sink.lines == ["info relayd: subscribed guest=guest1 session=s1"])
    }
}

@Suite struct LogCaptureTests {
    @Test func collectsLevelMessageAndMetadata() {
        let capture = LogCapture()
        var logger = capture.logger(label: "relayd.guest", level: .debug)
        logger[metadataKey: "guest"] = "guest1"
        logger.trace("below the level")
        logger.debug("Created empty session", metadata: ["session": "abc"])
        logger.error("failed", error: CancellationError())
        let entries = capture.entries
        #expect(entries.count == 2)
        #expect(entries[0].level == .debug)
        #expect(entries[0].label == "relayd.guest")
        #expect(entries[0].message == "Created empty session")
        #expect(entries[0]["guest"] == "guest1")
        #expect(entries[0]["session"] == "abc")
        #expect(entries[1].errorDescription?.contains("CancellationError") == true)
        #expect(capture.entries(at: .error).count == 1)
        #expect(capture.contains("empty session"))
        #expect(!capture.contains("below the level"))
        capture.removeAll()
        #expect(capture.entries.isEmpty)
    }

    @Test func concurrentLoggingLosesNothing() async {
        let capture = LogCapture()
        let logger = capture.logger(label: "t")
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                group.addTask {
                    for index in 0..<250 { logger.info("task \(task) entry \(index)") }
                }
            }
        }
        #expect(capture.entries.count == 2000)
        #expect(Set(capture.messages).count == 2000)
    }

    @Test func waitingFindsAnEntryLoggedLater() async {
        let capture = LogCapture()
        let logger = capture.logger(label: "t")
        async let found = capture.waitForMessage(containing: "Relay established", timeout: .seconds(10))
        let writer = Task {
            logger.info("Created subscriber session")
            logger.info("Relay established for guest1")
        }
        let entry = await found
        await writer.value
        #expect(entry?.message == "Relay established for guest1")
    }

    @Test func waitingReturnsAnAlreadyLoggedEntryAtOnce() async {
        let capture = LogCapture()
        capture.logger(label: "t").info("done")
        #expect(await capture.waitForMessage(containing: "done", timeout: .seconds(10))?.message == "done")
    }

    @Test func waitingGivesUpAfterTheTimeout() async {
        let capture = LogCapture()
        let start = ContinuousClock.now
        let entry = await capture.waitForMessage(containing: "never", timeout: .milliseconds(50))
        #expect(entry == nil)
        #expect(ContinuousClock.now - start < .seconds(5))
    }
}

import Foundation
import Relay

/// `relayd-bench memory-child <callsBaseURL> <rtmpPort> <guest,guest,…>`: a process that is only
/// relayd's RelayServer (no fakes, no bench data), so its RSS is relayd's. Line protocol on
/// stdin/stdout: it prints `ready`; `start <guestId> <sessionId>` → startRelay, prints
/// `started`; `quit` → shutdown, prints `bye` and exits.
enum MemoryChild {
    static func main(_ arguments: [String]) async -> Int32 {
        guard arguments.count == 3, let rtmpPort = Int(arguments[1]) else {
            FileHandle.standardError.write(Data("usage: relayd-bench memory-child <callsBaseURL> <rtmpPort> <guest,guest,…>\n".utf8))
            return 2
        }
        let guests = arguments[2].split(separator: ",").map(String.init)
        let relay: RelayServer
        do {
            relay = try RelayServer(config: LoopbackFakes.relayConfig(guests: guests, callsBaseURL: arguments[0], rtmpPort: rtmpPort),
                                    logger: LoopbackFakes.quiet)
        } catch {
            FileHandle.standardError.write(Data("memory-child: relayd did not start: \(error)\n".utf8))
            return 1
        }
        say("ready")
        while let line = readLine() {
            let words = line.split(separator: " ").map(String.init)
            switch words.first {
            case "start" where words.count == 3:
                await relay.startRelay(for: LoopbackFakes.guest(words[1], session: words[2]))
                say("started")
            case "quit":
                await relay.shutdown()
                say("bye")
                return 0
            default:
                say("unknown command: \(line)")
            }
        }
        await relay.shutdown()
        return 0
    }

    private static func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}

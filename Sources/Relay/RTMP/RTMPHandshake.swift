/// The plain (non-digest) RTMP handshake, both sides, as byte pumps.
/// C0/S0 is the version byte 3; C1/S1 are 1536 bytes (time, zero, random); C2/S2 echo them.
enum RTMPHandshake {
    static let version: UInt8 = 3
    static let packetSize = 1536

    static func randomPacket(time: UInt32, random: inout some RandomNumberGenerator) -> [UInt8] {
        var packet: [UInt8] = []
        packet.reserveCapacity(packetSize)
        packet.appendBE32(time)
        packet.appendBE32(0)
        while packet.count < packetSize {
            let r = random.next() as UInt64
            for shift in stride(from: 0, to: 64, by: 8) where packet.count < packetSize {
                packet.append(UInt8((r >> UInt64(shift)) & 0xFF))
            }
        }
        return packet
    }

    /// Client side: sends C0+C1, waits for S0+S1+S2, answers C2 = S1.
    struct Client: Sendable {
        private var received: [UInt8] = []
        private(set) var done = false

        /// C0 + C1.
        func start(c1: [UInt8]) -> [UInt8] { [version] + c1 }

        /// Returns (C2, leftover bytes after S2) once S0+S1+S2 are complete, nil before.
        mutating func receive<C: Collection>(_ bytes: C) throws(RTMPError) -> (c2: [UInt8], leftover: [UInt8])? where C.Element == UInt8 {
            received.append(contentsOf: bytes)
            if let s0 = received.first, s0 != version {
                throw RTMPError(.badHandshake, "server answered the handshake with version byte \(s0), expected 3: is this port an RTMP server (not RTMPS/HTTP)?")
            }
            let total = 1 + 2 * packetSize
            guard received.count >= total else { return nil }
            done = true
            let s1 = Array(received[1...packetSize])
            let leftover = Array(received[total...])
            received = []
            return (s1, leftover)
        }
    }

    /// Server side: waits for C0+C1, answers S0+S1+S2 (S2 = C1), then waits for C2.
    struct Server: Sendable {
        private var received: [UInt8] = []
        private var sentReply = false
        private(set) var done = false

        enum Step { case reply([UInt8]), complete(leftover: [UInt8]) }

        mutating func receive<C: Collection>(_ bytes: C, s1: () -> [UInt8]) throws(RTMPError) -> [Step] where C.Element == UInt8 {
            received.append(contentsOf: bytes)
            var steps: [Step] = []
            if !sentReply, let c0 = received.first, c0 != version {
                throw RTMPError(.badHandshake, "client opened with version byte \(c0), expected 3 (not an RTMP client, or RTMPE)")
            }
            if !sentReply, received.count >= 1 + packetSize {
                let c1 = Array(received[1...packetSize])
                steps.append(.reply([version] + s1() + c1))
                received.removeFirst(1 + packetSize)
                sentReply = true
            }
            if sentReply, received.count >= packetSize {
                done = true
                steps.append(.complete(leftover: Array(received[packetSize...])))
                received = []
            }
            return steps
        }
    }
}

import Relay

/// Both directions of FakeCalls' media socket under one impairment profile: what the SFU sends
/// (media, retransmissions, Sender Reports, ICE and DTLS replies) and what it receives (the
/// subscriber's NACKs, PLIs, receiver reports, ICE checks), each with its own random stream but
/// the same burst schedule (an outage takes the whole path down). Datagrams held back wait in
/// two queues until the driver's next turn at or after their time.
struct NetworkImpairmentLink {
    struct Outgoing {
        var bytes: [UInt8]
        var destination: SocketAddress
    }

    struct Incoming {
        var bytes: [UInt8]
        var source: SocketAddress
    }

    private(set) var outbound: NetworkImpairment
    private(set) var inbound: NetworkImpairment
    var held = NetworkImpairmentQueue<Outgoing>()
    var arriving = NetworkImpairmentQueue<Incoming>()

    init(profile: NetworkImpairment.Profile, start: ContinuousClock.Instant) {
        outbound = NetworkImpairment(profile: profile, start: start, stream: 1)
        inbound = NetworkImpairment(profile: profile, start: start, stream: 2)
    }

    var profile: NetworkImpairment.Profile { outbound.profile }

    var nextDeadline: ContinuousClock.Instant? {
        switch (held.nextDeadline, arriving.nextDeadline) {
        case let (a?, b?): return min(a, b)
        case let (a, b): return a ?? b
        }
    }

    mutating func decideOutbound(bytes: Int, now: ContinuousClock.Instant) -> NetworkImpairment.Decision {
        outbound.decide(bytes: bytes, now: now)
    }

    mutating func decideInbound(bytes: Int, now: ContinuousClock.Instant) -> NetworkImpairment.Decision {
        inbound.decide(bytes: bytes, now: now)
    }
}

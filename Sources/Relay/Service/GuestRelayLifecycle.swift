/// GuestRelay's life as a value: which state it is in since when, and what to do next when
/// something happens to the SFU leg (the subscriber session and its peer connection) or to the
/// guest's publish. Sans-IO: inputs carry the time, outputs are actions the driver performs
/// (GuestRelay's supervision task). No clock, socket or task in here.
///
/// ```
/// publishing → subscribing → connecting → relaying
///                   ↑              │          │  leg ended (consent lost, close_notify, RTCP BYE,
///                   │              ↓          ↓  ICE/DTLS failure, media stalled, setup error)
///                   └──── reconnecting ←──────┘  → ask Calls whether the guest still publishes:
///                          (backoff)              active → resubscribe, gone/inactive → close
/// any state → closing → closed   (DELETE, replacement, relayd stopping, publisher gone)
/// ```
///
/// Why ask Calls before reconnecting: a BYE or close_notify from the SFU says our subscriber leg
/// ended, not that the guest left (Calls also ends legs when it moves or restarts a session).
/// The publisher session's track status is what says whether the guest is still there.
///
/// How a departed guest is noticed while relaying: `GET /sessions/{publisher}` every
/// `pollInterval` (5 s: one cheap GET, far under Calls' per-session rate limit, and it catches a
/// publisher whose tracks went inactive while the SFU keeps the leg alive), plus an immediate
/// check when no RTP arrived for `mediaSilence` (so a guest who vanished is noticed within
/// seconds without polling faster). Media silence alone does not end anything: a guest may mute.
/// Only when the leg stays silent for `stallTimeout` while Calls says the guest publishes is the
/// leg considered broken and rebuilt.
struct GuestRelayLifecycle: Sendable {
    enum State: String, Sendable, Equatable, CaseIterable {
        case publishing, subscribing, connecting, relaying, reconnecting, closing, closed
    }

    /// Why the SFU leg ended.
    enum LegEnd: Sendable, Equatable {
        case consentLost
        case closeNotify
        case bye
        /// ICE, DTLS or SRTP failed (the reason in words).
        case connectionFailed(String)
        /// Subscribing, answering or starting the connection failed (the reason in words).
        case setupFailed(String)
        /// No media for this long while Calls says the guest publishes.
        case mediaStalled(Duration)

        var text: String {
            switch self {
            case .consentLost: "the SFU stopped answering ICE consent checks (network path lost or the SFU dropped the session)"
            case .closeNotify: "the SFU closed the media connection (DTLS close_notify)"
            case .bye: "the SFU sent RTCP BYE (the track ended)"
            case .connectionFailed(let reason): "the media connection to the SFU failed: \(reason)"
            case .setupFailed(let reason): reason
            case .mediaStalled(let duration): "no media from the SFU for \(GuestRelayLifecycle.seconds(duration)) s although the guest still publishes"
            }
        }
    }

    /// What `GET /sessions/{publisher}` said about the guest's tracks.
    enum PublisherCheck: Sendable, Equatable {
        case active
        case inactive
        /// The session is closed or unknown (404/410): the guest left.
        case gone(String)
        /// Calls could not be asked (network, 5xx, auth): no conclusion.
        case unknown(String)
    }

    enum Action: Sendable, Equatable {
        /// `GET /sessions/{publisher}` and feed the answer to `publisherChecked`.
        case checkPublisher
        /// Close the subscriber tracks, the peer connection, the UDP socket and the RTMP publish.
        case endLeg
        /// Open a new leg after waiting this long.
        case subscribe(after: Duration)
        /// The relay is over: end the leg, free everything, forget the guest.
        case close(String)
    }

    struct Tuning: Sendable, Equatable {
        var pollInterval: Duration = .seconds(5)
        var mediaSilence: Duration = .seconds(5)
        var stallTimeout: Duration = .seconds(15)
        /// Consecutive "inactive" answers before the guest counts as gone (a single one may be a
        /// publisher renegotiating).
        var inactiveChecksBeforeClose = 2
        var backoffInitial: Duration = .milliseconds(500)
        var backoffMax: Duration = .seconds(10)
        /// Override the ICE consent timeout (RFC 7675's 30 s) and check interval (5 s) of the SFU
        /// leg; tests shorten them (the interval must stay well under the timeout).
        var consentTimeout: Duration?
        var consentInterval: Duration?
        /// How often the supervision task wakes to run `tick`.
        var tickInterval: Duration = .milliseconds(500)

        init() {}
    }

    let tuning: Tuning
    private(set) var state: State = .publishing
    private(set) var since: ContinuousClock.Instant
    /// Legs opened after the first one.
    private(set) var reconnects = 0
    /// The last thing that went wrong, in words; cleared when the relay is relaying again.
    private(set) var lastError: String?
    private(set) var closeReason: String?
    private var backoff: Duration
    private var legs = 0
    private var inactiveChecks = 0
    private var nextPoll: ContinuousClock.Instant?
    private var silenceChecked = false
    private var checkInFlight = false

    init(now: ContinuousClock.Instant, tuning: Tuning = Tuning()) {
        self.tuning = tuning
        since = now
        backoff = tuning.backoffInitial
    }

    var isOver: Bool { state == .closing || state == .closed }

    /// The next leg's wait: grows while legs keep failing, reset once media flows.
    var currentBackoff: Duration { backoff }

    // MARK: Inputs

    /// A leg is being opened (subscriber session, tracks/new).
    mutating func subscribing(now: ContinuousClock.Instant) {
        guard !isOver else { return }
        legs += 1
        if legs > 1 { reconnects += 1 }
        enter(.subscribing, now: now)
    }

    /// The SFU's offer is answered; ICE/DTLS run.
    mutating func connecting(now: ContinuousClock.Instant) {
        guard state == .subscribing else { return }
        enter(.connecting, now: now)
    }

    /// ICE, DTLS and SRTP are up: media can flow.
    mutating func mediaConnected(now: ContinuousClock.Instant) {
        guard state == .connecting else { return }
        enter(.relaying, now: now)
        backoff = tuning.backoffInitial
        inactiveChecks = 0
        lastError = nil
        nextPoll = now + tuning.pollInterval
        silenceChecked = false
    }

    /// Runs every `tickInterval`. `lastMedia` is when the last RTP arrived on this leg (nil: none yet).
    mutating func tick(now: ContinuousClock.Instant, lastMedia: ContinuousClock.Instant?) -> [Action] {
        guard state == .relaying, !checkInFlight else { return [] }
        let quietSince = lastMedia ?? since
        let quiet = now - quietSince
        if quiet >= tuning.stallTimeout {
            return legEnded(.mediaStalled(quiet), now: now)
        }
        if quiet >= tuning.mediaSilence, !silenceChecked {
            silenceChecked = true
            checkInFlight = true
            return [.checkPublisher]
        }
        if quiet < tuning.mediaSilence { silenceChecked = false }
        if let nextPoll, now >= nextPoll {
            checkInFlight = true
            return [.checkPublisher]
        }
        return []
    }

    /// The leg ended (for any reason but our own closing).
    mutating func legEnded(_ end: LegEnd, now: ContinuousClock.Instant) -> [Action] {
        guard !isOver, state != .reconnecting else { return [] }
        lastError = end.text
        enter(.reconnecting, now: now)
        checkInFlight = true
        return [.endLeg, .checkPublisher]
    }

    mutating func publisherChecked(_ check: PublisherCheck, now: ContinuousClock.Instant) -> [Action] {
        checkInFlight = false
        guard !isOver else { return [] }
        nextPoll = now + tuning.pollInterval
        switch check {
        case .active:
            inactiveChecks = 0
            return state == .reconnecting ? [nextLeg()] : []
        case .inactive:
            inactiveChecks += 1
            if inactiveChecks >= tuning.inactiveChecksBeforeClose {
                return close("the guest's tracks at Calls are inactive (the browser stopped sending or left)", now: now)
            }
            return state == .reconnecting ? [nextLeg()] : []
        case .gone(let reason):
            return close("the guest's Calls session ended (\(reason))", now: now)
        case .unknown(let reason):
            if state == .reconnecting {
                lastError = (lastError.map { $0 + "; " } ?? "") + "and Calls could not be asked whether the guest still publishes: \(reason)"
                return [nextLeg()]
            }
            return []
        }
    }

    /// DELETE, replacement by a new session of the same guest, relayd stopping.
    mutating func stop(reason: String, now: ContinuousClock.Instant) {
        guard !isOver else { return }
        closeReason = reason
        enter(.closing, now: now)
    }

    /// Everything is freed.
    mutating func finished(now: ContinuousClock.Instant) {
        guard state != .closed else { return }
        enter(.closed, now: now)
    }

    /// Records a failure that does not end the leg (e.g. the RTMP side), for the status.
    mutating func noteError(_ text: String?) { lastError = text }

    // MARK: Helpers

    private mutating func nextLeg() -> Action {
        let wait = backoff
        backoff = min(backoff * 2, tuning.backoffMax)
        return .subscribe(after: wait)
    }

    private mutating func close(_ reason: String, now: ContinuousClock.Instant) -> [Action] {
        closeReason = reason
        enter(.closing, now: now)
        return [.close(reason)]
    }

    private mutating func enter(_ next: State, now: ContinuousClock.Instant) {
        if next != state { since = now }
        state = next
    }

    static func seconds(_ duration: Duration) -> String {
        let (whole, atto) = duration.components
        let tenths = atto / 100_000_000_000_000_000
        return tenths == 0 ? "\(whole)" : "\(whole).\(tenths)"
    }
}

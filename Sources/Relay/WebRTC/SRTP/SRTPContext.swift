import CSRTP

/// srtp_init must run once per process before any session is made. A global `let` is
/// initialised lazily and exactly once (swift_once), from whichever thread gets there first.
private let srtpLibraryInitStatus: Int32 = Int32(truncatingIfNeeded: srtp_init().rawValue)

/// What became of one packet.
public enum SRTPOutcome: Sendable, Equatable {
    case ok
    /// A packet already seen or older than the replay window (srtp replay_fail / replay_old):
    /// normal under retransmission and duplication. Drop it silently.
    case replay
    /// The authentication tag did not verify: an attack, a key mismatch or a bug. Drop and count.
    case authFailure
    case failed(SRTPError)
}

/// Counts per context, for status pages and tests.
public struct SRTPCounters: Sendable, Equatable {
    public var rtpPackets = 0
    public var rtcpPackets = 0
    public var replays = 0
    public var authFailures = 0
    public var otherFailures = 0

    public init() {}
}

/// One libsrtp session (`srtp_t`) for one direction of one DTLS-SRTP association: an inbound
/// context unprotects everything the peer sends (any SSRC), an outbound one protects everything
/// this side sends. Work happens in place in the caller's buffer; nothing is allocated per
/// packet. Not thread-safe (neither is srtp_t): one owner uses it.
public final class SRTPContext {
    public enum Direction: Sendable, Equatable {
        case inbound
        case outbound
    }

    /// Spare capacity protect needs after the packet: libsrtp may write up to
    /// SRTP_MAX_TRAILER_LEN (16-byte tag + 128-byte MKI) past it; SRTCP's 4-byte index fits in
    /// that since relayd uses no MKI.
    public static let protectOverhead = 144
    /// The replay window, in packets.
    public static let replayWindowSize = 1024

    public let profile: SRTPProfile
    public let direction: Direction
    public private(set) var counters = SRTPCounters()

    private let session: srtp_t

    /// - Parameter key: for `.inbound`, the remote side's key (SessionKeys.remote); for
    ///   `.outbound`, this side's (SessionKeys.local).
    public init(key: SRTPMasterKey, direction: Direction) throws(SRTPError) {
        guard srtpLibraryInitStatus == 0 else {
            throw SRTPError(operation: "initialise libsrtp", reason: .libraryInit(status: srtpLibraryInitStatus))
        }
        var policy = srtp_policy_t()
        switch key.profile {
        case .aes128CmSha1_80:
            srtp_crypto_policy_set_rtp_default(&policy.rtp)
            srtp_crypto_policy_set_rtcp_default(&policy.rtcp)
        case .aeadAes128Gcm:
            srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp)
            srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp)
        }
        policy.ssrc.type = direction == .inbound ? ssrc_any_inbound : ssrc_any_outbound
        policy.ssrc.value = 0
        policy.window_size = UInt(Self.replayWindowSize)
        // Outbound RTX resends packets with the sequence number they had the first time.
        policy.allow_repeat_tx = direction == .outbound ? 1 : 0
        policy.next = nil

        // libsrtp derives its session keys in srtp_create and keeps no pointer to this buffer.
        var keyAndSalt = key.keyAndSalt
        var created: srtp_t?
        let status = keyAndSalt.withUnsafeMutableBufferPointer { buffer in
            policy.key = buffer.baseAddress
            return srtp_create(&created, &policy)
        }
        guard status == srtp_err_status_ok, let created else {
            throw SRTPError(
                operation: "create an \(direction) SRTP session (\(key.profile.opensslName))",
                reason: .library(status: Int32(truncatingIfNeeded: status.rawValue)))
        }
        self.session = created
        self.profile = key.profile
        self.direction = direction
    }

    deinit {
        srtp_dealloc(session)
    }

    // MARK: Arrays: the packet is replaced in place by its (un)protected form.

    /// Protects `packet` in place. Reserve `count + SRTPContext.protectOverhead` capacity first
    /// to avoid a reallocation.
    public func protectRTP(_ packet: inout [UInt8]) -> SRTPOutcome { protectArray(&packet, .protectRTP) }

    public func protectRTCP(_ packet: inout [UInt8]) -> SRTPOutcome { protectArray(&packet, .protectRTCP) }

    /// Unprotects `packet` in place; on `.ok` it is shortened to the plain RTP packet, otherwise
    /// it is left in an unspecified state (drop it).
    public func unprotectRTP(_ packet: inout [UInt8]) -> SRTPOutcome { unprotectArray(&packet, .unprotectRTP) }

    public func unprotectRTCP(_ packet: inout [UInt8]) -> SRTPOutcome { unprotectArray(&packet, .unprotectRTCP) }

    // MARK: Buffers: for a driver that receives into one preallocated buffer.

    /// The packet is `buffer[0..<length]`; on `.ok` `length` is the new length. For protect,
    /// `buffer.count` must be at least `length + protectOverhead`.
    public func protectRTP(_ buffer: UnsafeMutableRawBufferPointer, length: inout Int) -> SRTPOutcome {
        run(.protectRTP, buffer, &length)
    }

    public func protectRTCP(_ buffer: UnsafeMutableRawBufferPointer, length: inout Int) -> SRTPOutcome {
        run(.protectRTCP, buffer, &length)
    }

    public func unprotectRTP(_ buffer: UnsafeMutableRawBufferPointer, length: inout Int) -> SRTPOutcome {
        run(.unprotectRTP, buffer, &length)
    }

    public func unprotectRTCP(_ buffer: UnsafeMutableRawBufferPointer, length: inout Int) -> SRTPOutcome {
        run(.unprotectRTCP, buffer, &length)
    }

    // MARK: The one place libsrtp is called.

    private enum Operation: CustomStringConvertible {
        case protectRTP, protectRTCP, unprotectRTP, unprotectRTCP

        var isProtect: Bool { self == .protectRTP || self == .protectRTCP }
        var isRTCP: Bool { self == .protectRTCP || self == .unprotectRTCP }
        /// Below this libsrtp has nothing to work on (fixed RTP header / RTCP header + SSRC).
        var minimumLength: Int { isRTCP ? 8 : 12 }

        var description: String {
            switch self {
            case .protectRTP: return "SRTP protect"
            case .protectRTCP: return "SRTCP protect"
            case .unprotectRTP: return "SRTP unprotect"
            case .unprotectRTCP: return "SRTCP unprotect"
            }
        }
    }

    private func protectArray(_ packet: inout [UInt8], _ operation: Operation) -> SRTPOutcome {
        let original = packet.count
        // Grow into the reserved capacity (no allocation when the caller reserved it), run,
        // then trim back to the protected length; removeLast keeps the capacity.
        packet.append(contentsOf: repeatElement(0, count: Self.protectOverhead))
        var length = original
        let outcome = packet.withUnsafeMutableBytes { run(operation, $0, &length) }
        packet.removeLast(packet.count - (outcome == .ok ? length : original))
        return outcome
    }

    private func unprotectArray(_ packet: inout [UInt8], _ operation: Operation) -> SRTPOutcome {
        var length = packet.count
        let outcome = packet.withUnsafeMutableBytes { run(operation, $0, &length) }
        if outcome == .ok { packet.removeLast(packet.count - length) }
        return outcome
    }

    private func run(_ operation: Operation, _ buffer: UnsafeMutableRawBufferPointer, _ length: inout Int) -> SRTPOutcome {
        guard operation.isProtect == (direction == .outbound) else {
            return fail(operation, .wrongDirection)
        }
        let needed = operation.isProtect ? length + Self.protectOverhead : length
        guard length >= 0, needed <= buffer.count, let base = buffer.baseAddress, length <= Int(Int32.max) - Self.protectOverhead else {
            return fail(operation, .bufferTooSmall(needed: needed, capacity: buffer.count))
        }
        guard length >= operation.minimumLength else {
            return fail(operation, .packetTooShort(length: length))
        }
        var cLength = Int32(length)
        let status: srtp_err_status_t
        switch operation {
        case .protectRTP: status = srtp_protect(session, base, &cLength)
        case .protectRTCP: status = srtp_protect_rtcp(session, base, &cLength)
        case .unprotectRTP: status = srtp_unprotect(session, base, &cLength)
        case .unprotectRTCP: status = srtp_unprotect_rtcp(session, base, &cLength)
        }
        switch status {
        case srtp_err_status_ok:
            length = Int(cLength)
            if operation.isRTCP { counters.rtcpPackets += 1 } else { counters.rtpPackets += 1 }
            return .ok
        case srtp_err_status_replay_fail, srtp_err_status_replay_old:
            counters.replays += 1
            return .replay
        case srtp_err_status_auth_fail:
            counters.authFailures += 1
            return .authFailure
        default:
            return fail(operation, .library(status: Int32(truncatingIfNeeded: status.rawValue)))
        }
    }

    private func fail(_ operation: Operation, _ reason: SRTPError.Reason) -> SRTPOutcome {
        counters.otherFailures += 1
        return .failed(SRTPError(operation: operation.description, reason: reason))
    }
}

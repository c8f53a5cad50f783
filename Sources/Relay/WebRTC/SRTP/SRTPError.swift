/// An SRTP failure that is not a plain replay or authentication failure, with what to check.
public struct SRTPError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Reason: Sendable, Equatable {
        /// libsrtp returned this srtp_err_status_t.
        case library(status: Int32)
        /// srtp_init failed: the library cannot be used in this process.
        case libraryInit(status: Int32)
        case bufferTooSmall(needed: Int, capacity: Int)
        /// protect on an inbound context or unprotect on an outbound one.
        case wrongDirection
        case keyLength(expected: Int, got: Int)
        case keyingMaterialLength(expected: Int, got: Int)
        case packetTooShort(length: Int)
    }

    public let operation: String
    public let reason: Reason

    public init(operation: String, reason: Reason) {
        self.operation = operation
        self.reason = reason
    }

    public var description: String {
        switch reason {
        case .library(let status):
            return "\(operation) failed: libsrtp status \(status) (\(Self.statusName(status)))"
        case .libraryInit(let status):
            return "\(operation) failed: srtp_init returned \(status) (\(Self.statusName(status))); is libsrtp2 installed correctly?"
        case .bufferTooSmall(let needed, let capacity):
            return "\(operation) failed: the buffer holds \(capacity) bytes, \(needed) are needed (reserve room for the SRTP trailer)"
        case .wrongDirection:
            return "\(operation) failed: wrong context direction (inbound contexts unprotect, outbound contexts protect)"
        case .keyLength(let expected, let got):
            return "\(operation) failed: key+salt is \(got) bytes, the profile needs \(expected)"
        case .keyingMaterialLength(let expected, let got):
            return "\(operation) failed: \(got) bytes of keying material, the profile needs \(expected) (check the exporter length)"
        case .packetTooShort(let length):
            return "\(operation) failed: a \(length)-byte packet is too short"
        }
    }

    static func statusName(_ status: Int32) -> String {
        switch status {
        case 1: return "fail"
        case 2: return "bad_param"
        case 3: return "alloc_fail"
        case 5: return "init_fail"
        case 7: return "auth_fail"
        case 8: return "cipher_fail"
        case 9: return "replay_fail"
        case 10: return "replay_old"
        case 11: return "algo_fail"
        case 13: return "no_ctx"
        case 15: return "key_expired"
        case 21: return "parse_err"
        case 25: return "bad_mki"
        default: return "code \(status)"
        }
    }
}

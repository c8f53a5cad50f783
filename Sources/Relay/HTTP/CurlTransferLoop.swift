import CCurl
import CRelayShim
import Foundation
import Synchronization

/// One thread driving one curl multi handle: takes submissions from any thread, runs them,
/// resumes each caller's continuation exactly once. The multi handle and every easy handle are
/// only ever used on that thread, except `curl_multi_wakeup`, which libcurl documents as safe
/// from any thread and which is only called under the inbox lock while the handle is alive.
final class CurlTransferLoop: Sendable {
    private struct Inbox {
        var submissions: [CurlSubmission] = []
        var shuttingDown = false
        /// Set by the loop thread once the multi handle exists, cleared before it is freed.
        var multi: WakeTarget?
    }

    /// The multi handle as other threads may use it: only for `curl_multi_wakeup`, only under
    /// the inbox lock, and only while `Inbox.multi` holds it (the loop clears it before freeing).
    private struct WakeTarget: @unchecked Sendable {
        let multi: UnsafeMutableRawPointer
        func wake() { curl_multi_wakeup(multi) }
    }

    private let inbox = Mutex(Inbox())
    private let configuration: CurlHTTPClientConfiguration

    init(configuration: CurlHTTPClientConfiguration) throws {
        self.configuration = configuration
        let started = Thread { [self] in run() }
        started.name = "relay.curl"
        started.start()
    }

    func submit(_ submission: CurlSubmission) {
        let refused = inbox.withLock { inbox -> CurlSubmission? in
            if inbox.shuttingDown { return submission }
            inbox.submissions.append(submission)
            inbox.multi?.wake()
            return nil
        }
        refused?.continuation.resume(throwing: HTTPClientError(kind: .transport, detail: "HTTP client was shut down"))
    }

    func wake() {
        inbox.withLock { inbox in
            inbox.multi?.wake()
        }
    }

    func shutdown() {
        inbox.withLock { inbox in
            inbox.shuttingDown = true
            inbox.multi?.wake()
        }
    }

    // MARK: The loop thread

    private struct Active {
        let transfer: CurlTransfer
        let cancel: CurlCancelFlag
        let continuation: CheckedContinuation<HTTPResponse, any Error>
    }

    private func run() {
        guard let multi = curl_multi_init() else {
            failForever(HTTPClientError(kind: .transport, detail: "curl_multi_init failed (out of memory?)"))
            return
        }
        let target = WakeTarget(multi: multi)
        inbox.withLock { $0.multi = target }
        var active: [UnsafeMutableRawPointer: Active] = [:]

        while true {
            let (submissions, shuttingDown) = inbox.withLock { inbox in
                defer { inbox.submissions = [] }
                return (inbox.submissions, inbox.shuttingDown)
            }
            for submission in submissions {
                if submission.cancel.isRaised {
                    submission.continuation.resume(throwing: CancellationError())
                    continue
                }
                do {
                    let transfer = try CurlTransfer(request: submission.request, configuration: configuration,
                                                    cancel: submission.cancel)
                    guard curl_multi_add_handle(multi, transfer.easy) == CURLM_OK else {
                        throw HTTPClientError(kind: .transport, detail: "curl_multi_add_handle failed for \(transfer.summary)")
                    }
                    active[transfer.easy] = Active(transfer: transfer, cancel: submission.cancel,
                                                   continuation: submission.continuation)
                } catch {
                    submission.continuation.resume(throwing: error)
                }
            }
            for (easy, entry) in active where entry.cancel.isRaised || shuttingDown {
                curl_multi_remove_handle(multi, easy)
                active[easy] = nil
                entry.continuation.resume(throwing: shuttingDown && !entry.cancel.isRaised
                    ? HTTPClientError(kind: .transport, detail: "HTTP client was shut down during \(entry.transfer.summary)")
                    : CancellationError())
            }
            if shuttingDown { break }

            var running: Int32 = 0
            curl_multi_perform(multi, &running)
            var easy: UnsafeMutableRawPointer?
            var code = CURLE_OK
            while relay_curl_multi_next_done(multi, &easy, &code) == 1 {
                guard let done = easy, let entry = active.removeValue(forKey: done) else { continue }
                curl_multi_remove_handle(multi, done)
                entry.continuation.resume(with: entry.transfer.outcome(code))
            }
            // Sleeps until a socket is ready, curl's own next timer, or curl_multi_wakeup.
            curl_multi_poll(multi, nil, 0, active.isEmpty ? 60_000 : 1_000, nil)
        }

        inbox.withLock { $0.multi = nil }
        active.removeAll()
        curl_multi_cleanup(multi)
        failForever(HTTPClientError(kind: .transport, detail: "HTTP client was shut down"))
    }

    /// After the loop ends: anything queued meanwhile (and later, see `submit`) fails.
    private func failForever(_ error: HTTPClientError) {
        let left = inbox.withLock { inbox -> [CurlSubmission] in
            inbox.shuttingDown = true
            defer { inbox.submissions = [] }
            return inbox.submissions
        }
        for submission in left { submission.continuation.resume(throwing: error) }
    }
}

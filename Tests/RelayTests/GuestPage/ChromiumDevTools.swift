import Foundation

/// Headless Chromium driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`:
/// the browser reads NUL-terminated JSON commands on fd 3 and writes replies on fd 4), so a
/// test can click the page's buttons and read `window.relaydGuest` without a WebSocket client
/// or any other dependency. Started in its own session (pid = process group); `terminate`
/// kills the group, reaps it and removes the temporary profile.
final class ChromiumDevTools: @unchecked Sendable {
    // @unchecked: `lock` guards `pending`, `nextId` and `closed`; the fds and pid are immutable.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let pid: pid_t
    private let profile: URL
    private let commands: Int32
    private let replies: Int32
    private let lock = NSLock()
    private var pending: [Int: CheckedContinuation<Data, any Error>] = [:]
    private var nextId = 1
    private var closed = false
    private var sessionId: String?

    init(url: String, binary: String) throws {
        profile = FileManager.default.temporaryDirectory.appendingPathComponent("relayd-guestpage-chromium-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: profile, withIntermediateDirectories: true)
        var toBrowser: [Int32] = [0, 0], fromBrowser: [Int32] = [0, 0]
        guard pipe(&toBrowser) == 0, pipe(&fromBrowser) == 0 else {
            throw Failure(description: "pipe failed: errno \(errno)")
        }
        // Close-on-exec everywhere: only the dup2'd copies (3 and 4) reach the browser.
        for fd in toBrowser + fromBrowser { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        let arguments = [binary, "--headless=new", "--no-sandbox", "--remote-debugging-pipe",
                         "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                         "--allow-loopback-in-peer-connection", "--no-first-run", "--no-default-browser-check",
                         "--disable-gpu", "--user-data-dir=\(profile.path)", url]
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, 0x80)  // POSIX_SPAWN_SETSID (glibc)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        // dup2 clears close-on-exec on the copies: the browser keeps exactly fds 3 and 4.
        posix_spawn_file_actions_adddup2(&actions, toBrowser[0], 3)
        posix_spawn_file_actions_adddup2(&actions, fromBrowser[1], 4)
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var child: pid_t = 0
        let status = posix_spawn(&child, binary, &actions, &attributes, &argv, environ)
        close(toBrowser[0])
        close(fromBrowser[1])
        guard status == 0 else {
            close(toBrowser[1])
            close(fromBrowser[0])
            try? FileManager.default.removeItem(at: profile)
            throw Failure(description: "cannot start \(binary) (posix_spawn: \(status))")
        }
        pid = child
        commands = toBrowser[1]
        replies = fromBrowser[0]
        let thread = Thread { [self] in readReplies() }
        thread.name = "chromium-devtools"
        thread.start()
    }

    /// Attaches to the page the browser opened (waits for it to exist).
    func attachToPage(timeout: Duration = .seconds(10)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let reply = try await send("Target.getTargets", [:])
            let infos = ((reply["result"] as? [String: Any])?["targetInfos"] as? [[String: Any]]) ?? []
            if let page = infos.first(where: { $0["type"] as? String == "page" }), let id = page["targetId"] as? String {
                let attached = try await send("Target.attachToTarget", ["targetId": id, "flatten": true])
                guard let session = (attached["result"] as? [String: Any])?["sessionId"] as? String else {
                    throw Failure(description: "attachToTarget gave no session: \(attached)")
                }
                lock.withLock { sessionId = session }
                return
            }
            try await Task.sleep(for: .milliseconds(100))  // the page target appears shortly after launch
        }
        throw Failure(description: "Chromium opened no page within \(timeout)")
    }

    /// Waits until the page's script has defined `global` (the page may still be navigating
    /// from about:blank when the browser is attached: evaluations then fail and are retried).
    func waitForGlobal(_ global: String, timeout: Duration = .seconds(10)) async throws {
        let deadline = ContinuousClock.now + timeout
        var lastError: (any Error)?
        while ContinuousClock.now < deadline {
            do {
                if try await evaluate("typeof window.\(global) !== 'undefined'") as? Bool == true { return }
            } catch {
                lastError = error
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw Failure(description: "window.\(global) never appeared within \(timeout) (last error: \(String(describing: lastError)))")
    }

    /// Evaluates JavaScript in the page (awaiting a returned promise) and returns its JSON value.
    func evaluate(_ expression: String, timeout: Duration = .seconds(20)) async throws -> Any? {
        let reply = try await send("Runtime.evaluate", ["expression": expression, "awaitPromise": true, "returnByValue": true],
                                   session: lock.withLock { sessionId }, timeout: timeout)
        guard let result = reply["result"] as? [String: Any] else { throw Failure(description: "evaluate failed: \(reply)") }
        if let exception = result["exceptionDetails"] as? [String: Any] {
            throw Failure(description: "the page threw: \(exception)")
        }
        return (result["result"] as? [String: Any])?["value"]
    }

    /// Sends one command to the attached page's session (Network.*, Page.*).
    func sendToPage(_ method: String, _ params: [String: Any]) async throws -> [String: Any] {
        try await send(method, params, session: lock.withLock { sessionId })
    }

    /// Sends one command and awaits its reply (the whole JSON object).
    func send(_ method: String, _ params: [String: Any], session: String? = nil,
              timeout: Duration = .seconds(10)) async throws -> [String: Any] {
        let id = lock.withLock { () -> Int in
            defer { nextId += 1 }
            return nextId
        }
        var message: [String: Any] = ["id": id, "method": method, "params": params]
        if let session { message["sessionId"] = session }
        var bytes = try JSONSerialization.data(withJSONObject: message)
        bytes.append(0)
        let timer = Task { [self] in
            try? await Task.sleep(for: timeout)
            fail(id, Failure(description: "no reply to \(method) within \(timeout)"))
        }
        defer { timer.cancel() }
        let data: Data = try await withCheckedThrowingContinuation { continuation in
            let accepted = lock.withLock { () -> Bool in
                guard !closed else { return false }
                pending[id] = continuation
                return true
            }
            guard accepted else {
                continuation.resume(throwing: Failure(description: "the browser is gone"))
                return
            }
            let written = bytes.withUnsafeBytes { buffer in write(commands, buffer.baseAddress, buffer.count) }
            if written != bytes.count { fail(id, Failure(description: "writing to the browser failed")) }
        }
        return (try JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
    }

    private func fail(_ id: Int, _ error: any Error) {
        lock.withLock { pending.removeValue(forKey: id) }?.resume(throwing: error)
    }

    private func readReplies() {
        var buffer = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(replies, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            buffer.append(contentsOf: chunk[0..<count])
            while let end = buffer.firstIndex(of: 0) {
                let message = Data(buffer[..<end])
                buffer.removeSubrange(...end)
                guard let object = try? JSONSerialization.jsonObject(with: message) as? [String: Any],
                      let id = object["id"] as? Int else { continue }  // events: not needed here
                lock.withLock { pending.removeValue(forKey: id) }?.resume(returning: message)
            }
        }
        close(replies)
        let orphans = lock.withLock { () -> [CheckedContinuation<Data, any Error>] in
            closed = true
            defer { pending.removeAll() }
            return Array(pending.values)
        }
        for continuation in orphans { continuation.resume(throwing: Failure(description: "the browser closed its DevTools pipe")) }
    }

    func terminate() {
        kill(-pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        close(commands)  // `replies` is closed by the reader thread once the dead browser's end gives EOF
        try? FileManager.default.removeItem(at: profile)
    }
}

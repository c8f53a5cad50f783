import Foundation

/// Counts live OpenSSL-owning objects so tests can prove that dropping connections frees them.
/// Guarded by a lock: connections are created and dropped on whatever thread their driver uses.
final class DTLSLiveCounter: @unchecked Sendable {  // @unchecked: `lock` guards `count`.
    private let lock = NSLock()
    private var count = 0

    func add(_ delta: Int) {
        lock.lock()
        count += delta
        lock.unlock()
    }

    var value: Int {
        lock.lock()
        defer { lock.unlock() }
        return count
    }

    static let connections = DTLSLiveCounter()
    static let certificates = DTLSLiveCounter()
}

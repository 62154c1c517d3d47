import Foundation
import Synchronization

/// A recursive lock that knows which thread holds it, so code that may only run under it can check
/// (`isHeld`) instead of trusting its callers.
final class OwnedLock: @unchecked Sendable {
    private let lock = NSRecursiveLock()
    private let owner = Atomic<UInt>(0)   // the holder's pthread_self(), 0 when free
    private var depth = 0                 // guarded by `lock`

    /// Runs `body` holding the lock; a thread that already holds it re-enters.
    func withLock<R>(_ body: () throws -> R) rethrows -> R {
        lock.lock()
        if depth == 0 { owner.store(UInt(pthread_self()), ordering: .relaxed) }
        depth += 1
        defer {
            depth -= 1
            if depth == 0 { owner.store(0, ordering: .relaxed) }
            lock.unlock()
        }
        return try body()
    }

    /// Whether the calling thread holds the lock.
    var isHeld: Bool { owner.load(ordering: .relaxed) == UInt(pthread_self()) }
}

import Foundation
import Synchronization

/// Enforces that an object is used by one thread at a time: a second thread entering while a first
/// is inside gets an error at once instead of racing on the object's buffers. The thread inside may
/// re-enter (a method calling another).
final class SingleUser: @unchecked Sendable {
    private let owner = Atomic<UInt>(0)   // the user's pthread_self(), 0 when free
    private let what: String

    init(_ what: String) { self.what = what }

    func run<R>(_ body: () throws -> R) throws -> R {
        let me = UInt(pthread_self())
        if owner.load(ordering: .acquiring) == me { return try body() }
        guard owner.compareExchange(expected: 0, desired: me, ordering: .acquiring).exchanged else {
            throw ModelError.config("\(what) is in use on another thread: use one per thread (a Device may be shared)")
        }
        defer { owner.store(0, ordering: .releasing) }
        return try body()
    }
}

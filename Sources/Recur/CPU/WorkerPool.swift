import Foundation
import Synchronization

/// The CPU device's worker threads: one process-wide pool whose workers, after a job, watch for the
/// next one for a while before they sleep. A recurrent step is a few small parallel loops back to back;
/// with `DispatchQueue.concurrentPerform` each loop woke a sleeping thread (a futex wake and a context
/// switch, ~6% of a 2-thread small-LSTM profile in the kernel's scheduler). A job is a number of
/// pieces that the threads claim one at a time, so that a thread slowed by other load on its core
/// does less of the job instead of holding everyone up. Pieces are the caller's ranges, computed
/// alike whoever runs them, so the pool changes no bits.
final class WorkerPool: @unchecked Sendable {
    static let shared = WorkerPool(workers: max(1, ProcessInfo.processInfo.activeProcessorCount - 1))

    let workers: Int
    private let epoch = Atomic<Int>(0)        // bumped to publish a job
    private let remaining = Atomic<Int>(0)    // workers not yet done with the current job
    private let owned = Atomic<Bool>(false)   // one caller at a time; others use the fallback
    private let next = Atomic<Int>(0)         // the next unclaimed piece of the current job
    private let sleepers = NSCondition()
    private var sleeping = 0                  // guarded by `sleepers`
    private var parts = 0                     // written before the epoch bump, read after it
    private var pieces = 0
    private var body: ((Int, Int) -> Void)?

    /// Polls of the epoch before a worker sleeps (some tens of microseconds).
    static let spins = 20_000

    init(workers: Int) {
        self.workers = workers
        for index in 1...workers {
            let t = Thread { [unowned self] in self.work(index) }
            t.name = "recur-cpu-\(index)"
            t.start()
        }
    }

    /// Runs `body(thread, piece)` for every piece in 0 ..< pieces on `parts` threads (thread 0 is the
    /// caller), each claiming the next piece until none is left; false (nothing run) when the pool is
    /// busy with another caller or has fewer than `parts - 1` workers.
    func run(parts: Int, pieces: Int, _ body: (Int, Int) -> Void) -> Bool {
        guard parts - 1 <= workers, owned.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return false }
        withoutActuallyEscaping(body) { body in
            self.body = body
            self.parts = parts
            self.pieces = pieces
            next.store(0, ordering: .relaxed)
            remaining.store(workers, ordering: .relaxed)
            epoch.add(1, ordering: .releasing)
            sleepers.lock()
            if sleeping > 0 { sleepers.broadcast() }
            sleepers.unlock()
            claim(0, body)
            var polls = 0
            while remaining.load(ordering: .acquiring) > 0 {
                polls += 1
                if polls >= Self.spins { sched_yield() }   // a worker without a core (more threads than cores)
            }
            self.body = nil
        }
        owned.store(false, ordering: .releasing)
        return true
    }

    private func work(_ index: Int) {
        var seen = 0
        while true {
            var polls = 0
            while epoch.load(ordering: .acquiring) == seen {
                polls += 1
                if polls < Self.spins { continue }
                sleepers.lock()
                sleeping += 1
                while epoch.load(ordering: .acquiring) == seen { sleepers.wait() }
                sleeping -= 1
                sleepers.unlock()
            }
            seen = epoch.load(ordering: .acquiring)
            if index < parts { runPieces(index) }
            remaining.subtract(1, ordering: .releasing)
        }
    }

    /// The current job's pieces on worker `index`; its copy of the body is released on return, before
    /// the worker reports done (the caller's `withoutActuallyEscaping` checks that none is left).
    @inline(never)
    private func runPieces(_ index: Int) {
        guard let body else { return }
        claim(index, body)
    }

    /// Runs pieces of the current job on thread `index` until none is left (one piece per thread:
    /// its own, without touching the shared counter).
    private func claim(_ index: Int, _ body: (Int, Int) -> Void) {
        if pieces == parts { body(index, index); return }
        while true {
            let piece = next.wrappingAdd(1, ordering: .relaxed).oldValue
            if piece >= pieces { return }
            body(index, piece)
        }
    }
}

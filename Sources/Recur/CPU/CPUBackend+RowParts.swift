import Foundation

/// The part of a `rowParts` job the current thread runs: its thread index there, nil outside one.
/// A part's ops run serially on its thread and use that thread's pack buffers (see `multiply`).
enum RowPartThread {
    static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    static var index: Int? {
        guard let p = pthread_getspecific(key) else { return nil }
        return Int(bitPattern: p) - 1
    }

    static func set(_ index: Int?) { pthread_setspecific(key, index.flatMap { UnsafeRawPointer(bitPattern: $0 + 1) }) }
}

extension CPUBackend {
    /// Rows a part gets at least.
    static let partRows = 8
    /// Recurrent weights (floats) up to which the rows are split: each part reads all of W_hh every
    /// step (4 MB for an LSTM of 512, measured: big-LSTM training at 2 threads +21–24% over splitting
    /// each step's product by columns, inference even); past this, each step's ops split instead.
    static let partWeights = 1 << 21

    /// The batch rows in parts, one per thread, each part's whole sequence of steps on its thread with
    /// no synchronisation between steps: every op of a step is per row (a product row is its own fma
    /// chain, a cell is elementwise), so the split changes no bits.
    func rowParts(_ b: Int, weights: Int, _ body: (Range<Int>) throws -> Void) throws {
        let t = min(threads, b / Self.partRows)
        guard t > 1, weights <= Self.partWeights, RowPartThread.index == nil else { return try body(0..<b) }
        activity.splitRows()
        // The parts' products use every thread's pack buffers without `matmulLock`: another caller's
        // product waits for the job instead (a part never takes the lock, so this cannot deadlock).
        matmulLock.lock()
        defer { matmulLock.unlock() }
        let failure = FirstError()
        func run(_ thread: Int, _ piece: Int) {
            RowPartThread.set(thread)
            defer { RowPartThread.set(nil) }
            do { try body(Self.part(piece, of: t, b)) } catch { failure.keep(error) }
        }
        Self.spread(parts: t, pieces: t, run)
        if let error = failure.error { throw error }
    }
}

/// The first error any thread reported.
final class FirstError: @unchecked Sendable {
    private let lock = NSLock()
    private var first: (any Error)?
    var error: (any Error)? { lock.withLock { first } }
    func keep(_ e: any Error) { lock.withLock { if first == nil { first = e } } }
}

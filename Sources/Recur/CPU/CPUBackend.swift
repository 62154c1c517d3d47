import Dispatch
import Foundation

/// The pure-Swift CPU device: the reference arithmetic every other device must match bit for bit.
/// Work is split over threads by output ranges only, so every output keeps the one chain of
/// operations it has with a single thread: the thread count never changes the bits.
final class CPUBackend: DeviceBackend, @unchecked Sendable {
    let threads: Int
    let info: DeviceInfo
    let activity = ActivityCounter()
    /// Held by `matmul` while it uses the pack buffers below.
    let matmulLock = NSLock()
    var sharedPointer: UnsafeMutablePointer<Float>? = nil
    /// Held by conv1d's weight gradient while it uses its transposed copy of x.
    let convLock = NSLock()
    var convPointer: UnsafeMutablePointer<Float>? = nil
    var convCapacity = 0

    /// A grow-only buffer for conv1d (callers hold `convLock`).
    func convScratch(_ count: Int) -> UnsafeMutablePointer<Float> {
        if convCapacity < count {
            convPointer?.deallocate()
            convPointer = Self.floats(count)
            convCapacity = count
        }
        return convPointer!
    }
    /// One packed B panel (kc × 64) per worker thread, allocated once.
    let packs: UnsafeMutablePointer<Float>
    /// Per worker thread: the item whose A the worker's pack holds (`multiply`; callers hold `matmulLock`).
    let packKeys: UnsafeMutablePointer<Int>

    deinit {
        sharedPointer?.deallocate()
        convPointer?.deallocate()
        packs.deallocate()
        packKeys.deallocate()
    }

    /// Columns of the matmul register tile (`MatmulKernel.panel`).
    let tileColumns: Int

    init(threads: Int? = nil, tileColumns: Int? = nil) {
        self.tileColumns = tileColumns ?? MatmulKernel.tileColumns
        let cores = max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        self.threads = max(1, threads ?? cores)
        packs = Self.floats(self.threads * CPUBackend.packFloats)
        packKeys = .allocate(capacity: self.threads)
        let memory = UInt64(max(0, sysconf(Int32(_SC_PHYS_PAGES)))) * UInt64(max(0, sysconf(Int32(_SC_PAGESIZE))))
        info = DeviceInfo(kind: .cpu, name: "CPU (pure Swift)", vendor: CPUBackend.cpuModel(), driver: "recur",
                          version: "Swift SIMD\(CPUBackend.simdWidth)", computeUnits: cores,
                          globalMemoryBytes: memory, maxAllocationBytes: memory,
                          admitted: true, reason: "reference device", selector: "cpu",
                          simdWidth: CPUBackend.simdWidth, hardwareFMA: CPUBackend.hardwareFMA,
                          registerTile: "\(MatmulKernel.mr) x \(self.tileColumns)")
    }

    /// Lanes per vector in the CPU kernels (SIMD16<Float>).
    static let simdWidth = 16

    /// Whether this build was compiled for a CPU with FMA instructions (see Package.swift).
    static var hardwareFMA: Bool {
        #if RECUR_HARDWARE_FMA
        return true
        #else
        return false
        #endif
    }

    static func cpuModel() -> String {
        guard let text = try? readFile("/proc/cpuinfo") else { return "unknown" }
        for line in text.split(separator: "\n") where line.hasPrefix("model name") {
            return line.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters() } ?? "unknown"
        }
        return "unknown"
    }

    // MARK: Allocator

    /// Cache-line alignment of every CPU buffer and pack: a 16-float vector load at a multiple of 16
    /// floats from the start then reads one cache line, not two (malloc alone gives 16 bytes).
    static let alignment = 64

    /// `count` floats, uninitialised, at a multiple of `alignment`; freed with `deallocate()`.
    static func floats(_ count: Int) -> UnsafeMutablePointer<Float> {
        UnsafeMutableRawPointer.allocate(byteCount: max(1, count) * 4, alignment: alignment).bindMemory(to: Float.self, capacity: count)
    }

    /// Memory the system refuses (out of memory, a process limit) is an error, not a trap.
    func allocate(count: Int) throws -> Buffer {
        var raw: UnsafeMutableRawPointer? = nil
        guard posix_memalign(&raw, Self.alignment, max(1, count) * 4) == 0, let raw else {
            throw DeviceError.tooLarge("the system refused \(count * 4) bytes for a CPU buffer (out of memory, or beyond the process's limits)")
        }
        activity.allocated(bytes: count * 4)
        // freed by `Buffer` with `deallocate()`, which is free(3) for memory of any alignment here
        return Buffer(count: count, storage: .host(raw.bindMemory(to: Float.self, capacity: count)), owner: ObjectIdentifier(self))
    }

    func write(_ source: UnsafeRawBufferPointer, to: View) throws {
        UnsafeMutableRawPointer(to.floats).copyMemory(from: source.baseAddress!, byteCount: source.count)
    }

    func read(_ view: View, into: UnsafeMutableRawBufferPointer) throws {
        activity.waited()
        into.baseAddress!.copyMemory(from: view.floats, byteCount: view.count * 4)
    }

    func fill(_ view: View, bits: UInt32) throws {
        let p = UnsafeMutableRawPointer(view.floats).bindMemory(to: UInt32.self, capacity: view.count)
        p.update(repeating: bits, count: view.count)
    }

    func synchronize() throws { activity.waited() }

    // MARK: Threads

    /// Runs body over `0..<n` split into contiguous ranges when the work (n × costPerItem) is large
    /// enough to pay for more than one thread: ranges of at least 4 threads' minimum work, up to 16
    /// per thread of one item each (a product's items are few and large), else up to 8 per thread,
    /// claimed by the threads as they come free.
    /// Every item is computed alike in whichever range and thread it falls, so the split changes no bits.
    func parallel(_ n: Int, cost: Int = 1, _ body: (Range<Int>) -> Void) {
        parallelWorkers(n, cost: cost) { _, range in body(range) }
    }

    /// `parallel` that also passes the running thread's index (0 ..< threads), for per-thread scratch;
    /// one thread may get several ranges.
    func parallelWorkers(_ n: Int, cost: Int = 1, _ body: (Int, Range<Int>) -> Void) {
        if let part = RowPartThread.index { body(part, 0..<n); return }   // inside a `rowParts` part: serial
        let t = min(threads, n, max(1, n * cost / 32_768))
        if t <= 1 { body(0, 0..<n); return }
        let pieces = min(n <= 16 * t ? n : 8 * t, max(t, n * cost / 131_072))   // a claim costs a cache-line transfer
        Self.spread(parts: t, pieces: pieces) { i, piece in body(i, Self.part(piece, of: pieces, n)) }
    }

    /// `body(thread, piece)` for every piece in 0 ..< pieces on `parts` threads: the worker pool, or,
    /// when it is busy with another caller or has fewer threads, `concurrentPerform` with thread i
    /// taking every parts-th piece from i.
    static func spread(parts t: Int, pieces: Int, _ body: (Int, Int) -> Void) {
        if WorkerPool.shared.run(parts: t, pieces: pieces, body) { return }
        withoutActuallyEscaping(body) { body in
            nonisolated(unsafe) let work = body
            DispatchQueue.concurrentPerform(iterations: t) { i in
                for piece in stride(from: i, to: pieces, by: t) { work(i, piece) }
            }
        }
    }

    /// Part i of t of 0 ..< n: the ranges every thread count splits work into.
    static func part(_ i: Int, of t: Int, _ n: Int) -> Range<Int> { (n * i / t)..<(n * (i + 1) / t) }
}

extension View {
    /// Host pointer to the first element (CPU buffers only; the Device front guarantees that).
    var floats: UnsafeMutablePointer<Float> {
        guard case .host(let p) = buffer.storage else { preconditionFailure("CPU op on a non-CPU buffer") }
        return p + offset
    }
    /// The same memory read as Int32 (indices, targets, argmax).
    var ints: UnsafeMutablePointer<Int32> {
        UnsafeMutableRawPointer(floats).assumingMemoryBound(to: Int32.self)
    }
}

/// NUMERICS rule 6: a candidate replaces the best if greater, or if it is NaN and the best is not.
@inline(__always) func takesMax(_ candidate: Float, _ best: Float) -> Bool {
    candidate > best || (candidate.isNaN && !best.isNaN)
}

let recurNaN = Float(bitPattern: 0x7fc0_0000)

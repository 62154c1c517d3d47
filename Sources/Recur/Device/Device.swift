/// A compute device: the CPU or one OpenCL device, behind one API with identical arithmetic.
///
/// Every op checks its views (owner and size) before it reaches the backend, so a wrong shape is a
/// thrown `DeviceError.shape`, never an out-of-bounds access. Ops are enqueued; results are
/// guaranteed visible after `download` or `synchronize`.
///
/// Safe for concurrent use: any number of threads may run ops on one device at once, each getting
/// exactly the bits it would get alone (the CPU device locks the buffers its products share; the
/// OpenCL device enqueues each kernel, and each op that uses its scratch, as one unit). Buffers are
/// the callers': two threads writing one buffer race as they would on any memory.
public final class Device: @unchecked Sendable {
    let backend: any DeviceBackend
    /// What the device is and whether it is admitted for bit-identical work.
    public var info: DeviceInfo { backend.info }

    init(backend: any DeviceBackend) { self.backend = backend }

    /// The pure-Swift CPU device with `threads` worker threads (default: every core).
    /// `registerColumns`: columns of the matmul register tile, 16 or 64 (nil: the build's choice, 64
    /// where compiled for AVX-512, else 16). It changes speed, never bits; anything else is refused.
    public static func cpu(threads: Int? = nil, registerColumns: Int? = nil) throws -> Device {
        if let c = registerColumns, c != 16 && c != 64 { throw DeviceError.shape("register tile of \(c) columns (16 or 64)") }
        return Device(backend: CPUBackend(threads: threads, tileColumns: registerColumns))
    }

    /// The pure-Swift CPU device with `threads` worker threads (default: every core) and the build's register tile.
    public static func cpu(threads: Int? = nil) -> Device { Device(backend: CPUBackend(threads: threads)) }

    // MARK: Allocator

    /// A buffer of `count` four-byte elements, refused up front if larger than `maxBufferElements`.
    public func allocate(_ count: Int) throws -> Buffer {
        guard count > 0 else { throw DeviceError.shape("allocation of \(count) elements") }
        guard count <= maxBufferElements else {
            throw DeviceError.tooLarge("allocation of \(count) elements exceeds the \(maxBufferElements) one buffer may hold on \(info.name) (maximum allocation \(info.maxAllocationBytes) bytes, global memory \(info.globalMemoryBytes) bytes; kernels index with 32-bit integers, so never more than 2^31 - 1)")
        }
        return try backend.allocate(count: count)
    }

    /// The most four-byte elements one buffer may hold: the device's maximum allocation, and never
    /// more than 2^31 - 1 (kernels index with 32-bit integers).
    public var maxBufferElements: Int { Int(min(info.maxAllocationBytes / 4, UInt64(Int32.max))) }

    /// A buffer only training uses (a gradient, a backward buffer): `count` elements when `training`,
    /// else a one-element placeholder no op reads (models built for inference).
    func allocate(_ count: Int, training: Bool) throws -> Buffer { try allocate(training ? count : 1) }

    /// A buffer holding `values`.
    public func buffer<T: BitwiseCopyable>(_ values: [T]) throws -> Buffer {
        let b = try allocate(values.count)
        try upload(values, to: b.view)
        return b
    }

    /// Copies `values` (four-byte elements: Float, Int32, UInt32) into `view`; their count must equal the view's.
    public func upload<T: BitwiseCopyable>(_ values: [T], to view: View) throws {
        try fourBytes(T.self)
        try check(view, values.count, "upload destination")
        try values.withUnsafeBytes { try backend.write($0, to: view.slice(0, values.count)) }
    }

    /// The contents of `view` as four-byte elements; waits for queued work.
    public func download<T: BitwiseCopyable>(_ view: View, as: T.Type = Float.self) throws -> [T] {
        try fourBytes(T.self)
        try check(view, view.count, "download source")
        var out = [T](unsafeUninitializedCapacity: view.count) { _, n in n = view.count }
        try out.withUnsafeMutableBytes { try backend.read(view, into: $0) }
        return out
    }

    /// Sets every element of `view` to `value`.
    public func fill(_ view: View, _ value: Float) throws { try fill(view, bits: value.bitPattern) }
    /// Sets every element of `view` to the bit pattern `bits`.
    public func fill(_ view: View, bits: UInt32) throws {
        try check(view, view.count, "fill")
        try backend.fill(view, bits: bits)
    }
    /// Buffers allocated and host waits since the device was opened: a training step after the first
    /// leaves `allocations` unchanged, and `waits` too unless it reads the loss.
    public var activity: DeviceActivity { backend.activity.current }

    /// Waits until every queued op has finished (OpenCL: clFinish); surfaces errors of queued work.
    public func synchronize() throws { try backend.synchronize() }

    /// Makes the device's scratch at least `need` (a model's plan reserves its ops' scratch when it
    /// is built, so no step allocates). The scratch is the device's, shared by everything on it.
    func reserveScratch(_ need: ScratchNeed) throws { try backend.reserveScratch(need) }
    /// The scratch the device holds now (elements of each buffer).
    var scratchSize: ScratchNeed { backend.scratchSize }

    /// Runs `body` over parts of the batch rows 0 ..< b (a range each), on a device that runs them
    /// side by side (the CPU device with several threads: one part per thread, each part's whole
    /// sequence of steps without synchronisation); elsewhere once, over all rows. The ops in `body`
    /// must touch only the part's rows: recurrent steps, whose every op is per row, so which rows go
    /// together changes no bits. `weights`: floats of the weights every step reads.
    func rowParts(_ b: Int, weights: Int, _ body: (Range<Int>) throws -> Void) throws { try backend.rowParts(b, weights: weights, body) }

    /// Recurrent loops (a layer's forward or backward steps) whose batch rows ran in parts side by
    /// side since the device was opened: 0 on a device that never splits them.
    public var rowPartJobs: Int { backend.activity.rowPartJobs }

    // MARK: Checks

    func check(_ v: View, _ need: Int, _ what: String) throws {
        guard v.buffer.owner == ObjectIdentifier(backend) else {
            throw DeviceError.shape("\(what) is a buffer of another device")
        }
        guard need >= 0, v.offset >= 0, v.count >= need, v.offset + v.count <= v.buffer.count else {
            throw DeviceError.shape("\(what) needs \(need) elements, view has \(v.count) at offset \(v.offset) of \(v.buffer.count)")
        }
        guard v.buffer.count <= Int(Int32.max) else { throw DeviceError.shape("\(what) exceeds 2^31 elements") }
    }

    /// Sizes must be positive; element counts are bounded by `check` (every view within a buffer of < 2^31 elements).
    func positive(_ values: [Int], _ what: String) throws {
        guard values.allSatisfy({ $0 > 0 && $0 < Int(Int32.max) }) else {
            throw DeviceError.shape("\(what): sizes must be positive, got \(values)")
        }
    }

    func fourBytes<T>(_: T.Type) throws {
        guard MemoryLayout<T>.stride == 4 else { throw DeviceError.shape("element type \(T.self) is not four bytes") }
    }
}

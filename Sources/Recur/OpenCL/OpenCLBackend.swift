import COpenCL
import Foundation

/// An OpenCL device: a context, an in-order queue and the one Recur program (Kernels/*.cl).
/// Ops are enqueued without waiting; `read` and `synchronize` wait.
///
/// Safe for any number of threads at once, each caller getting the bits it would get alone: a kernel's
/// arguments are set and it is enqueued under `opLock`, and the device's scratch is handed out only to
/// an op that holds `opLock` for all its launches (`exclusive`), so no other caller's launch falls
/// between an op's writing its scratch and its reading it.
final class OpenCLBackend: DeviceBackend, @unchecked Sendable {
    var info: DeviceInfo
    /// The kernel variant and constants this device's program was built with.
    let tuning: KernelTuning
    /// The `*16` cell kernels (16 units per work-item) where the size allows (`KernelTuning.Cells`).
    let cells16: Bool
    let activity = ActivityCounter()
    let device: cl_device_id
    let context: cl_context
    let queue: cl_command_queue
    let program: cl_program
    private var kernels: [String: cl_kernel] = [:]
    private var scratch: Buffer?
    private var transposed: Buffer?
    /// Held while a kernel's arguments are set and it is enqueued, and by every op using the scratch.
    private let opLock = OwnedLock()
    /// With `RECUR_CL_KEEP_BUFFERS=1` every buffer is retained until the device goes, so no buffer
    /// name is reused: oclgrind 21.10 keeps a released buffer's shadow state for the next buffer
    /// that gets its name and then reports false "uninitialized" reads (Scripts/oclgrind/).
    private var kept: [cl_mem] = []
    private let keepBuffers = ProcessInfo.processInfo.environment["RECUR_CL_KEEP_BUFFERS"] == "1"

    /// Opens OpenCL device `index` in the order `CL.devices()` lists them (`recur devices`), with
    /// `tuning`, or else the one `KernelTuning.resolve` finds.
    init(index: Int, tuning: KernelTuning? = nil) throws {
        try Settings.checkEnvironment()
        let all = try CL.devices()
        guard index >= 0, index < all.count else {
            throw DeviceError.unavailable(all.isEmpty ? "no OpenCL device found (no ICD or platform)"
                                          : "no OpenCL device \(index); there are \(all.count) (opencl:0 ... opencl:\(all.count - 1))")
        }
        device = all[index].device
        info = try CL.describe(all[index].platform, device, index: index)
        let resolved = try tuning.map { ($0, "explicit") } ?? KernelTuning.resolve(for: info)
        if resolved.0.matmul == .tiled, let most = info.maxWorkGroupSize, resolved.0.tile * resolved.0.tile > most {
            throw DeviceError.setting("tuning \(resolved.0) (\(resolved.1)): a \(resolved.0.tile)×\(resolved.0.tile) work-group exceeds \(info.name)'s maximum of \(most) work-items")
        }
        self.tuning = resolved.0
        cells16 = (resolved.0.cells ?? KernelTuning.defaultCells(deviceType: info.deviceType)) == .v16
        info.tuning = "\(resolved.0) (\(resolved.1))"
        var status: cl_int = 0
        var dev: cl_device_id? = device
        guard let ctx = clCreateContext(nil, 1, &dev, nil, nil, &status), status == CL_SUCCESS else {
            throw DeviceError.openCL(call: "clCreateContext", code: status, detail: info.name)
        }
        context = ctx
        guard let q = clCreateCommandQueue(ctx, device, 0, &status), status == CL_SUCCESS else {
            clReleaseContext(ctx)
            throw DeviceError.openCL(call: "clCreateCommandQueue", code: status, detail: info.name)
        }
        queue = q
        do { program = try ProgramCache.build(context: ctx, device: device, info: info, tuning: resolved.0) } catch {
            clReleaseCommandQueue(q); clReleaseContext(ctx)
            throw error
        }
    }

    deinit {
        clFinish(queue)
        scratch = nil
        transposed = nil
        for m in kept { clReleaseMemObject(m) }
        for k in kernels.values { clReleaseKernel(k) }
        clReleaseProgram(program)
        clReleaseCommandQueue(queue)
        clReleaseContext(context)
    }

    // MARK: Allocator

    func allocate(count: Int) throws -> Buffer {
        activity.allocated(bytes: count * 4)
        var status: cl_int = 0
        let bytes = count * 4
        let mem = clCreateBuffer(context, cl_mem_flags(CL_MEM_READ_WRITE), bytes, nil, &status)
        if let injected = CLFault.inject("clCreateBuffer") { status = injected }
        guard let mem, status == CL_SUCCESS else {
            if let mem { clReleaseMemObject(mem) }
            throw DeviceError.openCL(call: "clCreateBuffer", code: status, detail: "\(bytes) bytes; \(memoryNote)")
        }
        if keepBuffers {
            clRetainMemObject(mem)
            opLock.withLock { kept.append(mem) }
        }
        return Buffer(count: count, storage: .handle(CLMemory(mem)), owner: ObjectIdentifier(self))
    }

    /// Queues the upload without waiting for the kernels before it: the bytes are copied to a block
    /// that the driver's completion callback frees, so the caller may reuse `source` at once.
    func write(_ source: UnsafeRawBufferPointer, to: View) throws {
        guard source.count > 0, let base = source.baseAddress else { return }
        guard let copy = malloc(source.count) else { throw DeviceError.unavailable("no host memory for a \(source.count)-byte upload") }
        copy.copyMemory(from: base, byteCount: source.count)
        var event: cl_event? = nil
        let status = clEnqueueWriteBuffer(queue, to.mem, cl_bool(CL_FALSE), to.offset * 4, source.count, copy, 0, nil, &event)
        if let event {
            if clSetEventCallback(event, CL_COMPLETE, { _, _, block in free(block) }, copy) != CL_SUCCESS {
                var e: cl_event? = event
                clWaitForEvents(1, &e)   // no callback: wait, then free here
                free(copy)
            }
            clReleaseEvent(event)
        } else {
            free(copy)
        }
        try CL.check(status, "clEnqueueWriteBuffer", "\(source.count) bytes into a buffer of \(to.buffer.count * 4) bytes; \(memoryNote)")
    }

    func read(_ view: View, into: UnsafeMutableRawBufferPointer) throws {
        activity.waited()
        try CL.check(clEnqueueReadBuffer(queue, view.mem, cl_bool(CL_TRUE), view.offset * 4, view.count * 4, into.baseAddress, 0, nil, nil),
                     "clEnqueueReadBuffer", "\(view.count * 4) bytes from a buffer of \(view.buffer.count * 4) bytes; \(memoryNote)")
    }

    func fill(_ view: View, bits: UInt32) throws {
        guard view.count > 0 else { return }
        try launch("fill_bits", [view.count], [.int(view.count), .view(view), .uint(bits)])
    }

    func synchronize() throws {
        activity.waited()
        try CL.check(clFinish(queue), "clFinish", "waiting for the queued kernels; \(memoryNote)")
    }

    /// Runs `body` (one op's launches) with no other caller's launch between them: ops that use the
    /// scratch run inside.
    func exclusive<R>(_ body: () throws -> R) rethrows -> R { try opLock.withLock(body) }

    /// The device and its memory, for error messages.
    var memoryNote: String {
        "\(info.selector) \(info.name): global memory \(info.globalMemoryBytes >> 20) MiB, max allocation \(info.maxAllocationBytes >> 20) MiB"
    }

    // MARK: Launching

    enum Arg {
        case int(Int), uint(UInt32), float(Float), view(View)
    }

    /// Sets the arguments of kernel `name` and enqueues it over `global` work-items. Without `local`
    /// the driver picks the work-group shape (every such kernel bounds-checks and no result depends on
    /// it); with `local`, `global` is rounded up to a multiple of it (tiled kernels).
    func launch(_ name: String, _ global: [Int], _ args: [Arg], local: [Int]? = nil) throws {
        try opLock.withLock { try enqueue(name, global, args, local: local) }
    }

    private func enqueue(_ name: String, _ global: [Int], _ args: [Arg], local: [Int]?) throws {
        let kernel: cl_kernel
        if let k = kernels[name] { kernel = k } else {
            var status: cl_int = 0
            guard let k = clCreateKernel(program, name, &status), status == CL_SUCCESS else {
                throw DeviceError.openCL(call: "clCreateKernel", code: status, detail: name)
            }
            kernels[name] = k
            kernel = k
        }
        var index: cl_uint = 0
        func set<T: BitwiseCopyable>(_ value: T) throws {
            var v = value
            try CL.check(clSetKernelArg(kernel, index, MemoryLayout<T>.size, &v), "clSetKernelArg", "\(name) argument \(index)")
            index += 1
        }
        for arg in args {
            switch arg {
            case .int(let v): try set(Int32(v))
            case .uint(let v): try set(v)
            case .float(let v): try set(v)
            case .view(let v): try set(v.mem); try set(Int32(v.offset))
            }
        }
        guard global.allSatisfy({ $0 > 0 }) else { return }
        func detail(_ sizes: [Int]) -> String {
            let buffers = args.compactMap { if case .view(let v) = $0 { "\(v.buffer.count * 4)" } else { nil } }
            return "\(name) over \(sizes)\(local.map { " in groups of \($0)" } ?? ""); buffers of \(buffers.joined(separator: ", ")) bytes; \(memoryNote)"
        }
        if var local {
            var sizes = zip(global, local).map { g, l in (g + l - 1) / l * l }
            try CL.check(clEnqueueNDRangeKernel(queue, kernel, cl_uint(sizes.count), nil, &sizes, &local, 0, nil, nil),
                         "clEnqueueNDRangeKernel", detail(sizes))
        } else {
            var sizes = global
            try CL.check(clEnqueueNDRangeKernel(queue, kernel, cl_uint(sizes.count), nil, &sizes, nil, 0, nil, nil),
                         "clEnqueueNDRangeKernel", detail(sizes))
        }
    }

    /// What `op` takes of the scratch at its largest: the register-blocked products copy a
    /// transposed operand (B, or A for `matmul_rb_bt`), the blocked conv backward copies w or x
    /// transposed, per-token sums order the tokens, reductions keep a partial sum per chunk. Each
    /// count is the one the op itself asks `transposeScratch` / `scratchBuffer` for.
    func scratchNeed(_ op: ScratchOp) -> ScratchNeed {
        var need = ScratchNeed()
        switch op {
        case .matmul(let s) where tuning.matmul == .rb && s.transB:
            let copiesB = s.strideB == 0 ? 1 : s.batch, copiesA = s.strideA == 0 ? 1 : s.batch
            need.transposed = max(s.n * s.k * copiesB, s.transA ? 0 : min(s.m, s.n) * s.k * copiesA)
        case .conv1dBackwardData(let s) where convBlocked(s): need.transposed = s.outChannels * s.inChannels * s.kernel
        case .conv1dBackwardWeight(let s) where convBlocked(s): need.transposed = s.batch * s.inChannels * s.length
        case .tokenOrder(let tokens, let vocab): need.partials = Self.partialsCount(tokens + 2 * vocab)
        case .reduce(let count): need.partials = Self.partialsCount((count + CPUBackend.reduceChunk - 1) / CPUBackend.reduceChunk)
        default: break
        }
        return need
    }

    func reserveScratch(_ need: ScratchNeed) throws {
        try exclusive {
            if need.transposed > 0 { _ = try transposeScratch(need.transposed) }
            if need.partials > 0 { _ = try scratchBuffer(need.partials) }
        }
    }

    var scratchSize: ScratchNeed {
        opLock.withLock { ScratchNeed(transposed: transposed?.count ?? 0, partials: scratch?.count ?? 0) }
    }

    /// The partial-sum buffer is never smaller than this many elements.
    static func partialsCount(_ count: Int) -> Int { max(count, 1024) }

    /// A grow-only scratch buffer for a transposed matmul operand: the queue is in order, so the next
    /// op may reuse it once this op's launches are queued. Only inside `exclusive`.
    func transposeScratch(_ count: Int) throws -> Buffer {
        precondition(opLock.isHeld, "the transpose scratch is used outside `exclusive`")
        if let s = transposed, s.count >= count { return s }
        let s = try allocate(count: count)
        transposed = s
        return s
    }

    /// A grow-only scratch buffer for partial sums and token order, as `transposeScratch`. Only inside `exclusive`.
    func scratchBuffer(_ count: Int) throws -> Buffer {
        precondition(opLock.isHeld, "the scratch buffer is used outside `exclusive`")
        if let s = scratch, s.count >= count { return s }
        let s = try allocate(count: Self.partialsCount(count))
        scratch = s
        return s
    }
}

/// An OpenCL buffer object, released with the `Buffer` that holds it.
final class CLMemory {
    let mem: cl_mem
    init(_ mem: cl_mem) { self.mem = mem }
    deinit { clReleaseMemObject(mem) }
}

extension View {
    var mem: cl_mem {
        guard case .handle(let h) = buffer.storage, let m = h as? CLMemory else { preconditionFailure("OpenCL op on a non-OpenCL buffer") }
        return m.mem
    }
}

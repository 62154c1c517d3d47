import COpenCL
import Foundation

/// The allocator: buffers, transfers, fills, waiting, and the device's scratch.
extension OpenCLBackend {
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

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
    var kernels: [String: cl_kernel] = [:]
    var scratch: Buffer?
    var transposed: Buffer?
    /// Held while a kernel's arguments are set and it is enqueued, and by every op using the scratch.
    let opLock = OwnedLock()
    /// With `RECUR_CL_KEEP_BUFFERS=1` every buffer is retained until the device goes, so no buffer
    /// name is reused: oclgrind 21.10 keeps a released buffer's shadow state for the next buffer
    /// that gets its name and then reports false "uninitialized" reads (Scripts/oclgrind/).
    var kept: [cl_mem] = []
    let keepBuffers = ProcessInfo.processInfo.environment["RECUR_CL_KEEP_BUFFERS"] == "1"

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

    /// Runs `body` (one op's launches) with no other caller's launch between them: ops that use the
    /// scratch run inside.
    func exclusive<R>(_ body: () throws -> R) rethrows -> R { try opLock.withLock(body) }

    /// The device and its memory, for error messages.
    var memoryNote: String {
        "\(info.selector) \(info.name): global memory \(info.globalMemoryBytes >> 20) MiB, max allocation \(info.maxAllocationBytes >> 20) MiB"
    }

}

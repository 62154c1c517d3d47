import COpenCL
import Foundation

/// The launcher: a kernel's arguments set and the kernel enqueued, under the launch lock.
extension OpenCLBackend {
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
}

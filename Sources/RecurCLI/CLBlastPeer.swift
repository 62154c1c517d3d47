import COpenCL
import Foundation
import Recur

/// CLBlast's CLBlastSgemm on the benchmark's OpenCL device, loaded with dlopen for the benchmark
/// only (never a dependency of the library). It gets its own context and queue on the same device.
final class CLBlast {
    typealias Sgemm = @convention(c) (Int32, Int32, Int32, Int, Int, Int, Float, cl_mem?, Int, Int, cl_mem?, Int, Int, Float,
                                      cl_mem?, Int, Int, UnsafeMutablePointer<cl_command_queue?>?, UnsafeMutablePointer<cl_event?>?) -> Int32
    let sgemm: Sgemm
    let context: cl_context
    var queue: cl_command_queue?

    private init(sgemm: Sgemm, context: cl_context, queue: cl_command_queue) {
        self.sgemm = sgemm; self.context = context; self.queue = queue
    }

    /// CLBlast on the device named `name` (as `recur devices` lists it), or nil with the reason.
    static func load(deviceNamed name: String) -> (CLBlast?, String) {
        guard let handle = dlopen("libclblast.so.1", RTLD_NOW) ?? dlopen("libclblast.so", RTLD_NOW),
              let symbol = dlsym(handle, "CLBlastSgemm") else { return (nil, "CLBlast not found (libclblast.so.1): no CLBlast rows") }
        var count: cl_uint = 0
        guard clGetPlatformIDs(0, nil, &count) == CL_SUCCESS, count > 0 else { return (nil, "CLBlast: no OpenCL platform") }
        var platforms = [cl_platform_id?](repeating: nil, count: Int(count))
        clGetPlatformIDs(count, &platforms, nil)
        for case let platform? in platforms {
            var n: cl_uint = 0
            guard clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), 0, nil, &n) == CL_SUCCESS, n > 0 else { continue }
            var ids = [cl_device_id?](repeating: nil, count: Int(n))
            clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), n, &ids, nil)
            for case let found? in ids where deviceName(found) == name {
                var id: cl_device_id? = found
                var status: cl_int = 0
                guard let context = clCreateContext(nil, 1, &id, nil, nil, &status), status == CL_SUCCESS,
                      let queue = clCreateCommandQueue(context, id, 0, &status), status == CL_SUCCESS else {
                    return (nil, "CLBlast: cannot open \(name) (OpenCL error \(status))")
                }
                return (CLBlast(sgemm: unsafeBitCast(symbol, to: Sgemm.self), context: context, queue: queue), "")
            }
        }
        return (nil, "CLBlast: device \(name) not found")
    }

    static func deviceName(_ id: cl_device_id) -> String {
        var size = 0
        clGetDeviceInfo(id, cl_device_info(CL_DEVICE_NAME), 0, nil, &size)
        var bytes = [CChar](repeating: 0, count: size + 1)
        clGetDeviceInfo(id, cl_device_info(CL_DEVICE_NAME), size, &bytes, nil)
        return String(decoding: bytes.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self).trimmingCharacters(in: .whitespaces)
    }

    /// The same product (row-major; batches as a loop of calls with offsets), finishing the queue.
    func prepare(_ s: MatmulShape) throws -> () throws -> Void {
        func buffer(_ count: Int, _ value: Float) throws -> cl_mem {
            var status: cl_int = 0
            var data = [Float](repeating: value, count: count)
            guard let m = clCreateBuffer(context, cl_mem_flags(CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR), count * 4, &data, &status),
                  status == CL_SUCCESS else { throw Failure("CLBlast: cannot allocate \(count * 4) bytes (OpenCL error \(status))") }
            return m
        }
        let a = try buffer(s.extentA, 0.5), b = try buffer(s.extentB, 0.25), c = try buffer(s.extentC, 0)
        return { [self] in
            for i in 0..<s.batch {
                let status = sgemm(101, s.transA ? 112 : 111, s.transB ? 112 : 111, s.m, s.n, s.k, 1, a, i * s.strideA, s.lda,
                                   b, i * s.strideB, s.ldb, 0, c, i * s.strideC, s.ldc, &queue, nil)
                if status != 0 { throw Failure("CLBlastSgemm failed with status \(status)") }
            }
            clFinish(queue)
        }
    }
}

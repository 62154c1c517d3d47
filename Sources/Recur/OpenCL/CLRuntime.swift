import COpenCL
import Foundation

/// Thin checked wrappers over the OpenCL 1.2 host API: every call's status is turned into a
/// `DeviceError.openCL` naming the call and the error.
enum CL {
    static func check(_ code: cl_int, _ call: String, _ detail: @autoclosure () -> String = "") throws {
        let code = CLFault.inject(call) ?? code
        if code != CL_SUCCESS { throw DeviceError.openCL(call: call, code: code, detail: detail()) }
    }

    /// Every (platform, device) pair the ICD loader finds, in order; empty when there is no platform.
    static func devices() throws -> [(platform: cl_platform_id, device: cl_device_id)] {
        var count: cl_uint = 0
        let status = clGetPlatformIDs(0, nil, &count)
        if status == -1001 || count == 0 { return [] }
        try check(status, "clGetPlatformIDs")
        var platforms = [cl_platform_id?](repeating: nil, count: Int(count))
        try check(clGetPlatformIDs(count, &platforms, nil), "clGetPlatformIDs")
        var result: [(cl_platform_id, cl_device_id)] = []
        for case let platform? in platforms {
            var n: cl_uint = 0
            let s = clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), 0, nil, &n)
            if s == CL_DEVICE_NOT_FOUND || n == 0 { continue }
            try check(s, "clGetDeviceIDs")
            var ids = [cl_device_id?](repeating: nil, count: Int(n))
            try check(clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), n, &ids, nil), "clGetDeviceIDs")
            for case let id? in ids { result.append((platform, id)) }
        }
        return result
    }

    static func string(_ device: cl_device_id, _ param: Int32) throws -> String {
        var size = 0
        try check(clGetDeviceInfo(device, cl_device_info(param), 0, nil, &size), "clGetDeviceInfo")
        var bytes = [CChar](repeating: 0, count: size + 1)
        try check(clGetDeviceInfo(device, cl_device_info(param), size, &bytes, nil), "clGetDeviceInfo")
        return String(decoding: bytes.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            .trimmingCharacters(in: .whitespaces)
    }

    static func value<T: BitwiseCopyable>(_ device: cl_device_id, _ param: Int32, _: T.Type) throws -> T {
        var v = [UInt8](repeating: 0, count: MemoryLayout<T>.size)
        try check(clGetDeviceInfo(device, cl_device_info(param), v.count, &v, nil), "clGetDeviceInfo")
        return v.withUnsafeBytes { $0.loadUnaligned(as: T.self) }
    }

    static func platformName(_ platform: cl_platform_id) throws -> String {
        var size = 0
        try check(clGetPlatformInfo(platform, cl_platform_info(CL_PLATFORM_NAME), 0, nil, &size), "clGetPlatformInfo")
        var bytes = [CChar](repeating: 0, count: size + 1)
        try check(clGetPlatformInfo(platform, cl_platform_info(CL_PLATFORM_NAME), size, &bytes, nil), "clGetPlatformInfo")
        return String(decoding: bytes.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The device's description and whether its floating point meets NUMERICS rule 8
    /// (the identity self-test is the second half of admission; see `Devices`).
    static func describe(_ platform: cl_platform_id, _ device: cl_device_id, index: Int) throws -> DeviceInfo {
        let fp = try value(device, CL_DEVICE_SINGLE_FP_CONFIG, cl_device_fp_config.self)
        let required: [(Int32, String)] = [(CL_FP_FMA, "fma"), (CL_FP_DENORM, "denormals"), (CL_FP_INF_NAN, "inf-nan"),
                                           (CL_FP_ROUND_TO_NEAREST, "round-to-nearest"),
                                           (CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT, "correctly-rounded-divide-sqrt")]
        let have = required.filter { fp & cl_device_fp_config($0.0) != 0 }.map(\.1)
        let missing = required.map(\.1).filter { !have.contains($0) }
        var info = DeviceInfo(kind: .opencl, name: try string(device, CL_DEVICE_NAME), vendor: try string(device, CL_DEVICE_VENDOR),
                              driver: try string(device, CL_DRIVER_VERSION), version: try string(device, CL_DEVICE_VERSION),
                              computeUnits: Int(try value(device, CL_DEVICE_MAX_COMPUTE_UNITS, cl_uint.self)),
                              globalMemoryBytes: try value(device, CL_DEVICE_GLOBAL_MEM_SIZE, cl_ulong.self),
                              maxAllocationBytes: try value(device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, cl_ulong.self),
                              admitted: missing.isEmpty,
                              reason: missing.isEmpty ? "floating point meets NUMERICS rule 8"
                                  : "CL_DEVICE_SINGLE_FP_CONFIG lacks \(missing.joined(separator: ", ")) (NUMERICS rule 8)",
                              selector: "opencl:\(index)")
        info.platform = try platformName(platform)
        info.openCLCVersion = try string(device, CL_DEVICE_OPENCL_C_VERSION)
        info.fpCapabilities = have
        let type = try value(device, CL_DEVICE_TYPE, cl_device_type.self)
        info.deviceType = type & cl_device_type(CL_DEVICE_TYPE_GPU) != 0 ? "gpu" : type & cl_device_type(CL_DEVICE_TYPE_CPU) != 0 ? "cpu"
            : type & cl_device_type(CL_DEVICE_TYPE_ACCELERATOR) != 0 ? "accelerator" : "other"
        info.maxWorkGroupSize = Int(try value(device, CL_DEVICE_MAX_WORK_GROUP_SIZE, Int.self))
        info.preferredFloatVector = Int(try value(device, CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT, cl_uint.self))
        return info
    }
}

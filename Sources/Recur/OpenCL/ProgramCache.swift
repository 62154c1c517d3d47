import COpenCL
import Foundation

/// Builds the one Recur program for a device, caching the compiled binary on disk
/// (`$XDG_CACHE_HOME/recur` or `~/.cache/recur`) keyed by device name, driver version, build options
/// and source text, so a second start skips the compiler. A cache that cannot be read or written
/// is ignored; a build failure throws `DeviceError.build` with the log.
///
/// PoCL is built from source every time: it keeps its own cache of compiled programs, keyed alike,
/// so a second start skips its compiler anyway, and its program binary bundles every kernel it has
/// ever compiled for the program (one per work-group size used: tens of MB after a test run) —
/// held in memory while the program lives when loaded from our cache (big LSTM on PoCL: 357 MB
/// peak with such a binary, 350 MB built from source).
enum ProgramCache {
    static func build(context: cl_context, device: cl_device_id, info: DeviceInfo, tuning: KernelTuning) throws -> cl_program {
        let (names, text) = try KernelSource.program(defines: tuning.defines)
        let options = try KernelSource.options()
        let key = FNV1a.hash("\(info.name)|\(info.driver)|\(info.version)|\(options)|\(text)")
        let file = keepsOwnCache(info) ? nil : cacheDirectory().map { "\($0)/\(String(key, radix: 16)).clbin" }

        if let file, let binary = FileManager.default.contents(atPath: file),
           let program = try? fromBinary(binary, context: context, device: device, options: options) {
            return program
        }
        var status: cl_int = 0
        let program: cl_program? = text.withCString { src in
            var p: UnsafePointer<CChar>? = src
            return clCreateProgramWithSource(context, 1, &p, nil, &status)
        }
        try CL.check(status, "clCreateProgramWithSource")
        guard let program else { throw DeviceError.openCL(call: "clCreateProgramWithSource", code: status, detail: "") }
        var dev: cl_device_id? = device
        let built = clBuildProgram(program, 1, &dev, options, nil, nil)
        if built != CL_SUCCESS {
            let log = buildLog(program, device)
            clReleaseProgram(program)
            throw DeviceError.build(kernels: names, log: log)
        }
        if let file { save(program, to: file) }
        return program
    }

    static func fromBinary(_ data: Data, context: cl_context, device: cl_device_id, options: String) throws -> cl_program {
        var status: cl_int = 0, binaryStatus: cl_int = 0
        var dev: cl_device_id? = device
        let program: cl_program? = data.withUnsafeBytes { raw in
            var length = raw.count
            var ptr: UnsafePointer<UInt8>? = raw.bindMemory(to: UInt8.self).baseAddress
            return clCreateProgramWithBinary(context, 1, &dev, &length, &ptr, &binaryStatus, &status)
        }
        guard status == CL_SUCCESS, binaryStatus == CL_SUCCESS, let program else {
            throw DeviceError.openCL(call: "clCreateProgramWithBinary", code: status, detail: "")
        }
        if clBuildProgram(program, 1, &dev, options, nil, nil) != CL_SUCCESS {
            clReleaseProgram(program)
            throw DeviceError.openCL(call: "clBuildProgram", code: CL_BUILD_PROGRAM_FAILURE, detail: "cached binary")
        }
        return program
    }

    static func save(_ program: cl_program, to file: String) {
        var size = 0
        guard clGetProgramInfo(program, cl_program_info(CL_PROGRAM_BINARY_SIZES), MemoryLayout<Int>.size, &size, nil) == CL_SUCCESS,
              size > 0 else { return }
        var bytes = [UInt8](repeating: 0, count: size)
        let ok = bytes.withUnsafeMutableBufferPointer { buf -> Bool in
            var ptr: UnsafeMutablePointer<UInt8>? = buf.baseAddress
            return clGetProgramInfo(program, cl_program_info(CL_PROGRAM_BINARIES), MemoryLayout<UnsafeMutablePointer<UInt8>>.size, &ptr, nil) == CL_SUCCESS
        }
        guard ok else { return }
        let temporary = file + ".\(getpid()).tmp"
        if FileManager.default.createFile(atPath: temporary, contents: Data(bytes)) {
            if rename(temporary, file) != 0 { unlink(temporary) }
        }
    }

    static func buildLog(_ program: cl_program, _ device: cl_device_id) -> String {
        var size = 0
        clGetProgramBuildInfo(program, device, cl_program_build_info(CL_PROGRAM_BUILD_LOG), 0, nil, &size)
        var log = [CChar](repeating: 0, count: size + 1)
        clGetProgramBuildInfo(program, device, cl_program_build_info(CL_PROGRAM_BUILD_LOG), size, &log, nil)
        return String(decoding: log.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Platforms with a program cache of their own (PoCL's kernel cache).
    static func keepsOwnCache(_ info: DeviceInfo) -> Bool { info.platform == "Portable Computing Language" }

    static func cacheDirectory() -> String? {
        let env = ProcessInfo.processInfo.environment
        if env["RECUR_NO_CACHE"] != nil { return nil }
        guard let base = env["XDG_CACHE_HOME"].flatMap({ $0.isEmpty ? nil : $0 }) ?? env["HOME"].map({ $0 + "/.cache" }) else { return nil }
        let dir = base + "/recur"
        do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch { return nil }
        return dir
    }

}

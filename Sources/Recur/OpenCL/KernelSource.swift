import Foundation

/// The kernel text: embedded in the binary (EmbeddedKernels.swift, generated from Kernels/ by
/// Scripts/embed-kernels.sh), or read from disk when `RECUR_KERNELS_DIR` names a folder,
/// for kernel development without rebuilding.
public enum KernelSource {
    /// Environment variable that points at a Kernels/ folder to load instead of the embedded text.
    public static let overrideVariable = "RECUR_KERNELS_DIR"

    /// Options every program is built with (NUMERICS rule 5). Nothing that relaxes IEEE arithmetic.
    public static let buildOptions = "-cl-std=CL1.2 -cl-fp32-correctly-rounded-divide-sqrt"

    /// The kernel text compiled into this binary, in build order.
    public static var embedded: [(name: String, source: String)] { EmbeddedKernels.files }

    /// The files in build order: common.cl first, then the rest by name.
    public static func files() throws -> [(name: String, source: String)] {
        guard let dir = ProcessInfo.processInfo.environment[overrideVariable], !dir.isEmpty else {
            return EmbeddedKernels.files
        }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".cl") }
        } catch {
            throw DeviceError.unavailable("\(overrideVariable)=\(dir): cannot list the folder")
        }
        guard names.contains("common.cl") else {
            throw DeviceError.unavailable("\(overrideVariable)=\(dir): no common.cl in the folder")
        }
        return try (["common.cl"] + names.filter { $0 != "common.cl" }.sorted()).map { name in
            guard let text = try? String(contentsOfFile: dir + "/" + name, encoding: .utf8) else {
                throw DeviceError.unavailable("\(overrideVariable)=\(dir): cannot read \(name) as UTF-8")
            }
            return (name, text)
        }
    }

    /// Tuning constants prepended as `#define`s (CLBlast style). They change speed, never bits:
    /// every variant keeps each output's chain. RB_M: rows of C per work-item in `matmul_rb`.
    public static let tuning: [String: Int] = ["RB_M": 4]

    /// One program text: the contract pragma, the tuning defines, then each file in order.
    public static func program() throws -> (names: String, text: String) {
        let parts = try files()
        let defines = tuning.keys.sorted().map { "#define \($0) \(tuning[$0]!)\n" }.joined()
        let text = "#pragma OPENCL FP_CONTRACT OFF\n" + defines + parts.map { "// ---- \($0.name)\n\($0.source)" }.joined(separator: "\n")
        return (parts.map(\.name).joined(separator: ", "), text)
    }
}

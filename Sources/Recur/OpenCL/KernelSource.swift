import Foundation

/// The kernel text: embedded in the binary (EmbeddedKernels.swift, generated from Kernels/ by
/// Scripts/embed-kernels.sh), or read from disk when `RECUR_KERNELS_DIR` names a folder,
/// for kernel development without rebuilding.
public enum KernelSource {
    /// Environment variable that points at a Kernels/ folder to load instead of the embedded text.
    public static let overrideVariable = "RECUR_KERNELS_DIR"

    /// Options every program is built with (NUMERICS rule 5). Nothing that relaxes IEEE arithmetic.
    public static let buildOptions = "-cl-std=CL1.2 -cl-fp32-correctly-rounded-divide-sqrt"

    /// Environment variable with extra build options for diagnosis (e.g. `-cl-opt-disable` under
    /// oclgrind, whose 21.10 release cannot execute the `freeze` instruction optimised code has).
    /// Only options that cannot relax IEEE arithmetic are accepted.
    public static let extraOptionsVariable = "RECUR_CL_OPTIONS"
    static let allowedExtraOptions: Set<String> = ["-cl-opt-disable", "-g", "-Werror", "-w"]

    /// `buildOptions` plus the accepted `RECUR_CL_OPTIONS`; throws on an option that is not allowed.
    public static func options() throws -> String {
        let extra = (ProcessInfo.processInfo.environment[extraOptionsVariable] ?? "").split(separator: " ").map(String.init)
        if let bad = extra.first(where: { !allowedExtraOptions.contains($0) }) {
            throw DeviceError.setting("\(extraOptionsVariable): option '\(bad)' is not allowed (allowed: \(allowedExtraOptions.sorted().joined(separator: " ")))")
        }
        return ([buildOptions] + extra).joined(separator: " ")
    }

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
            throw DeviceError.setting("\(overrideVariable)=\(shownPath(dir)): cannot list the folder")
        }
        guard names.contains("common.cl") else {
            throw DeviceError.setting("\(overrideVariable)=\(shownPath(dir)): no common.cl in the folder")
        }
        return try (["common.cl"] + names.filter { $0 != "common.cl" }.sorted()).map { name in
            guard let text = try? String(contentsOfFile: dir + "/" + name, encoding: .utf8) else {
                throw DeviceError.setting("\(overrideVariable)=\(shownPath(dir)): cannot read \(name) as UTF-8")
            }
            return (name, text)
        }
    }

    /// One program text: the contract pragma, the tuning `#define`s (`KernelTuning`), then each
    /// file in order.
    public static func program(defines: [(String, Int)]) throws -> (names: String, text: String) {
        let parts = try files()
        let text = "#pragma OPENCL FP_CONTRACT OFF\n" + defines.map { "#define \($0.0) \($0.1)\n" }.joined()
            + parts.map { "// ---- \($0.name)\n\($0.source)" }.joined(separator: "\n")
        return (parts.map(\.name).joined(separator: ", "), text)
    }
}

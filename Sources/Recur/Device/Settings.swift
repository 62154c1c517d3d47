import Foundation

/// The `RECUR_*` environment variables the library reads, checked in one place so that a value
/// that cannot be used is an error naming the variable before any work, never ignored and never a
/// reason to choose another device. (`RECUR_DEVICE` is checked with the request it makes,
/// `DeviceRequest.checkForm`; `RECUR_NO_CACHE` takes any value.)
public enum Settings {
    /// `RECUR_DW_BLOCK`: (b, t) positions per launch of the blocked conv dW chain, for measuring.
    static let dwBlockVariable = "RECUR_DW_BLOCK"
    /// `RECUR_CL_KEEP_BUFFERS=1`: no OpenCL buffer is released before its device (oclgrind, see OpenCLBackend).
    static let keepBuffersVariable = "RECUR_CL_KEEP_BUFFERS"

    /// Throws `DeviceError.setting` naming the first variable whose value cannot be used:
    /// `RECUR_TUNING`, `RECUR_CL_OPTIONS`, `RECUR_KERNELS_DIR`, `RECUR_CL_FAULT`, `RECUR_DW_BLOCK`,
    /// `RECUR_CL_KEEP_BUFFERS`.
    public static func checkEnvironment() throws {
        let env = ProcessInfo.processInfo.environment
        try KernelTuning.checkEnvironment()
        _ = try KernelSource.options()
        if let dir = env[KernelSource.overrideVariable], !dir.isEmpty { _ = try KernelSource.files() }
        try CLFault.checkEnvironment()
        if let text = env[dwBlockVariable], !text.isEmpty, (Int(text) ?? 0) < 1 {
            throw DeviceError.setting("\(dwBlockVariable)=\(text): must be a positive whole number")
        }
        if let text = env[keepBuffersVariable], !["", "0", "1"].contains(text) {
            throw DeviceError.setting("\(keepBuffersVariable)=\(text): must be 0 or 1")
        }
    }
}

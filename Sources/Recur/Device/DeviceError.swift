/// Every failure a device reports. Messages are one line and name what failed.
public enum DeviceError: Error, CustomStringConvertible, Equatable {
    /// An OpenCL call returned an error: the call and the error's name (`CL_OUT_OF_RESOURCES`).
    case openCL(call: String, code: Int32, detail: String)
    /// A kernel program did not build; carries the kernel file names and the build log.
    case build(kernels: String, log: String)
    /// A view too small for the shape, a view of another device, or a bad shape.
    case shape(String)
    /// An allocation larger than the device can hold; refused before the driver sees it.
    case tooLarge(String)
    /// The requested device cannot be had.
    case unavailable(String)
    /// A setting that cannot be used (a `RECUR_*` environment variable, the tuning table, a malformed
    /// device request); the message names it. Never a reason to choose another device instead.
    case setting(String)

    /// One line (a build failure adds the log).
    public var description: String {
        switch self {
        case let .openCL(call, code, detail):
            return "\(call) failed with \(CLErrorName.of(code))" + (detail.isEmpty ? "" : " (\(detail))")
        case let .build(kernels, log):
            return "OpenCL program build failed for \(kernels):\n\(log)"
        case .shape(let s): return "bad shape: \(s)"
        case .tooLarge(let s): return s
        case .unavailable(let s): return s
        case .setting(let s): return s
        }
    }
}

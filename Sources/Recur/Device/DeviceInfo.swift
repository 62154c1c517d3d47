/// What `recur devices` reports about a device.
public struct DeviceInfo: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable { case cpu, opencl }
    public var kind: Kind
    public var name: String
    public var vendor: String
    public var driver: String
    public var version: String
    public var computeUnits: Int
    public var globalMemoryBytes: UInt64
    /// Largest single allocation in bytes.
    public var maxAllocationBytes: UInt64
    /// Admitted for bit-identical work (NUMERICS rule 8).
    public var admitted: Bool
    /// Why not admitted, or what was checked.
    public var reason: String
    /// "opencl:N" or "cpu".
    public var selector: String
    public var platform: String = ""
    public var openCLCVersion: String = ""
    /// CPU only: SIMD width in floats used by the CPU kernels.
    public var simdWidth: Int? = nil
    /// CPU only: whether this build uses hardware FMA instructions (else glibc `fmaf`, ~130x slower).
    public var hardwareFMA: Bool? = nil
    /// OpenCL only: "cpu", "gpu", "accelerator" or "other" (CL_DEVICE_TYPE).
    public var deviceType: String? = nil
    /// OpenCL only: the floating-point capabilities found in CL_DEVICE_SINGLE_FP_CONFIG.
    public var fpCapabilities: [String]? = nil
    /// OpenCL: the most work-items in one work-group.
    public var maxWorkGroupSize: Int? = nil
    /// OpenCL: the kernel tuning in use and where it came from.
    public var tuning: String? = nil
}

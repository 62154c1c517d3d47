/// What `recur devices` reports about a device.
public struct DeviceInfo: Sendable, Codable, Equatable {
    /// Which backend runs the device: its family's prefix (`DeviceFamily`).
    public struct Kind: RawRepresentable, Hashable, Sendable, Codable {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        /// The pure-Swift CPU device.
        public static let cpu = Kind(rawValue: "cpu")
        /// An OpenCL device.
        public static let opencl = Kind(rawValue: "opencl")
    }
    /// The backend: `.cpu`, `.opencl` or another registered family's.
    public var kind: Kind
    /// The device's name (OpenCL: CL_DEVICE_NAME).
    public var name: String
    /// The vendor (CPU: the processor model).
    public var vendor: String
    /// The driver version (OpenCL: CL_DRIVER_VERSION).
    public var driver: String
    /// The OpenCL version the device reports (CPU: the SIMD width used).
    public var version: String
    /// Cores or compute units.
    public var computeUnits: Int
    /// Device memory (CPU: physical memory).
    public var globalMemoryBytes: UInt64
    /// Largest single allocation in bytes.
    public var maxAllocationBytes: UInt64
    /// Admitted for bit-identical work (NUMERICS rule 8).
    public var admitted: Bool
    /// Why not admitted, or what was checked.
    public var reason: String
    /// "opencl:N" or "cpu".
    public var selector: String
    /// OpenCL: the platform's name.
    public var platform: String = ""
    /// OpenCL: the OpenCL C version.
    public var openCLCVersion: String = ""
    /// CPU only: SIMD width in floats used by the CPU kernels.
    public var simdWidth: Int? = nil
    /// CPU only: whether this build uses hardware FMA instructions (else glibc `fmaf`, ~130x slower).
    public var hardwareFMA: Bool? = nil
    /// CPU only: the matmul register tile, rows × columns (6 × 64 in a build for AVX-512, else 6 × 16).
    public var registerTile: String? = nil
    /// OpenCL only: "cpu", "gpu", "accelerator" or "other" (CL_DEVICE_TYPE).
    public var deviceType: String? = nil
    /// OpenCL only: the floating-point capabilities found in CL_DEVICE_SINGLE_FP_CONFIG.
    public var fpCapabilities: [String]? = nil
    /// OpenCL: the most work-items in one work-group.
    public var maxWorkGroupSize: Int? = nil
    /// OpenCL: the preferred float vector width (CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT); PoCL reports
    /// 16 on AVX-512 CPUs and 8 on AVX2 ones.
    public var preferredFloatVector: Int? = nil
    /// OpenCL: the kernel tuning in use and where it came from.
    public var tuning: String? = nil
}

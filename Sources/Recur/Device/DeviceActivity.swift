import Foundation

/// What a training step must not do once the first step has run: allocate device memory, or make
/// the host wait for the device. Counted by each device since it was opened.
public struct DeviceActivity: Sendable, Equatable, CustomStringConvertible {
    /// Buffers allocated: the caller's and the device's own scratch (OpenCL: `clCreateBuffer` calls).
    public var allocations = 0
    /// Bytes those buffers hold.
    public var allocatedBytes = 0
    /// Times the host waited for queued work: reads (`download`) and `synchronize`. Uploads do not
    /// wait on the OpenCL device (the bytes are copied and the transfer is queued).
    public var waits = 0

    public var description: String { "\(allocations) allocations (\(allocatedBytes) bytes), \(waits) waits" }
}

/// A backend's `DeviceActivity`, safe to bump from any thread.
final class ActivityCounter: @unchecked Sendable {
    private var value = DeviceActivity()
    private let lock = NSLock()
    var current: DeviceActivity { lock.withLock { value } }
    func allocated(bytes: Int) { lock.withLock { value.allocations += 1; value.allocatedBytes += bytes } }
    func waited() { lock.withLock { value.waits += 1 } }
    /// Recurrent loops whose batch rows ran in parts side by side (`Device.rowParts`).
    private var parts = 0
    var rowPartJobs: Int { lock.withLock { parts } }
    func splitRows() { lock.withLock { parts += 1 } }
}

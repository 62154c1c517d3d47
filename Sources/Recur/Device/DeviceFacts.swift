/// What model construction needs to know of a device, read once: the planner sizes packed weights
/// and chooses the data flow from it, and nothing else asks the device.
public struct DeviceFacts: Sendable {
    /// Products pack B into panels of this many columns (the CPU device); 0 where they read B as stored.
    public var packPanel: Int
    /// Products with a transposed B run about as fast as with B as stored, so recurrent layers need
    /// no transposed copies of their weights.
    public var readsTransposedB: Bool
    /// Products over one step's rows run about as fast as one product over every step's, so a
    /// recurrent stack's backward makes each step's ∂h as it goes instead of storing all of them
    /// (`StepGradient`).
    public var stepwiseGradients: Bool
    /// The most four-byte elements one buffer may hold.
    public var maxBufferElements: Int
    /// The device scratch an op needs at its largest shape.
    public var scratch: @Sendable (ScratchOp) -> ScratchNeed

    /// Floats a packed copy of a (k × n) B needs; 0 where products read B as stored.
    public func packedCount(n: Int, k: Int) -> Int { packPanel == 0 ? 0 : k * ((n + packPanel - 1) / packPanel * packPanel) }
}

extension Device {
    /// The device's facts for planning.
    public var facts: DeviceFacts {
        DeviceFacts(packPanel: backend.packPanel, readsTransposedB: backend.readsTransposedB,
                    stepwiseGradients: backend.stepwiseGradients, maxBufferElements: maxBufferElements,
                    scratch: { [backend] in backend.scratchNeed($0) })
    }
}

/// A trainable tensor: its PyTorch `state_dict` name and shape, its value and gradient on the
/// device, and the optimizer's state buffers (velocity, or Adam's m and v), all allocated once.
public final class Parameter: @unchecked Sendable {
    /// PyTorch's state_dict name (`rnn.weight_ih_l0`, ...).
    public let name: String
    /// PyTorch's shape.
    public let shape: [Int]
    /// The values, on the model's device.
    public let value: Buffer
    /// The gradient of the last backward.
    public let grad: Buffer
    var moments: [Buffer] = []
    /// Elements.
    public var count: Int { shape.reduce(1, *) }

    /// Without `training` (an inference model) `grad` is a one-element placeholder no op reads.
    init(_ device: Device, _ name: String, _ shape: [Int], training: Bool = true) throws {
        self.name = name
        self.shape = shape
        let n = shape.reduce(1, *)
        value = try device.allocate(n)
        grad = try device.allocate(n, training: training)
        try device.fill(grad.view, 0)
    }

    /// Uniform(−bound, bound) from Philox keyed by (seed, stream): the same numbers on every device.
    func initialize(_ device: Device, seed: UInt64, stream: UInt64, bound: Float) throws {
        var rng = PhiloxStream(seed: seed, stream: stream)
        try device.upload((0..<count).map { _ in rng.float(-bound, bound) }, to: value.view)
    }

    /// Optimizer state: `n` buffers of this parameter's size, zeroed, made once.
    func ensureMoments(_ device: Device, _ n: Int) throws {
        while moments.count < n {
            let b = try device.allocate(count)
            try device.fill(b.view, 0)
            moments.append(b)
        }
    }
}

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

    /// Plans the value (`name`) and the gradient (`name.grad`; without `training`, an inference
    /// model, a one-element placeholder no op reads).
    static func plan(_ plan: inout MemoryPlan, _ name: String, _ shape: [Int], training: Bool) {
        let n = shape.reduce(1, *)
        plan.add(name, n, .parameter)
        plan.add(name + ".grad", training ? n : 1, .gradient)
    }

    /// The planned value and gradient (`plan`); the gradient starts at zero.
    init(_ arena: Arena, _ device: Device, _ name: String, _ shape: [Int]) throws {
        self.name = name
        self.shape = shape
        value = arena.buffer(name)
        grad = arena.buffer(name + ".grad")
        try device.fill(grad.view, 0)
    }

    /// Uniform(−bound, bound) from Philox keyed by (seed, stream): the same numbers on every device.
    func initialize(_ device: Device, seed: UInt64, stream: UInt64, bound: Float) throws {
        var rng = PhiloxStream(seed: seed, stream: stream)
        try device.upload((0..<count).map { _ in rng.float(-bound, bound) }, to: value.view)
    }

    /// The optimizer's state of this parameter (`Optimizer.plan`), zeroed.
    func attachMoments(_ arena: Arena, _ device: Device, _ n: Int) throws {
        moments = (0..<n).map { arena.buffer(name + ".moment\($0)") }
        for m in moments { try device.fill(m.view, 0) }
    }
}

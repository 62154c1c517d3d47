/// The optimizer and learning-rate schedule of a run; stored in the checkpoint.
public struct OptimizerConfig: Codable, Sendable, Equatable {
    /// The update rule.
    public enum Kind: String, Codable, Sendable, CaseIterable { case sgd, adam, adamw }
    /// How the learning rate changes over the run.
    public enum Schedule: String, Codable, Sendable, CaseIterable { case constant, step, cosine }

    /// Adam by default.
    public var kind: Kind = .adam
    /// Peak learning rate.
    public var lr: Float = 2e-3
    /// SGD momentum (0 for plain SGD).
    public var momentum: Float = 0.9
    /// SGD: Nesterov momentum.
    public var nesterov = false
    /// L2 penalty (SGD, Adam) or decoupled decay (AdamW).
    public var weightDecay: Float = 0
    /// Adam's moment decay rates and epsilon (PyTorch's defaults).
    public var beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8
    /// Global-norm clipping threshold (nil: none).
    public var clip: Float? = 5
    /// The learning-rate schedule after warm-up.
    public var schedule: Schedule = .constant
    /// Linear warm-up from lr/warmup to lr over this many steps.
    public var warmup = 0
    /// Step schedule: multiply by `gamma` every `stepSize` steps.
    public var stepSize = 1000, gamma: Float = 0.5
    /// Cosine schedule: decays to lr·minFactor at `totalSteps`.
    public var totalSteps = 1000, minFactor: Float = 0.01

    /// Adam at 2e-3, constant rate, no clipping.
    public init() {}

    /// Throws a one-line message naming the bad flag.
    /// Buffers of each parameter's size the optimizer keeps: SGD's velocity (with momentum), Adam's m and v.
    public var moments: Int { kind == .sgd ? (momentum > 0 ? 1 : 0) : 2 }

    public func validate() throws {
        func need(_ ok: Bool, _ s: String) throws { if !ok { throw ModelError.config(s) } }
        try need(lr.isFinite && lr > 0, "--lr must be a positive finite number, got \(lr)")
        try need(weightDecay.isFinite && weightDecay >= 0, "--weight-decay must be ≥ 0, got \(weightDecay)")
        try need(momentum >= 0 && momentum < 1, "--momentum must be in [0, 1), got \(momentum)")   // false for NaN
        try need(clip.map { $0.isFinite && $0 > 0 } ?? true, "--clip must be positive, got \(clip ?? 0)")
        try need(warmup >= 0, "--warmup must be ≥ 0, got \(warmup)")
        try need(stepSize > 0, "--step-size must be positive, got \(stepSize)")
        try need(totalSteps > 0, "the schedule's total steps must be positive, got \(totalSteps)")
        try need(gamma.isFinite && gamma > 0, "--gamma must be a positive finite number, got \(gamma)")
        try need(minFactor.isFinite && minFactor >= 0 && minFactor <= 1, "the cosine schedule's minFactor must be in [0, 1], got \(minFactor)")
        try need(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1, "Adam's beta1 and beta2 must be in [0, 1), got \(beta1), \(beta2)")
        try need(eps.isFinite && eps > 0, "Adam's eps must be a positive finite number, got \(eps)")
    }

    /// `validate`, and what only a stored configuration can get wrong: every number finite, Adam's
    /// decay rates in [0, 1), epsilon and the step schedule's factor positive, minFactor in [0, 1].
    func validateStored() throws {
        func need(_ ok: Bool, _ s: String) throws { if !ok { throw ModelError.config(s) } }
        for (name, v) in [("lr", lr), ("momentum", momentum), ("weightDecay", weightDecay), ("beta1", beta1), ("beta2", beta2),
                          ("eps", eps), ("gamma", gamma), ("minFactor", minFactor), ("clip", clip ?? 1)] {
            try need(v.isFinite, "\(name) must be a finite number, got \(v)")
        }
        try validate()
        try need((0..<1).contains(beta1) && (0..<1).contains(beta2), "beta1 and beta2 must be in [0, 1), got \(beta1), \(beta2)")
        try need(eps > 0 && gamma > 0, "eps and gamma must be positive, got \(eps), \(gamma)")
        try need((0...1).contains(minFactor), "minFactor must be in [0, 1], got \(minFactor)")
    }

    /// The learning rate at 1-based step t, computed in Double on the host by IEEE operations only
    /// (the cosine is a Taylor series, not the C library), so every machine gets the same Float.
    public func rate(at t: Int) -> Float {
        var factor = 1.0
        if warmup > 0 && t <= warmup { factor = Double(t) / Double(warmup) }
        switch schedule {
        case .constant: break
        case .step: factor *= Device.power(Double(gamma), (t - 1) / stepSize)
        case .cosine:
            let progress = min(1, Double(max(0, t - warmup)) / Double(max(1, totalSteps - warmup)))
            let m = Double(minFactor)
            factor *= m + (1 - m) * 0.5 * (1 + Self.cosine(progress * Double.pi))
        }
        return Float(Double(lr) * factor)
    }

    /// cos(x) for x in [0, π] by its Taylor series to x^40: IEEE operations only.
    static func cosine(_ x: Double) -> Double {
        let y = x - Double.pi / 2   // cos(x) = −sin(x − π/2), |y| ≤ π/2
        var term = y, sum = y, k = 1.0
        for _ in 0..<20 {
            term *= -y * y / ((2 * k) * (2 * k + 1))
            sum += term
            k += 1
        }
        return -sum
    }
}

/// Applies clipping and the optimizer update to every parameter on the device; no host round trip.
final class Optimizer {
    let config: OptimizerConfig
    let norms: Buffer, clip: Buffer
    /// Step count (1-based after the first `step`); restored from a checkpoint.
    var t = 0

    /// The optimizer's tensors for parameters (name, elements): each one's moments (`name.momentK`),
    /// the per-parameter clipping norms and the clipping coefficient.
    static func plan(_ plan: inout MemoryPlan, _ config: OptimizerConfig, parameters: [(String, Int)], facts: DeviceFacts) {
        for (name, n) in parameters {
            plan.uses(.reduce(count: n), facts)   // its gradient's Σg²
            for k in 0..<config.moments { plan.add(name + ".moment\(k)", n, .optimizer) }
        }
        plan.add("optimizer.norms", max(1, parameters.count), .optimizer)
        plan.add("optimizer.clip", 2, .optimizer)
    }

    init(_ config: OptimizerConfig, parameters: [Parameter], device: Device) throws {
        self.config = config
        var plan = MemoryPlan()
        Self.plan(&plan, config, parameters: parameters.map { ($0.name, $0.count) }, facts: device.facts)
        let arena = try Arena(plan, device: device)
        try device.reserveScratch(plan.deviceScratch)
        norms = arena.buffer("optimizer.norms")
        clip = arena.buffer("optimizer.clip")
        try device.fill(clip.view, 0)
        for p in parameters { try p.attachMoments(arena, device, config.moments) }
    }

    /// Global-norm clipping (fixed order: each gradient's Σg² in parameter order), then the update.
    func step(_ parameters: [Parameter], device d: Device) throws {
        t += 1
        let lr = config.rate(at: t)
        for (i, p) in parameters.enumerated() { try d.reduce(.sumOfSquares, x: p.grad.view, out: norms.view.slice(i, 1)) }
        try d.clipCoefficient(norms: norms.view.slice(0, parameters.count), maxNorm: config.clip ?? .infinity, out: clip.view)
        if config.clip != nil {
            for p in parameters { try d.scaleBy(factor: clip.view.slice(0, 1), x: p.grad.view, y: p.grad.view) }
        }
        for p in parameters {
            switch config.kind {
            case .sgd:
                try d.sgd(SGDParams(lr: lr, momentum: config.momentum, weightDecay: config.weightDecay, nesterov: config.nesterov),
                          param: p.value.view, grad: p.grad.view, velocity: p.moments.first?.view)
            case .adam, .adamw:
                try d.adam(AdamParams(lr: lr, beta1: config.beta1, beta2: config.beta2, eps: config.eps,
                                      weightDecay: config.weightDecay, decoupled: config.kind == .adamw),
                           step: t, param: p.value.view, grad: p.grad.view, m: p.moments[0].view, v: p.moments[1].view)
            }
        }
    }

    /// The gradient norm of the last step (before clipping); reads the device.
    func lastGradientNorm(_ d: Device) throws -> Float { try d.download(clip.view)[1] }
}

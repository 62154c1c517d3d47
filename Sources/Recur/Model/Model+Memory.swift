import Foundation

/// What a model (and its optimizer) will allocate on a device, in bytes, by what it holds.
public struct MemoryNeed: Sendable, Equatable, CustomStringConvertible {
    /// The parameters' values.
    public var parameters: UInt64
    /// Their gradients (training only).
    public var gradients: UInt64
    /// The optimizer's moments (with a trainer).
    public var optimizer: UInt64
    /// Everything else the model allocates: activations, saved state, backward buffers, packed
    /// weights (an inference model's one-element gradient placeholders too).
    public var activations: UInt64
    /// The sum.
    public var total: UInt64 { parameters + gradients + optimizer + activations }

    public var description: String {
        "\(mb(total)) (parameters \(mb(parameters)), gradients \(mb(gradients)), optimizer \(mb(optimizer)), activations and buffers \(mb(activations)))"
    }
}

/// Bytes in MB (KB below 0.1 MB), one decimal.
func mb(_ bytes: UInt64) -> String {
    bytes < 100_000 ? String(format: "%.1f KB", Double(bytes) / 1e3) : String(format: "%.1f MB", Double(bytes) / 1e6)
}

extension ModelConfig {
    /// Elements of every parameter, in Double so any configuration is counted without overflow.
    public var parameterElements: Double {
        let h = Double(hidden), e = Double(embedding), g = Double(cell.gates)
        var n = family == .regressor ? 0 : Double(vocab) * e
        let features: Double
        if encoder == .cnn {
            let f = Double(convFilters)
            n += convWidths.reduce(0.0) { $0 + f * e * Double($1) + f }
            features = f * Double(convWidths.count)
        } else {
            let first = family == .regressor ? Double(inputs) : e
            n += g * h * (first + h) + 2 * g * h
            n += Double(layers - 1) * (g * h * 2 * h + 2 * g * h)
            features = h
        }
        let outs = family == .languageModel ? Double(vocab) : Double(outputs)
        return n + outs * features + outs
    }
}

extension Model {
    /// Every tensor a model of `config` would hold on `device` (with `optimizer`, its trainer's
    /// optimizer state too), laid out as `Model.init` lays it out; nothing is allocated. Its
    /// `totalBytes` is exactly what building the model (and the trainer's optimizer) allocates.
    public static func plan(_ config: ModelConfig, device: Device, training: Bool = true, optimizer: OptimizerConfig? = nil) throws -> MemoryPlan {
        try config.validate()
        try admitParameters(config, device: device, training: training)
        return try plan(config, facts: device.facts, training: training, optimizer: optimizer)
    }

    /// What building this configuration on `device` allocates (`plan`'s totals).
    public static func memoryNeeded(_ config: ModelConfig, device: Device, training: Bool = true,
                                    optimizer: OptimizerConfig? = nil) throws -> MemoryNeed {
        try plan(config, device: device, training: training, optimizer: optimizer).need
    }

    /// Refuses, before anything is built, a configuration whose parameters (and gradients) alone
    /// exceed the device's memory: an absurd size is refused at once, never built part-way.
    static func admitParameters(_ config: ModelConfig, device: Device, training: Bool) throws {
        let bytes = config.parameterElements * 4 * (training ? 2 : 1)
        let budget = device.memoryBudget
        guard bytes <= Double(budget.bytes) else {
            throw ModelError.config("the model needs at least \(mb(UInt64(min(bytes, 1e18)))) for its parameters\(training ? " and gradients" : "") but \(device.info.selector) has \(mb(budget.bytes)) (\(budget.source))")
        }
    }

    /// Refuses, before anything is allocated, a model (and with `optimizer` its trainer's moments)
    /// that would not fit the device's memory (`Device.memoryBudget`), with the numbers.
    @discardableResult
    public static func admit(_ config: ModelConfig, device: Device, training: Bool = true, optimizer: OptimizerConfig? = nil) throws -> MemoryNeed {
        let need = try memoryNeeded(config, device: device, training: training, optimizer: optimizer)
        try admit(need, device: device)
        return need
    }

    /// Refuses `need` when it exceeds the device's memory, with the numbers.
    static func admit(_ need: MemoryNeed, device: Device) throws {
        let budget = device.memoryBudget
        guard need.total <= budget.bytes else {
            throw ModelError.config("the model needs \(need) but \(device.info.selector) has \(mb(budget.bytes)) (\(budget.source))")
        }
    }
}

extension Device {
    /// The memory a model may use on this device and where the number comes from: the OpenCL
    /// device's global memory; for the CPU device physical memory; for both, where the memory is the
    /// host's (the CPU device, a CPU-type OpenCL device), no more than what the process's
    /// address-space and data limits leave.
    public var memoryBudget: (bytes: UInt64, source: String) {
        // a CPU-type OpenCL device (PoCL) allocates the process's own memory, so its limits apply too
        let hostMemory = info.kind == .cpu || info.deviceType == "cpu"
        var best = (info.globalMemoryBytes, info.kind == .cpu ? "physical memory" : "its global memory")
        guard hostMemory else { return best }
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        func used(_ key: String) -> UInt64 {
            for line in status.split(separator: "\n") where line.hasPrefix(key + ":") {
                return UInt64(line.split(separator: " ").dropFirst().first ?? "").map { $0 * 1024 } ?? 0
            }
            return 0
        }
        for (resource, name, key) in [(RLIMIT_AS, "the address-space limit (ulimit -v)", "VmSize"), (RLIMIT_DATA, "the data limit (ulimit -d)", "VmData")] {
            var r = rlimit()
            guard getrlimit(__rlimit_resource_t(resource.rawValue), &r) == 0, r.rlim_cur != rlim_t.max else { continue }
            let left = UInt64(r.rlim_cur) > used(key) ? UInt64(r.rlim_cur) - used(key) : 0
            if left < best.0 { best = (left, "what \(name) leaves this process") }
        }
        return best
    }
}

import ArgumentParser
import Foundation
import Recur

/// `recur plan`: the memory plan of the model `recur train` would build from the same flags (or of a
/// checkpoint's model) on the chosen device: every tensor, its lifetime, its region and offset, the
/// bytes per lifetime class and the total. Nothing is allocated.
struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Print a model's memory plan: every tensor, its lifetime and place, and the totals.",
        discussion: "Give the model as `recur train` takes it (--task, --data, --cell, --hidden, ...), or --checkpoint RUN. --steps is not needed.")

    @Option(help: "Plan the model of this checkpoint (a run's folder, a checkpoint folder or a model.safetensors) instead.") var checkpoint: String?
    @Flag(help: "Plan for evaluation and generation (no gradients, no backward tensors) instead of training.") var inference = false
    @Flag(help: "Print the plan as one JSON object instead of a table.") var json = false
    @OptionGroup var options: DeviceOptions
    @Argument(parsing: .allUnrecognized, help: "The model's `recur train` flags.") var modelFlags: [String] = []

    func validate() throws {
        try options.refuseThreadsOffCPU()
        if checkpoint != nil && !modelFlags.isEmpty {
            throw ValidationError("--checkpoint fixes the model; drop \(modelFlags.first!)")
        }
        if checkpoint == nil && modelFlags.isEmpty { throw ValidationError("give the model's flags (--task ...) or --checkpoint RUN") }
    }

    func run() throws {
        try guarded {
            let device = try options.open()
            let plan: MemoryPlan
            if let checkpoint {
                // a training plan includes the optimizer state a --resume would allocate
                let c = inference ? try Checkpoint.loadModel(checkpoint) : try Checkpoint.load(checkpoint)
                let optimizer = inference || c.trainerMetadata.isEmpty ? nil : try c.trainerState.optimizer
                plan = try Model.plan(try c.config, device: device, training: !inference, optimizer: optimizer)
            } else {
                var flags = modelFlags
                if !flags.contains(where: { $0.hasPrefix("--steps") || $0.hasPrefix("--epochs") || $0.hasPrefix("--resume") }) { flags += ["--steps", "1"] }
                let train: TrainCommand
                do { train = try TrainCommand.parse(flags) } catch { throw Failure(TrainCommand.message(for: error)) }
                guard train.resume == nil, train.out == nil else { throw Failure("--resume and --out are for recur train; plan a run's model with --checkpoint RUN") }
                let (_, config, optimizer, _) = try train.freshRun()
                plan = try Model.plan(config, device: device, training: !inference, optimizer: inference ? nil : optimizer)
            }
            if json { try Output.line(try Console.json(PlanReport(plan, device: device)).replacingOccurrences(of: "\n", with: "").replacingOccurrences(of: "  ", with: "")) }
            else { try Output.line("memory plan on \(device.info.selector) \(device.info.name) (\(inference ? "inference" : "training"))\n\n" + plan.table) }
            let budget = device.memoryBudget
            if plan.totalBytes > budget.bytes {
                throw Failure("the plan needs \(plan.totalBytes) bytes but \(device.info.selector) has \(budget.bytes) (\(budget.source))")
            }
        }
    }
}

/// `recur plan --json`.
struct PlanReport: Encodable {
    struct Tensor: Encodable { let name: String, elements: Int, lifetime: String, region: String, offset: Int }
    let device: String
    let tensors: [Tensor]
    let bytesByLifetime: [String: UInt64]
    let totalBytes: UInt64
    let buffers: Int

    init(_ plan: MemoryPlan, device: Device) {
        self.device = device.info.selector
        tensors = plan.tensors.map { Tensor(name: $0.name, elements: $0.elements, lifetime: $0.lifetime.rawValue, region: $0.slot, offset: $0.offset) }
        bytesByLifetime = Dictionary(uniqueKeysWithValues: plan.bytesByLifetime.map { ($0.key.rawValue, $0.value) })
        totalBytes = plan.totalBytes
        buffers = plan.slots.count
    }
}

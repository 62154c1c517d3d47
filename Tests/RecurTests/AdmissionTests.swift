import Foundation
@testable import Recur
import Testing

/// Memory admission: what a model will allocate is counted before anything is allocated, and a
/// model that would not fit the device is refused with the numbers.
@Suite struct AdmissionTests {
    static let setups = TrainingTests.setups + TrainingTests.wide

    @Test("The plan made before building equals what the device allocates, training and inference, on both devices",
          arguments: ["cpu", "opencl"])
    func planEqualsAllocation(_ which: String) throws {
        for s in Self.setups {
            for training in [true, false] {
                // a device of its own, so no other test's buffers are counted
                guard let device = which == "cpu" ? Device.cpu(threads: 1) : try KernelVariantTests.openCLIndex.map({ try Devices.openCL($0) }) else {
                    Issue.record("no OpenCL device"); return
                }
                let (_, config) = try TrainingTests.model(s)
                let plan = try Model.plan(config, device: device, training: training)
                let before = device.activity, scratch = device.scratchSize   // a device keeps the scratch its self-test sized
                let model = try Model(config, device: device, seed: 3, training: training)
                let allocated = UInt64(device.activity.allocatedBytes - before.allocatedBytes)
                let need = plan.deviceScratch
                let grown = [(need.transposed, scratch.transposed), (need.partials, scratch.partials)].filter { $0.0 > $0.1 }
                #expect(plan.modelBytes + UInt64(grown.reduce(0) { $0 + $1.0 }) * 4 == allocated,
                        "\(s.name), training \(training): planned \(plan.totalBytes) (device scratch \(need), held \(scratch)), allocated \(allocated)")
                let regions = plan.slots.filter { $0.lifetime != .device }.count
                #expect(device.activity.allocations - before.allocations == regions + grown.count, "\(s.name): one buffer per region")
                #expect(device.scratchSize.transposed >= need.transposed && device.scratchSize.partials >= need.partials)
                #expect(model.memory == plan.need)
                let parameters = model.parameters.reduce(0) { $0 + $1.count }
                #expect(config.parameterElements == Double(parameters), "\(s.name)")
                #expect(plan.need.parameters == UInt64(parameters * 4) && plan.need.gradients == (training ? plan.need.parameters : UInt64(model.parameters.count * 4)))
                #expect(plan.need.activations > 0)
                // every parameter's value and gradient is planned under its state_dict name
                for p in model.parameters { #expect(plan[p.name]?.lifetime == .parameter && plan[p.name + ".grad"]?.lifetime == .gradient) }
            }
        }
    }

    @Test("A trainer allocates exactly its model's plan with the optimizer's state (the CPU device: no scratch sized at run time)",
          arguments: [OptimizerConfig.Kind.adam, .sgd])
    func trainerPlanEqualsAllocation(_ kind: OptimizerConfig.Kind) throws {
        for s in Self.setups {
            let device = Device.cpu(threads: 1)
            let (task, config) = try TrainingTests.model(s)
            var o = OptimizerConfig(); o.kind = kind
            let plan = try Model.plan(config, device: device, optimizer: o)
            let before = device.activity.allocatedBytes
            _ = try Trainer(model: try Model(config, device: device, seed: 3), task: task, optimizer: o, options: TrainOptions(steps: 2))
            #expect(plan.totalBytes == UInt64(device.activity.allocatedBytes - before), "\(s.name) \(kind)")
            #expect(plan.need.optimizer == plan.need.parameters * UInt64(o.moments) + UInt64(plan.tensors.filter { $0.lifetime == .parameter }.count + 2) * 4)
        }
    }

    @Test("Tensors share a region only as declared: the shared ∂h holds the layers' ∂x and the head's, an inference stack's layers share one pre-activation tensor")
    func sharing() throws {
        let device = Device.cpu(threads: 1)
        let (_, lm) = try TrainingTests.model(TrainingTests.setups[7])   // a 2-layer GRU language model
        let plan = try Model.plan(lm, device: device)
        #expect(plan["rnn.l1.dX"]?.slot == "dH" && plan["fc.dInput"]?.slot == "dH")
        let inference = try Model.plan(lm, device: device, training: false)
        #expect(inference["rnn.l0.gi"]?.slot == "rnn.gi" && inference["rnn.l1.gi"]?.slot == "rnn.gi")
        #expect(inference.totalBytes < plan.totalBytes)
        // every region is as large as its largest tenant
        for slot in plan.slots {
            let tenants = plan.tensors.filter { $0.slot == slot.name }
            #expect(slot.elements == tenants.map { $0.offset + $0.elements }.max())
        }
        #expect(plan.table.contains("rnn.l1.dX") && plan.table.contains("shares dH") && plan.table.contains("total"))
    }

    @Test("A trainer's plan adds its optimizer's moments (two for Adam, one for SGD with momentum, none without) and its clipping norms")
    func optimizerMoments() throws {
        let (_, config) = try TrainingTests.model(TrainingTests.setups[2])
        var adam = OptimizerConfig(); adam.kind = .adam
        var sgd = OptimizerConfig(); sgd.kind = .sgd; sgd.momentum = 0.9
        var plain = sgd; plain.momentum = 0
        let device = Device.cpu(threads: 1)
        let base = try Model.memoryNeeded(config, device: device)
        // and one clipping norm per parameter tensor, and the clipping coefficient's two numbers
        let norms = UInt64(try Model(config, device: device, seed: 1).parameters.count + 2) * 4
        #expect(try Model.memoryNeeded(config, device: device, optimizer: adam).optimizer == 2 * base.parameters + norms)
        #expect(try Model.memoryNeeded(config, device: device, optimizer: sgd).optimizer == base.parameters + norms)
        #expect(try Model.memoryNeeded(config, device: device, optimizer: plain).optimizer == norms)
    }

    @Test("A configuration beyond the device's memory is refused at once with the numbers, before anything is allocated",
          arguments: ["cpu", "opencl"])
    func oversizedRefused(_ which: String) throws {
        guard let device = which == "cpu" ? Device.cpu(threads: 1) : try KernelVariantTests.openCLIndex.map({ try Devices.openCL($0) }) else { return }
        var config = ModelConfig(family: .languageModel)
        config.vocab = 50; config.embedding = 16; config.batch = 1; config.sequence = 1
        // parameters of 4·H·2H per layer: sized from the device's own budget, so no instance is special
        let budget = Double(device.memoryBudget.bytes)
        config.hidden = 4096
        config.layers = min(ModelConfig.maxLayers, Int(budget / (4 * 4096 * 2 * 4096 * 4)) + 2)
        #expect(config.parameterElements * 4 > budget)
        let start = Date(), before = device.activity.allocations
        #expect {
            _ = try Model(config, device: device, seed: 1, training: false)
        } throws: { error in
            let text = "\(error)"
            return text.contains("the model needs at least") && text.contains(mb(device.memoryBudget.bytes)) && text.contains(device.info.selector)
        }
        #expect(Date().timeIntervalSince(start) < 5)
        #expect(device.activity.allocations == before, "nothing allocated")
        config.layers = ModelConfig.maxLayers + 1
        #expect(throws: ModelError.config("--layers must be in 1...\(ModelConfig.maxLayers), got \(ModelConfig.maxLayers + 1)")) {
            _ = try Model(config, device: device, seed: 1, training: false)
        }
    }

    @Test("Under an address-space limit the CPU device's budget is what the limit leaves, and a trainer that would not fit is refused before its model is built")
    func processLimitRefused() throws {
        // about 2.5 GB to train (Adam), under a 2 GB address-space limit: refused before the model is built
        let args = ["train", "--task", "memory", "--device", "cpu", "--cell", "lstm", "--hidden", "2048", "--layers", "4",
                    "--steps", "1", "--out", Scratch.path("admission")]
        let start = Date()
        let r = try RecurProcess.tool("/bin/bash", ["-c", "ulimit -v 2000000; exec \"$0\" \"$@\"", RecurProcess.executable.path] + args)
        #expect(r.exited && r.status == 1, "\(r.output)")
        #expect(r.output.contains("the model needs ") && r.output.contains("the address-space limit (ulimit -v)"), "\(r.output)")
        #expect(r.output.contains("parameters 472.2 MB, gradients 472.2 MB, optimizer 944.4 MB"), "the trainer's moments are counted: \(r.output)")
        #expect(Date().timeIntervalSince(start) < 20, "refused before anything was built")
    }
}

import Foundation
@testable import Recur
import Testing

/// Memory admission: what a model will allocate is counted before anything is allocated, and a
/// model that would not fit the device is refused with the numbers.
@Suite struct AdmissionTests {
    static let setups = TrainingTests.setups + TrainingTests.wide

    @Test("The count made before building equals what the device allocates, training and inference, on both devices",
          arguments: ["cpu", "opencl"])
    func countEqualsAllocation(_ which: String) throws {
        for s in Self.setups {
            for training in [true, false] {
                // a device of its own, so no other test's buffers are counted
                guard let device = which == "cpu" ? Device.cpu(threads: 1) : try KernelVariantTests.openCLIndex.map({ try Devices.openCL($0) }) else {
                    Issue.record("no OpenCL device"); return
                }
                let (_, config) = try TrainingTests.model(s)
                let before = device.activity.allocatedBytes
                let model = try Model(config, device: device, seed: 3, training: training)
                let allocated = UInt64(device.activity.allocatedBytes - before)
                let need = try #require(model.memory)
                #expect(need.total == allocated, "\(s.name), training \(training): counted \(need.total), allocated \(allocated)")
                let parameters = model.parameters.reduce(0) { $0 + $1.count }
                #expect(config.parameterElements == Double(parameters), "\(s.name)")
                #expect(need.parameters == UInt64(parameters * 4) && need.gradients == (training ? need.parameters : 0))
                #expect(need.activations > 0)
            }
        }
    }

    @Test("A trainer's count adds its optimizer's moments: two for Adam, one for SGD with momentum, none without")
    func optimizerMoments() throws {
        let (_, config) = try TrainingTests.model(TrainingTests.setups[2])
        var adam = OptimizerConfig(); adam.kind = .adam
        var sgd = OptimizerConfig(); sgd.kind = .sgd; sgd.momentum = 0.9
        var plain = sgd; plain.momentum = 0
        let device = Device.cpu(threads: 1)
        let base = try Model.memoryNeeded(config, device: device)
        #expect(try Model.memoryNeeded(config, device: device, optimizer: adam).optimizer == 2 * base.parameters)
        #expect(try Model.memoryNeeded(config, device: device, optimizer: sgd).optimizer == base.parameters)
        #expect(try Model.memoryNeeded(config, device: device, optimizer: plain).optimizer == 0)
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

import Foundation
import Recur
import Testing

/// Whole training runs: identical checkpoint bytes on the CPU and the OpenCL device, resume
/// identical to an uninterrupted run, and the model's gradients against finite differences.
@Suite(.serialized) struct TrainingTests {
    struct Setup: Sendable, CustomStringConvertible {
        let name: String
        let spec: TaskSpec
        let configure: @Sendable (inout ModelConfig) -> Void
        var description: String { name }
    }

    static let tsv: String = {
        let path = Scratch.root.appendingPathComponent("train.tsv").path
        var lines: [String] = []
        for i in 0..<60 { lines.append(i % 3 == 0 ? "neg\tawful dull film \(i)" : i % 3 == 1 ? "pos\tgreat fine film \(i)" : "mid\tso so \(i)") }
        try? lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }()

    static let text: String = {
        let path = Scratch.root.appendingPathComponent("train.txt").path
        try? String(repeating: "the quick brown fox jumps over the lazy dog. ", count: 40).write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }()

    static let setups: [Setup] = [
        Setup(name: "charlm 2-layer LSTM with dropout", spec: { var s = TaskSpec(task: "charlm"); s.data = text; return s }()) {
            $0.cell = .lstm; $0.layers = 2; $0.dropout = 0.2; $0.hidden = 12; $0.embedding = 8; $0.batch = 4; $0.sequence = 7
        },
        Setup(name: "classify CNN", spec: { var s = TaskSpec(task: "classify"); s.data = tsv; return s }()) {
            $0.encoder = .cnn; $0.convWidths = [2, 3]; $0.convFilters = 5; $0.embedding = 6; $0.batch = 5; $0.sequence = 12; $0.dropout = 0.3
        },
        Setup(name: "memory GRU", spec: { var s = TaskSpec(task: "memory"); s.maxDistance = 4; return s }()) {
            $0.cell = .gru; $0.hidden = 10; $0.embedding = 6; $0.batch = 6
        },
        Setup(name: "adding RNN", spec: TaskSpec(task: "adding")) {
            $0.cell = .rnn; $0.hidden = 9; $0.batch = 5; $0.sequence = 8
        },
        Setup(name: "charlm LSTM, embedding folded", spec: { var s = TaskSpec(task: "charlm"); s.data = text; return s }()) {
            $0.cell = .lstm; $0.hidden = 12; $0.embedding = 8; $0.batch = 4; $0.sequence = 7; $0.embeddingFold = .always
        },
        Setup(name: "classify CNN, embedding folded", spec: { var s = TaskSpec(task: "classify"); s.data = tsv; return s }()) {
            $0.encoder = .cnn; $0.convWidths = [2, 3]; $0.convFilters = 5; $0.embedding = 6; $0.batch = 5; $0.sequence = 12; $0.dropout = 0.3
            $0.embeddingFold = .always
        },
        Setup(name: "memory GRU, embedding folded", spec: { var s = TaskSpec(task: "memory"); s.maxDistance = 4; return s }()) {
            $0.cell = .gru; $0.hidden = 10; $0.embedding = 6; $0.batch = 6; $0.embeddingFold = .always
        },
        Setup(name: "charlm 2-layer GRU", spec: { var s = TaskSpec(task: "charlm"); s.data = text; return s }()) {
            $0.cell = .gru; $0.layers = 2; $0.hidden = 10; $0.embedding = 7; $0.batch = 3; $0.sequence = 8
        },
    ]

    /// Token models whose first layer after the embedding can fold it.
    static let foldable: [Setup] = [setups[0], setups[1], setups[2],
        Setup(name: "charlm RNN", spec: { var s = TaskSpec(task: "charlm"); s.data = text; return s }()) {
            $0.cell = .rnn; $0.hidden = 11; $0.embedding = 7; $0.batch = 3; $0.sequence = 9
        }]

    /// The setup's task and the model configuration it fixes.
    static func model(_ s: Setup) throws -> (any TrainingTask, ModelConfig) {
        let task = try s.spec.make(seed: 3)
        var c = ModelConfig(family: s.spec.family())
        s.configure(&c)
        try task.configure(&c)
        return (task, c)
    }

    /// A trainer for `steps` steps (the schedule's length) that stops after `stopAt` (default: all).
    static func trainer(_ s: Setup, on d: Device, steps: Int, stopAt: Int? = nil) throws -> Trainer {
        let (task, c) = try model(s)
        if let m = task as? MemoryTask { m.samplesPerDistance = 4 }
        if let a = task as? AddingTask { a.validationSamples = 8 }
        if let l = task as? CharLMTask { l.evalBatches = 2 }
        var o = OptimizerConfig()
        o.kind = .adamw; o.weightDecay = 0.01; o.clip = 1; o.schedule = .cosine; o.warmup = 2; o.totalSteps = steps
        var t = TrainOptions(steps: stopAt ?? steps)
        t.evalEvery = 3; t.logEvery = 1
        return try Trainer(model: try Model(c, device: d, seed: 3), task: task, optimizer: o, options: t)
    }

    static func files(_ dir: URL) throws -> [Data] {
        let c = dir.appendingPathComponent("checkpoint")
        return try ["model.safetensors", "trainer.safetensors"].map { try Data(contentsOf: c.appendingPathComponent($0)) }
    }

    @Test("The same run on the CPU and the OpenCL device ends in identical checkpoint bytes", arguments: setups)
    func cpuAndOpenCLCheckpointsIdentical(_ s: Setup) throws {
        guard let device = TestDevices.openCL() else { return }
        let a = try Scratch.folder("cpu"), b = try Scratch.folder("ocl")
        let ra = try Self.trainer(s, on: TestDevices.cpu, steps: 4).run(out: a)
        let rb = try Self.trainer(s, on: device, steps: 4).run(out: b)
        #expect(ra.trainLoss.bitPattern == rb.trainLoss.bitPattern)
        #expect(ra.valLoss.bitPattern == rb.valLoss.bitPattern)
        #expect(try Self.files(a) == (try Self.files(b)))
    }

    /// Language models whose stacks make ∂h step by step on a CPU-type OpenCL device (`StepGradient`):
    /// through the whole stack, and from the head only (dropout between the layers). In the last, the
    /// GPU-style device's transposed weight pair fits in its (T, B, H) ∂h buffer and is kept there.
    static let stepwise: [Setup] = [setups[7], setups[0], setups[4],
        Setup(name: "charlm 2-layer LSTM, batch 16", spec: setups[0].spec) { setups[0].configure(&$0); $0.dropout = 0; $0.batch = 16 }]

    @Test("The OpenCL device's ∂h made step by step (register-blocked kernels) and stored with transposed weights (a GPU's tiled kernels) end in the CPU's checkpoint bytes",
          arguments: stepwise)
    func stepwiseAndStoredIdentical(_ s: Setup) throws {
        guard let index = KernelVariantTests.openCLIndex else { return }
        let rb = try Devices.openCL(index, tuning: KernelTuning(matmul: .rb, rbM: 6, rbV: 1, kBlock: 5))
        let tiled = try Devices.openCL(index, tuning: KernelTuning(matmul: .tiled, tile: 8))
        let (_, c) = try Self.model(s)
        // the (T, B, H) ∂h the step-by-step device does without, less what it allocates in its place
        // (layer 0's ∂x for batches too small to fold, which the other keeps in that buffer): over half
        let stored = UInt64(c.batch * c.sequence * c.hidden * 4)
        let rbBytes = try Model.plan(c, device: rb).modelBytes, tiledBytes = try Model.plan(c, device: tiled).modelBytes
        #expect(rbBytes + stored / 2 <= tiledBytes, "\(s.name): ∂h not made step by step")
        let out = try ["cpu", "rb", "tiled"].map { try Scratch.folder($0) }
        let runs = try zip([TestDevices.cpu, rb, tiled], out).map { try Self.trainer(s, on: $0, steps: 4).run(out: $1) }
        for (r, dir) in zip(runs.dropFirst(), out.dropFirst()) {
            #expect(r.trainLoss.bitPattern == runs[0].trainLoss.bitPattern, "\(s.name): \(dir.lastPathComponent)")
            #expect(try Self.files(dir) == (try Self.files(out[0])), "\(s.name): \(dir.lastPathComponent)")
        }
    }

    /// Batches large enough for the CPU device to split their rows over threads (`Device.rowParts`).
    static let wide: [Setup] = [
        Setup(name: "charlm 2-layer LSTM with dropout, batch 24", spec: setups[0].spec) { setups[0].configure(&$0); $0.batch = 24 },
        Setup(name: "memory GRU, batch 26", spec: setups[2].spec) { setups[2].configure(&$0); $0.batch = 26 },
        Setup(name: "adding RNN, batch 17", spec: setups[3].spec) { setups[3].configure(&$0); $0.batch = 17 },
    ]

    @Test("Batch rows split over CPU threads keep the bits: 1, 2 and 3 threads and the OpenCL device end in identical checkpoint bytes",
          arguments: wide)
    func rowPartsIdentical(_ s: Setup) throws {
        guard let opencl = TestDevices.openCL() else { return }
        let devices = [Device.cpu(threads: 1), Device.cpu(threads: 2), Device.cpu(threads: 3), opencl]
        var results: [[Data]] = []
        for d in devices {
            let dir = try Scratch.folder("parts")
            _ = try Self.trainer(s, on: d, steps: 4).run(out: dir)
            results.append(try Self.files(dir))
        }
        #expect(devices[0].rowPartJobs == 0)
        #expect(devices[1].rowPartJobs > 0, "\(s.name): 2 threads never split the rows")
        #expect(devices[2].rowPartJobs > 0, "\(s.name): 3 threads never split the rows")
        for (d, r) in zip(devices.dropFirst(), results.dropFirst()) {
            #expect(r == results[0], "\(s.name): \(d.info.selector) differs from one CPU thread")
        }
        // An inference model's forward in chunks of steps, its rows in parts, against one thread.
        let long = Setup(name: s.name, spec: s.spec) { s.configure(&$0); $0.sequence = 30 }
        let (task, c) = try Self.model(long)
        var outputs: [[UInt32]] = []
        for d in devices.prefix(3) {
            let m = try Model(c, device: d, seed: 3, training: false)
            try m.forward(task.batch(step: 0, b: c.batch, T: c.sequence), step: nil)
            outputs.append(bits(try m.outputs()))
        }
        #expect(outputs[1] == outputs[0] && outputs[2] == outputs[0], "\(s.name): inference in parts differs")
    }

    @Test("Training steps, the first included, allocate no buffer and never wait for the device: the plan reserved the device's scratch (CPU, OpenCL with register-blocked and with tiled kernels)",
          arguments: setups)
    func stepsNeitherAllocateNorWait(_ s: Setup) throws {
        guard TestDevices.openCL() != nil, let index = KernelVariantTests.openCLIndex else { return }
        for name in ["cpu", "opencl", "tiled"] {
            // its own device: no other test's work in its counts
            let device = name == "tiled" ? try Devices.openCL(index, tuning: KernelTuning(matmul: .tiled, tile: 8)) : try Devices.select(name).device
            let t = try Self.trainer(s, on: device, steps: 6)
            let before = device.activity
            #expect(before.allocations > 0)
            for _ in 0..<4 { try t.trainStep() }
            let after = device.activity
            #expect(after == before, "\(name) \(s.name): \(before) before the first step, \(after) four steps later")
            #expect(try t.model.lossValue().isFinite)   // the queued steps ran: the read waits once
            #expect(device.activity.waits == after.waits + 1)
        }
    }

    @Test("A model built for inference gives the training model's evaluation bits with fewer allocations, and refuses training", arguments: setups)
    func inferenceModel(_ s: Setup) throws {
        let (task, c) = try Self.model(s)
        let full = Device.cpu(), lean = Device.cpu()
        let trained = try Model(c, device: full, seed: 3), inference = try Model(c, device: lean, seed: 3, training: false)
        #expect(lean.activity.allocatedBytes < full.activity.allocatedBytes, "\(lean.activity) vs \(full.activity)")
        for step in 0..<2 {   // the second batch of a language model starts from the carried state
            let batch = task.batch(step: step, b: c.batch, T: c.sequence)
            try trained.forward(batch, step: nil)
            try inference.forward(batch, step: nil)
            #expect(try trained.lossValue().bitPattern == inference.lossValue().bitPattern, "\(s.name) batch \(step)")
            #expect(bits(try trained.outputs()) == bits(try inference.outputs()), "\(s.name) batch \(step)")
            if c.family == .languageModel { try trained.carryState(); try inference.carryState() }
        }
        #expect(throws: ModelError.self) { try inference.backward() }
        #expect(throws: ModelError.self) { try inference.forward(task.batch(step: 0, b: c.batch, T: c.sequence), step: 0) }
        #expect(throws: ModelError.self) { try Trainer(model: inference, task: task, optimizer: OptimizerConfig(), options: TrainOptions(steps: 1)) }
    }

    @Test("An inference model projects long inputs a chunk of steps at a time, with the training model's bits (CPU and OpenCL)",
          arguments: [setups[0], setups[4], setups[3],
                      Setup(name: "charlm GRU", spec: { var s = TaskSpec(task: "charlm"); s.data = text; return s }()) {
                          $0.cell = .gru; $0.hidden = 10; $0.embedding = 6 }])
    func inferenceChunks(_ s: Setup) throws {
        let long = Setup(name: s.name, spec: s.spec) { s.configure(&$0); $0.sequence = 60; $0.batch = 3 }
        let (task, c) = try Self.model(long)
        #expect(c.sequence == 60)   // inference projects 25 steps at a time: two whole chunks and a part
        var devices = [Device.cpu()]
        if let d = TestDevices.openCL() { devices.append(d) }
        for d in devices {
            let trained = try Model(c, device: d, seed: 3), inference = try Model(c, device: d, seed: 3, training: false)
            for step in 0..<2 {
                let batch = task.batch(step: step, b: c.batch, T: c.sequence)
                try trained.forward(batch, step: nil)
                try inference.forward(batch, step: nil)
                #expect(bits(try trained.outputs()) == bits(try inference.outputs()), "\(s.name) on \(d.info.selector), batch \(step)")
                if c.family == .languageModel { try trained.carryState(); try inference.carryState() }
            }
        }
    }

    @Test("Folding the embedding keeps the forward's bits (recurrent; the conv's values) and the gradients' values", arguments: foldable)
    func embeddingFold(_ s: Setup) throws {
        var (task, c) = try Self.model(s)
        let batch = task.batch(step: 0, b: c.batch, T: c.sequence)
        var grads: [[[Float]]] = [], outputs: [[Float]] = []
        for fold in [ModelConfig.EmbeddingFold.never, .always] {
            c.embeddingFold = fold
            let m = try Model(c, device: TestDevices.cpu, seed: 3)
            try m.forward(batch, step: nil)
            try m.backward()
            outputs.append(try m.outputs() + [try m.lossValue()])
            grads.append(try m.parameters.map { try m.device.download($0.grad.view) })
        }
        if c.encoder == .recurrent {
            #expect(bits(outputs[0]) == bits(outputs[1]), "\(s.name): folded forward bits differ")
        } else {
            for (x, y) in zip(outputs[0], outputs[1]) { #expect(abs(x - y) <= 1e-5 * max(1, abs(x)), "\(s.name): output \(x) unfolded, \(y) folded") }
        }
        var differing = 0
        for (p, (a, b)) in zip(grads[0], grads[1]).enumerated() {
            let scale = a.map { abs($0) }.max() ?? 0
            for (x, y) in zip(a, b) {
                #expect(abs(x - y) <= 1e-5 * scale + 1e-9, "\(s.name) parameter \(p): \(x) unfolded, \(y) folded")
                if x != y { differing += 1 }
            }
        }
        #expect(differing > 0, "\(s.name): the folded backward should sum in another order")   // it ran the folded path
    }

    @Test("Resuming from a checkpoint gives the bytes of an uninterrupted run", arguments: setups)
    func resumeIsIdentical(_ s: Setup) throws {
        let straight = try Scratch.folder("straight"), split = try Scratch.folder("split")
        _ = try Self.trainer(s, on: TestDevices.cpu, steps: 6).run(out: straight)
        _ = try Self.trainer(s, on: TestDevices.cpu, steps: 6, stopAt: 3).run(out: split)
        let resumed = try Self.trainer(s, on: TestDevices.cpu, steps: 6)
        try resumed.restore(try Checkpoint.load(split.appendingPathComponent("checkpoint").path))
        #expect(resumed.step == 3)
        _ = try resumed.run(out: split)
        #expect(try Self.files(straight) == (try Self.files(split)))
    }

    @Test("Whole-model gradients match finite differences of the loss", arguments: setups)
    func modelGradients(_ s: Setup) throws {
        let t = try Self.trainer(s, on: TestDevices.cpu, steps: 1)
        let m = t.model, d = m.device
        let batch = t.task.batch(step: 0, b: m.config.batch, T: m.config.sequence)
        // Without dropout (step nil) the loss is a deterministic function of the parameters.
        func loss() throws -> Double {
            try m.resetState()
            try m.forward(batch, step: nil)
            return Double(try m.lossValue())
        }
        try m.resetState()
        try m.forward(batch, step: nil)
        try m.backward()
        var checked = 0
        for p in m.parameters {
            let g = try d.download(p.grad.view), v = try d.download(p.value.view)
            for i in stride(from: 0, to: p.count, by: max(1, p.count / 5)) where abs(g[i]) > 2e-3 {
                let h: Float = 1e-2
                var w = v
                w[i] = v[i] + h; try d.upload(w, to: p.value.view); let up = try loss()
                w[i] = v[i] - h; try d.upload(w, to: p.value.view); let down = try loss()
                try d.upload(v, to: p.value.view)
                let fd = (up - down) / Double(2 * h)
                #expect(abs(fd - Double(g[i])) <= 0.05 * abs(fd) + 2e-4, "\(p.name)[\(i)]: backward \(g[i]), finite difference \(fd)")
                checked += 1
            }
        }
        #expect(checked >= 5)
    }
}

import ArgumentParser
import Foundation
import Recur

/// The main job: a plain RNN and an LSTM of the same size learn the memory task; accuracy by
/// distance side by side; the device's bits checked against the CPU on the fly; an SVG chart.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Train an RNN and an LSTM on the memory task and compare them; check devices agree bit for bit.",
        discussion: "The models train on the chosen device (default: the first admitted OpenCL device, else the CPU); three training steps are repeated on the CPU device and compared bit for bit.")

    @Option(parsing: .unconditional, help: "Longest distance between the fact and the question (1...\(MemoryTask.maxDistanceLimit)).") var maxDistance = 60
    @Option(parsing: .unconditional, help: "Training steps per model (≥ 1).") var steps = 1500
    @Option(parsing: .unconditional, help: "Hidden size of both models (≥ 1).") var hidden = 64
    @Option(help: "Folder for the chart.") var out = "recur-demo"
    @Option(parsing: .unconditional, help: "Seed.") var seed: UInt64 = 7
    @OptionGroup var options: DeviceOptions

    /// The flags, and the models they make (sizes, steps × batch × sequence), before any training.
    func validate() throws {
        try options.refuseThreadsOffCPU()
        try Check.positive(steps, "--steps")
        try Check.positive(hidden, "--hidden")
        try Check.range(maxDistance, 1...MemoryTask.maxDistanceLimit, "--max-distance")
        try Check.folder(out, "--out")
        try Check.parseTime {
            let c = try config()
            try c.validate()
            if Sizes.product(steps, c.batch, c.sequence) == nil {
                throw Failure("--steps \(steps) × batch \(c.batch) × sequence \(c.sequence) is more than 2^63 - 1 positions; lower --steps")
            }
        }
    }

    /// Both models' configuration (the cell aside).
    func config() throws -> ModelConfig {
        var c = ModelConfig(family: .classifier)
        c.hidden = hidden; c.embedding = 32; c.batch = 32
        try MemoryTask(seed: seed, minDistance: 1, maxDistance: maxDistance).configure(&c)
        return c
    }

    func run() throws {
        try guarded {
            // the folder and the chart's place are checked before minutes of training, not after
            try Check.makeFolder(out, "--out")
            let chartPath = URL(fileURLWithPath: out).appendingPathComponent("memory-accuracy.svg").path
            do { try UserFile.check(chartPath) } catch { throw Failure("\(shownPath(chartPath)): cannot write the chart (\(error))") }
            let train = try options.open(), check: Device
            if train.info.kind == .opencl {
                check = Device.cpu(threads: options.threads)
            } else {
                check = Device.cpu(threads: 1)
                Console.note("no OpenCL device to compare with: checking the CPU device against itself on one thread")
            }
            try Output.line("Recur demo: the memory task. \"<name> was born in <city> . <d filler words> . she dreams in fluent ___\"")
            try Output.line("Two models of the same size (embedding 32, hidden \(hidden)), \(steps) steps each, on \(train.info.selector) \(train.info.name).\n")

            let identical = try agreement(train, check)
            try Output.line("bit-identity check: 3 LSTM training steps on \(train.info.selector) and on \(check.info.selector): " + (identical ? "parameters identical" : "PARAMETERS DIFFER"))

            var results: [(String, Evaluation, Double)] = []
            for (cell, lr) in [(CellKind.rnn, Float(5e-4)), (CellKind.lstm, Float(5e-3))] {
                try Output.line("training \(cell.rawValue.uppercased()) (Adam, lr \(lr))...")
                let (trainer, _) = try make(train, cell: cell, lr: lr, steps: steps)
                let started = Date()
                let summary = try trainer.run(out: nil)
                results.append((cell.rawValue.uppercased(), summary.evaluation!, Date().timeIntervalSince(started)))
            }
            try Output.line("\naccuracy by distance (held-out sentences; chance 12.5%)")
            try Output.line("distance      RNN     LSTM")
            let rnn = results[0].1.byDistance!, lstm = results[1].1.byDistance!
            for (r, l) in zip(rnn, lstm) {
                try Output.line(String(format: "%8d   %5.1f%%   %5.1f%%", r.distance, r.accuracy * 100, l.accuracy * 100))
            }
            for (name, e, seconds) in results {
                try Output.line(String(format: "%@: overall %.1f%% in %.0f s", name, (e.accuracy ?? 0) * 100, seconds))
            }
            var chart = SVGChart(title: "Memory task: accuracy by distance", xLabel: "filler words between fact and question",
                                 yLabel: "accuracy (%)",
                                 series: [.init("RNN", rnn.map { (Double($0.distance), Double($0.accuracy) * 100) }, color: "#d62728"),
                                          .init("LSTM", lstm.map { (Double($0.distance), Double($0.accuracy) * 100) }, color: "#1f77b4")])
            chart.reference = (12.5, "chance")
            chart.yRange = 0...100
            do { try UserFile.write(chart.render(), to: chartPath) } catch { throw Failure("\(shownPath(chartPath)): cannot write the chart (\(error))") }
            try Output.line("\nchart: \(chartPath)")
            if !identical { throw ExitCode(1) }
        }
    }

    func make(_ d: Device, cell: CellKind, lr: Float, steps: Int) throws -> (Trainer, MemoryTask) {
        let task = try MemoryTask(seed: seed, minDistance: 1, maxDistance: maxDistance)
        var c = try config()
        c.cell = cell
        var o = OptimizerConfig()
        o.lr = lr
        var t = TrainOptions(steps: steps)
        t.evalEvery = steps; t.logEvery = steps
        return (try Trainer(model: try Model(c, device: d, seed: seed), task: task, optimizer: o, options: t), task)
    }

    /// Three training steps on each device; true when every parameter has the same bits.
    func agreement(_ a: Device, _ b: Device) throws -> Bool {
        var params: [[[UInt32]]] = []
        for d in [a, b] {
            let (trainer, task) = try make(d, cell: .lstm, lr: 5e-3, steps: 3)
            task.samplesPerDistance = 1
            _ = try trainer.run(out: nil)
            params.append(try trainer.model.parameters.map { try d.download($0.value.view, as: UInt32.self) })
        }
        return params[0] == params[1]
    }
}

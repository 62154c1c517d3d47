import ArgumentParser
import Foundation
import Recur

/// Loads a checkpoint into a fresh model on the chosen device.
func loadModel(_ path: String, options: DeviceOptions, batch: Int? = nil, sequence: Int? = nil) throws -> (Model, DataDescription) {
    let device = try options.open()
    return try Model.load(path, device: device, batch: batch, sequence: sequence)
}

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "eval", abstract: "Evaluate a checkpoint on data.")

    @Option(help: "Checkpoint folder, its `checkpoint` link, a training run's --out folder (its latest checkpoint), or a model.safetensors file.") var checkpoint: String
    @Option(help: "Data to evaluate on (charlm: the whole file; classify: a TSV; forecast: the CSV's last fifth; memory and adding generate their own).") var data: String?
    @Option(help: "forecast: column (default: the one trained on).") var column: String?
    @Option(help: "forecast: fill missing values with previous, linear or zero (default: the checkpoint's; without one, missing values are an error).") var fill: String?
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var options: DeviceOptions

    func validate() throws {
        try options.refuseThreadsOffCPU()
        if let fill { try Check.oneOf(fill, ["previous", "linear", "zero"], "--fill") }
    }

    /// The checkpoint's task decides which flags apply: one it would not use is refused, not ignored.
    func checkRelevance(task: String) throws {
        let from = "--checkpoint \(checkpoint) is a \(task) model"
        if ["memory", "adding"].contains(task) && data != nil { throw Failure("--data: \(from), evaluated on data it generates") }
        if !["memory", "adding"].contains(task) && data == nil { throw Failure("--data: \(from); give --data FILE to evaluate it on") }
        for (given, flag) in [(column != nil, "--column"), (fill != nil, "--fill")] where given && task != "forecast" {
            throw Failure("\(flag) is for forecast checkpoints; \(from)")
        }
    }

    func run() throws {
        try guarded {
            let (model, known) = try loadModel(checkpoint, options: options)
            try checkRelevance(task: known.task)
            var spec = TaskSpec(task: known.task)
            spec.data = data; spec.column = column; spec.fill = fill
            let task = try spec.make(seed: model.seed, known: known, evaluationOnly: true)
            let e = try task.evaluate(model)
            if json { try Output.line(try Console.json(e)); return }
            try Output.line(String(format: "%@ on %@: loss %.4f", known.task, data ?? "generated data", e.loss)
                  + (e.accuracy.map { String(format: ", accuracy %.2f%%", $0 * 100) } ?? "")
                  + (e.bitsPerCharacter.map { String(format: ", %.3f bits/char", $0) } ?? "")
                  + (e.mse.map { String(format: ", MSE %.4g", $0) } ?? "")
                  + (e.baselineMSE.map { String(format: ", baseline MSE %.4g (%@)", $0, e.baselineName ?? "") } ?? ""))
            for c in e.perClass ?? [] { try Output.line("  \(c.label): \(c.correct)/\(c.total) correct") }
            for r in e.byDistance ?? [] { try Output.line(String(format: "  distance %3d: %.1f%%", r.distance, r.accuracy * 100)) }
        }
    }
}

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate", abstract: "Sample text from a character language model.",
        discussion: "The prompt and then each character are written to standard output as they are sampled. If standard output cannot be written (closed, a closed pipe, a full disk), sampling stops and the exit status is 1.")

    @Option(help: "Checkpoint of a charlm run.") var checkpoint: String
    @Option(help: "Text to start from.") var prompt = ""
    @Option(parsing: .unconditional, help: "Characters to generate (0...\(Model.maxGenerateLength)).") var length = 200
    @Option(parsing: .unconditional, help: "Softmax temperature (a finite number > 0).") var temperature: Float = 0.8
    @Option(parsing: .unconditional, help: "Sample among the k most likely characters (0: all).") var topK = 0
    @Option(parsing: .unconditional, help: "Sampling seed.") var seed: UInt64 = 1
    @OptionGroup var options: DeviceOptions

    func validate() throws {
        try options.refuseThreadsOffCPU()
        guard (0...Model.maxGenerateLength).contains(length) else { throw ValidationError("--length must be in 0...\(Model.maxGenerateLength), got \(length)") }
        guard temperature.isFinite, temperature > 0 else { throw ValidationError("--temperature must be a positive number, got \(temperature)") }
        guard topK >= 0 else { throw ValidationError("--top-k must be ≥ 0, got \(topK)") }
    }

    func run() throws {
        try guarded {
            let (model, known) = try loadModel(checkpoint, options: options, batch: 1, sequence: max(1, prompt.unicodeScalars.count))
            guard known.task == "charlm", let vocab = known.vocab else { throw Failure("--checkpoint \(shownPath(checkpoint)): generate needs a charlm checkpoint, this is \(known.task)") }
            do {
                try model.generate(vocabulary: vocab, prompt: prompt, length: length, temperature: temperature, topK: topK, seed: seed) {
                    try Output.write($0)
                }
            } catch let e as ModelError { throw Failure("--prompt: \(e)") }
            try Output.write("\n")
        }
    }
}

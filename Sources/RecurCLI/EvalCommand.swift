import ArgumentParser
import Foundation
import Recur

/// Loads a checkpoint into a fresh model on the chosen device.
func loadModel(_ path: String, options: DeviceOptions, batch: Int? = nil, sequence: Int? = nil) throws -> (Model, Checkpoint, DataDescription) {
    let checkpoint = try Checkpoint.load(path)
    var config = try checkpoint.config
    if let batch { config.batch = batch }
    if let sequence { config.sequence = sequence }
    guard let text = checkpoint.modelMetadata["recur.data"], let known = try? JSONDecoder().decode(DataDescription.self, from: Data(text.utf8)) else {
        throw Failure("--checkpoint \(path): no recur.data metadata (not a Recur checkpoint?)")
    }
    let device = try options.open()
    let model = try Model(config, device: device, seed: UInt64(checkpoint.modelMetadata["recur.seed"] ?? "") ?? 1)
    try checkpoint.restore(into: model)
    return (model, checkpoint, known)
}

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "eval", abstract: "Evaluate a checkpoint on data.")

    @Option(help: "Checkpoint folder, its `checkpoint` link, or a model.safetensors file.") var checkpoint: String
    @Option(help: "Data to evaluate on (charlm: the whole file; classify: a TSV; forecast: the CSV's last fifth).") var data: String?
    @Option(help: "forecast: column (default: the one trained on).") var column: String?
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var options: DeviceOptions

    func run() throws {
        try guarded {
            let (model, _, known) = try loadModel(checkpoint, options: options)
            var spec = TaskSpec(task: known.task)
            spec.data = data; spec.column = column
            let task = try spec.make(seed: model.seed, known: known, evaluationOnly: true)
            let e = try task.evaluate(model)
            if json { print(try Console.json(e)); return }
            print(String(format: "%@ on %@: loss %.4f", known.task, data ?? "generated data", e.loss)
                  + (e.accuracy.map { String(format: ", accuracy %.2f%%", $0 * 100) } ?? "")
                  + (e.bitsPerCharacter.map { String(format: ", %.3f bits/char", $0) } ?? "")
                  + (e.mse.map { String(format: ", MSE %.4g", $0) } ?? "")
                  + (e.baselineMSE.map { String(format: ", baseline MSE %.4g (%@)", $0, e.baselineName ?? "") } ?? ""))
            for c in e.perClass ?? [] { print("  \(c.label): \(c.correct)/\(c.total) correct") }
            for r in e.byDistance ?? [] { print(String(format: "  distance %3d: %.1f%%", r.distance, r.accuracy * 100)) }
        }
    }
}

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "generate", abstract: "Sample text from a character language model.")

    @Option(help: "Checkpoint of a charlm run.") var checkpoint: String
    @Option(help: "Text to start from.") var prompt = ""
    @Option(help: "Characters to generate.") var length = 200
    @Option(help: "Softmax temperature (> 0).") var temperature: Float = 0.8
    @Option(help: "Sample among the k most likely characters (0: all).") var topK = 0
    @Option(help: "Sampling seed.") var seed: UInt64 = 1
    @OptionGroup var options: DeviceOptions

    func run() throws {
        try guarded {
            guard length >= 0 else { throw Failure("--length must be ≥ 0, got \(length)") }
            guard temperature.isFinite, temperature > 0 else { throw Failure("--temperature must be a positive number, got \(temperature)") }
            guard topK >= 0 else { throw Failure("--top-k must be ≥ 0, got \(topK)") }
            let scalars = Array(prompt.unicodeScalars)
            let (model, _, known) = try loadModel(checkpoint, options: options, batch: 1, sequence: max(1, scalars.count))
            guard known.task == "charlm", let vocab = known.vocab else { throw Failure("--checkpoint \(checkpoint): generate needs a charlm checkpoint, this is \(known.task)") }
            let index = Dictionary(uniqueKeysWithValues: vocab.enumerated().map { ($1, Int32($0)) })
            var ids: [Int32] = try scalars.map {
                guard let i = index[String($0)] else { throw Failure("--prompt: character '\($0)' is not in the model's vocabulary") }
                return i
            }
            if ids.isEmpty { ids = [index["\n"] ?? 0] }
            var text = prompt
            var batch = Batch(T: ids.count, b: 1)
            batch.tokens = ids; batch.labels = ids
            for i in 0..<length {
                try model.forward(batch, step: nil)
                try model.carryState()
                let logits = try model.outputs().suffix(vocab.count)
                let next = Sampler.sample(Array(logits), temperature: temperature, topK: topK, seed: seed, position: UInt32(i))
                text += vocab[next]
                batch = Batch(T: 1, b: 1)
                batch.tokens = [Int32(next)]; batch.labels = [Int32(next)]
            }
            print(text)
        }
    }
}

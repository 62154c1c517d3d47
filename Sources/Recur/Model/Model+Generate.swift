import Foundation

extension Model {
    /// A model rebuilt from a checkpoint's model file (a folder, its `checkpoint` link, a run's
    /// output folder, or a `model.safetensors`), on `device`. `batch` and `sequence` override the trained sizes (e.g. 1 for sampling). Built for
    /// inference (evaluation, generation) unless `training`.
    public static func load(_ path: String, device: Device, batch: Int? = nil, sequence: Int? = nil, training: Bool = false) throws -> (Model, DataDescription) {
        let checkpoint = try Checkpoint.loadModel(path)
        var config = try checkpoint.config
        let data = try checkpoint.data
        if let batch { config.batch = batch }
        if let sequence { config.sequence = sequence }
        let model = try Model(config, device: device, seed: try checkpoint.seed, training: training)
        try checkpoint.restore(into: model)
        return (model, data)
    }

    /// Samples `length` characters from a character language model after `prompt`; returns the
    /// prompt followed by them. The same seed gives the same text on every device. `vocabulary` is
    /// the task's (`DataDescription.vocab`).
    public func generate(vocabulary: [String], prompt: String, length: Int, temperature: Float = 0.8, topK: Int = 0, seed: UInt64 = 1) throws -> String {
        var text = ""
        try generate(vocabulary: vocabulary, prompt: prompt, length: length, temperature: temperature, topK: topK, seed: seed) { text += $0 }
        return text
    }

    /// The most characters one call samples: the sampler numbers positions with 32 bits.
    public static let maxGenerateLength = Int(UInt32.max) + 1

    /// As `generate(vocabulary:prompt:length:temperature:topK:seed:)`, handing the text to `emit` as
    /// it is made: the prompt (when not empty), then each character as it is sampled. The pieces
    /// joined are the text the other form returns. An error `emit` throws stops the sampling and is
    /// rethrown.
    public func generate(vocabulary: [String], prompt: String, length: Int, temperature: Float = 0.8, topK: Int = 0, seed: UInt64 = 1,
                         emit: (String) throws -> Void) throws {
        try user.run { try generateAlone(vocabulary: vocabulary, prompt: prompt, length: length, temperature: temperature, topK: topK, seed: seed, emit: emit) }
    }

    private func generateAlone(vocabulary: [String], prompt: String, length: Int, temperature: Float, topK: Int, seed: UInt64,
                               emit: (String) throws -> Void) throws {
        guard config.family == .languageModel else { throw ModelError.config("generate needs a character language model") }
        guard temperature.isFinite, temperature > 0 else { throw ModelError.config("temperature must be positive, got \(temperature)") }
        guard (0...Self.maxGenerateLength).contains(length) else {
            throw ModelError.config("length must be in 0...\(Self.maxGenerateLength), got \(length)")
        }
        guard topK >= 0 else { throw ModelError.config("topK must be ≥ 0, got \(topK)") }
        guard !vocabulary.isEmpty else { throw ModelError.config("the vocabulary is empty") }
        guard vocabulary.count == config.vocab else {
            throw ModelError.config("the vocabulary has \(vocabulary.count) entries, the model \(config.vocab)")
        }
        let index: [String: Int32]
        do { index = try tokenIndex(vocabulary, "the vocabulary") } catch { throw ModelError.config("\(error)") }
        var ids: [Int32] = try prompt.unicodeScalars.map {
            guard let i = index[String($0)] else { throw ModelError.config("prompt character '\($0)' is not in the vocabulary") }
            return i
        }
        if ids.isEmpty { ids = [index["\n"] ?? 0] }
        guard ids.count <= config.sequence, config.batch >= 1 else {
            throw ModelError.config("prompt of \(ids.count) characters is longer than the model's sequence length \(config.sequence)")
        }
        try resetState()
        // The weights stay as they are while sampling: the layers derive their packed and transposed
        // forms once, not per character.
        stack?.layers.forEach { $0.weightsFrozen = true }
        defer { stack?.layers.forEach { $0.weightsFrozen = false } }
        if !prompt.isEmpty { try emit(prompt) }
        var batch = Batch(T: ids.count, b: 1)
        batch.tokens = ids; batch.labels = ids
        for i in 0..<length {
            try forward(batch, step: nil)
            try carryState()
            let logits = Array(try outputs().suffix(vocabulary.count))
            let next = Sampler.sample(logits, temperature: temperature, topK: topK, seed: seed, position: UInt32(i))
            try emit(vocabulary[next])
            batch = Batch(T: 1, b: 1)
            batch.tokens = [Int32(next)]; batch.labels = [Int32(next)]
        }
    }
}

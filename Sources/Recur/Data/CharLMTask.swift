import Foundation

/// `charlm`: any UTF-8 text; the vocabulary is its Unicode scalars (sorted); the last 10% is validation.
/// Training: b parallel streams over the training text, each batch continuing where the last one
/// ended (truncated BPTT with the carried state). Reports validation loss and bits per character.
public final class CharLMTask: TrainingTask {
    /// What a checkpoint stores to rebuild this task's encoding.
    public let data: DataDescription
    let train: [Int32], validation: [Int32]
    let seed: UInt64
    let source: String   // "--data FILE" or "tokens", for messages
    /// The tokens' strings: index i is token i.
    public var vocabulary: [String] { data.vocab ?? [] }
    /// Validation batches per evaluation (at most).
    public var evalBatches = 16
    /// A digest of the training and validation token streams.
    public private(set) lazy var fingerprint: String? = {
        var h = FNV1a()
        h.add(array: train)
        h.add(array: validation)
        return h.hex
    }()

    /// A UTF-8 text file; `vocab` (from a checkpoint) fixes the token ids, `wholeFileIsValidation` evaluates on all of it.
    public convenience init(path: String, seed: UInt64, vocab known: [String]? = nil, wholeFileIsValidation: Bool = false) throws {
        let text = try DataFile.text(path)
        let scalars = Array(text.unicodeScalars)
        let vocab = known ?? Array(Set(scalars.map { String($0) })).sorted()
        let index = try tokenIndex(vocab, "the checkpoint's vocabulary")
        var ids: [Int32] = []
        ids.reserveCapacity(scalars.count)
        for s in scalars {
            guard let i = index[String(s)] else { throw DataError("--data \(shownPath(path)): character U+\(String(s.value, radix: 16, uppercase: true)) is not in the checkpoint's vocabulary") }
            ids.append(i)
        }
        let cut = wholeFileIsValidation ? 0 : ids.count - ids.count / 10
        self.init(train: Array(ids[..<cut]), validation: Array(ids[cut...]), vocabulary: vocab, seed: seed, source: "--data \(path)")
    }

    /// A token stream held in memory: `tokens` index `vocabulary` (each in 0 ..< vocabulary.count);
    /// the last `validationFraction` of the stream is held out.
    public convenience init(tokens: [Int32], vocabulary: [String], validationFraction: Double = 0.1, seed: UInt64) throws {
        guard !vocabulary.isEmpty else { throw DataError("tokens: the vocabulary is empty") }
        if let bad = tokens.firstIndex(where: { $0 < 0 || Int($0) >= vocabulary.count }) {
            throw DataError("tokens: token \(bad) is \(tokens[bad]), outside the vocabulary of \(vocabulary.count)")
        }
        guard validationFraction >= 0 && validationFraction < 1 else { throw DataError("tokens: validationFraction must be in [0, 1), got \(validationFraction)") }
        let cut = tokens.count - Int(Double(tokens.count) * validationFraction)
        self.init(train: Array(tokens[..<cut]), validation: Array(tokens[cut...]), vocabulary: vocabulary, seed: seed, source: "tokens")
    }

    init(train: [Int32], validation: [Int32], vocabulary: [String], seed: UInt64, source: String) {
        self.train = train; self.validation = validation
        self.seed = seed; self.source = source
        var d = DataDescription(task: "charlm")
        d.vocab = vocabulary
        data = d
    }

    /// Sets what the data decides (vocabulary, classes, inputs) and checks the sizes fit the data.
    public func configure(_ c: inout ModelConfig) throws {
        c.vocab = data.vocab!.count
        // One batch is --batch × (--seq + 1) characters; an absurd pair is more than any text, not a trap.
        let need = Sizes.sum(c.sequence, 1).flatMap { Sizes.product(c.batch, $0) }
        if !train.isEmpty && need.map({ train.count < $0 }) ?? true {
            throw DataError("\(source): the training text has \(train.count) characters, shorter than one batch (\(c.batch) × (\(c.sequence) + 1)); lower --batch or --seq")
        }
        if validation.count <= c.sequence {
            throw DataError("\(source): the validation text has \(validation.count) characters, fewer than --seq + 1 (--seq \(c.sequence))")
        }
    }

    /// The unit of throughput for a batch of b sequences of T steps.
    public func units(b: Int, T: Int) -> Int { b * T }

    /// Stream i covers text[i·L ..< (i+1)·L]; batch k reads T+1 characters at offset (k·T) mod (L − T).
    static func window(_ ids: [Int32], step: Int, b: Int, T: Int) -> Batch {
        var batch = Batch(T: T, b: b)
        let L = ids.count / b, span = max(1, L - T)
        let offset = (step * T) % span
        for i in 0..<b {
            let start = i * L + offset
            batch.tokens += ids[start..<(start + T)]
            batch.labels += ids[(start + 1)..<(start + T + 1)]
        }
        return batch
    }

    /// Training batch number `step`: a pure function of (seed, step).
    public func batch(step: Int, b: Int, T: Int) -> Batch { Self.window(train, step: step, b: b, T: T) }

    /// Evaluates on the held-out data without changing the parameters (the carried state is restored).
    /// A text of at most `sequence` characters (or a model whose sequence was set longer than the
    /// text) is refused: a window reads sequence + 1 characters.
    public func evaluate(_ model: Model) throws -> Evaluation {
        guard validation.count > model.config.sequence else {
            throw DataError("\(source): \(validation.count) characters to evaluate on, fewer than the model's sequence length + 1 (\(model.config.sequence) + 1)")
        }
        let saved = try model.stateSnapshot()
        defer { try? model.restoreState(saved) }
        try model.resetState()
        let T = model.config.sequence
        let b = max(1, min(model.config.batch, (validation.count - 1) / (T + 1)))
        let batches = max(1, min(evalBatches, (validation.count / b - 1) / T))
        var total: Float = 0
        for k in 0..<batches {
            try model.forward(Self.window(validation, step: k, b: b, T: T), step: nil)
            try model.carryState()
            total = total + (try model.lossValue())
        }
        var e = Evaluation(loss: total / Float(batches))
        e.bitsPerCharacter = e.loss / Float(M_LN2)
        return e
    }
}

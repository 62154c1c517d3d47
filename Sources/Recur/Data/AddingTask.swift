/// `adding` (Hochreiter & Schmidhuber 1997): T steps of (value ∈ [0, 1), marker); exactly two markers,
/// one in each half; the target is the sum of the two marked values. Predicting 1 always gives
/// MSE ≈ 0.167, the baseline to beat.
public final class AddingTask: TrainingTask {
    /// What a checkpoint stores to rebuild this task's encoding.
    public let data: DataDescription
    let seed: UInt64
    /// Sequences in each evaluation.
    public var validationSamples = 512

    /// The adding problem (Hochreiter & Schmidhuber): sum the two marked numbers of a sequence; data generated from `seed`.
    public init(seed: UInt64) {
        self.seed = seed
        data = DataDescription(task: "adding")
    }

    /// Sets what the data decides (vocabulary, classes, inputs) and checks the sizes fit the data.
    public func configure(_ c: inout ModelConfig) throws {
        c.inputs = 2
        c.outputs = 1
        guard c.sequence >= 2 else { throw DataError("--seq must be at least 2 for the adding problem, got \(c.sequence)") }
    }

    /// The unit of throughput for a batch of b sequences of T steps.
    public func units(b: Int, T: Int) -> Int { b * T }

    static func fill(_ batch: inout Batch, _ rng: inout PhiloxStream, b: Int, T: Int) {
        for _ in 0..<b {
            let first = rng.int(in: 0...(T / 2 - 1)), second = rng.int(in: (T / 2)...(T - 1))
            var sum: Float = 0
            for t in 0..<T {
                let v = rng.uniform(), marked = t == first || t == second
                batch.values += [v, marked ? 1 : 0]
                if marked { sum = sum + v }
            }
            batch.targets.append(sum)
        }
    }

    /// Training batch number `step`: a pure function of (seed, step).
    public func batch(step: Int, b: Int, T: Int) -> Batch {
        var rng = PhiloxStream(seed: seed, stream: UInt64(step) << 1)
        var batch = Batch(T: T, b: b)
        Self.fill(&batch, &rng, b: b, T: T)
        return batch
    }

    /// Evaluates on the held-out data without changing the parameters (the carried state is restored).
    /// A model whose sequence is shorter than 2 is refused: each half of a sequence holds one marker.
    public func evaluate(_ model: Model) throws -> Evaluation {
        let T = model.config.sequence, B = model.config.batch
        guard T >= 2 else { throw DataError("adding: the model's sequence length \(T) is below 2 (one marked value in each half)") }
        var rng = PhiloxStream(seed: seed ^ 0xADD, stream: 1 << 62)
        var done = 0, sq = 0.0, base = 0.0
        while done < validationSamples {
            let b = min(B, validationSamples - done)
            var batch = Batch(T: T, b: b)
            Self.fill(&batch, &rng, b: b, T: T)
            try model.forward(batch, step: nil)
            let out = try model.outputs()
            for i in 0..<b {
                let e = Double(out[i]) - Double(batch.targets[i]), e1 = 1 - Double(batch.targets[i])
                sq += e * e; base += e1 * e1
            }
            done += b
        }
        var e = Evaluation(loss: Float(sq / Double(done)))
        e.mse = e.loss
        e.baselineMSE = Float(base / Double(done))
        e.baselineName = "always 1"
        return e
    }
}

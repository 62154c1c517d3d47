/// `memory`: "<name> was born in <city> . <d filler words> . she dreams in fluent ___" — the
/// answer (the city's language) is decided by one word at the start, `d` words before the question.
/// Training draws d from [minDistance, maxDistance], skewed towards short distances; evaluation reports accuracy by distance
/// on a fixed held-out set. Chance is 1/8. Sequences are left-padded so the question ends every row.
public final class MemoryTask: TrainingTask {
    /// What a checkpoint stores to rebuild this task's encoding.
    public let data: DataDescription
    let seed: UInt64
    /// Held-out samples per distance.
    public var samplesPerDistance = 96

    static let names = [("Marie", "she"), ("Pierre", "he"), ("Hans", "he"), ("Greta", "she"),
                        ("Sofia", "she"), ("Marco", "he"), ("Yuki", "she"), ("Ivan", "he")]
    static let cities = [("Paris", "French"), ("Berlin", "German"), ("Madrid", "Spanish"), ("Rome", "Italian"),
                         ("Lisbon", "Portuguese"), ("Tokyo", "Japanese"), ("Moscow", "Russian"), ("Athens", "Greek")]
    static let fillers = ["and", "then", "the", "rain", "fell", "over", "a", "quiet", "town", "while", "people", "walked",
                          "home", "after", "long", "days", "of", "work", "with", "friends"]
    static let vocab: [String] = ["<pad>"] + names.map(\.0) + ["was", "born", "in"] + cities.map(\.0) + ["."] + fillers
        + ["she", "he", "dreams", "fluent"]
    static let languages = cities.map(\.1)
    static let index = Dictionary(vocab.enumerated().map { ($1, Int32($0)) }, uniquingKeysWith: { first, _ in first })

    /// The long-range memory task: recall a token seen `minDistance`...`maxDistance` steps earlier; generated from `seed`.
    public init(seed: UInt64, minDistance: Int = 1, maxDistance: Int = 40) throws {
        guard minDistance >= 0, maxDistance >= minDistance else {
            throw DataError("--min-distance and --max-distance must satisfy 0 ≤ min ≤ max, got \(minDistance), \(maxDistance)")
        }
        guard maxDistance <= Self.maxDistanceLimit else {
            throw DataError("--max-distance must be at most \(Self.maxDistanceLimit) (a sentence is the distance plus 10 words, at most 2^31 - 1), got \(maxDistance)")
        }
        self.seed = seed
        var d = DataDescription(task: "memory")
        d.vocab = Self.vocab; d.labels = Self.languages
        d.minDistance = minDistance; d.maxDistance = maxDistance
        data = d
    }

    /// The longest distance whose sentence fits one buffer (2^31 - 1 tokens).
    public static let maxDistanceLimit = Int(Int32.max) - 10

    /// Sentence length for distance d.
    static func length(_ d: Int) -> Int { d + 10 }

    /// Sets what the data decides (vocabulary, classes, inputs) and checks the sizes fit the data.
    public func configure(_ c: inout ModelConfig) throws {
        c.vocab = Self.vocab.count
        c.outputs = Self.cities.count
        c.sequence = Self.length(data.maxDistance!)
    }

    /// The unit of throughput for a batch of b sequences of T steps.
    public func units(b: Int, T: Int) -> Int { b * T }

    /// One sentence at distance d, left-padded to T, and its answer.
    static func sample(_ rng: inout PhiloxStream, distance d: Int, T: Int) -> ([Int32], Int32) {
        let (name, pronoun) = names[rng.int(in: 0...(names.count - 1))]
        let city = rng.int(in: 0...(cities.count - 1))
        var words = [name, "was", "born", "in", cities[city].0, "."]
        for _ in 0..<d { words.append(fillers[rng.int(in: 0...(fillers.count - 1))]) }
        words += [".", pronoun, "dreams", "in", "fluent"]
        let ids = words.map { index[$0]! }
        return ([Int32](repeating: 0, count: max(0, T - ids.count)) + ids.suffix(T), Int32(city))
    }

    /// Training batch number `step`: a pure function of (seed, step).
    public func batch(step: Int, b: Int, T: Int) -> Batch {
        var rng = PhiloxStream(seed: seed, stream: UInt64(step) << 1)
        var batch = Batch(T: T, b: b)
        for _ in 0..<b {
            let (x, y) = Self.sample(&rng, distance: distance(rng.uniform()), T: T)
            batch.tokens += x; batch.labels.append(y)
        }
        return batch
    }

    /// Training distance from u ∈ [0, 1): min + ⌊(max − min + 1)·u²⌋, so short distances are more
    /// frequent (a plain RNN gets a learnable signal; long ones still make up a fair share).
    func distance(_ u: Float) -> Int {
        let lo = data.minDistance!, span = data.maxDistance! - lo + 1
        return min(data.maxDistance!, lo + Int(Float(span) * u * u))
    }

    /// The distances reported: 0, 5, 10, … up to the maximum.
    public var distances: [Int] {
        let hi = data.maxDistance!
        return Array(Set(stride(from: 0, through: hi, by: 5).map { $0 } + [data.minDistance!, hi])).filter { $0 >= data.minDistance! }.sorted()
    }

    /// Evaluates on the held-out data without changing the parameters (the carried state is restored).
    /// A model whose sequence is shorter than the longest sentence is refused: the sentence's start,
    /// which decides the answer, would be cut off and accuracy would be chance, not the model's.
    public func evaluate(_ model: Model) throws -> Evaluation {
        let T = model.config.sequence, B = model.config.batch
        guard T >= Self.length(data.maxDistance!) else {
            throw DataError("memory: the model's sequence length \(T) is shorter than a sentence at distance \(data.maxDistance!) (\(Self.length(data.maxDistance!)) words)")
        }
        var total: Float = 0, batches = 0, allCorrect = 0, all = 0
        var rows: [DistanceAccuracy] = []
        for d in distances {
            var rng = PhiloxStream(seed: seed ^ 0x5EED_E7A1, stream: UInt64(d))
            var correct = 0, done = 0
            while done < samplesPerDistance {
                let b = min(B, samplesPerDistance - done)
                var batch = Batch(T: T, b: b)
                for _ in 0..<b { let (x, y) = Self.sample(&rng, distance: d, T: T); batch.tokens += x; batch.labels.append(y) }
                try model.forward(batch, step: nil)
                total = total + (try model.lossValue()); batches += 1
                let logits = try model.outputs(), C = model.config.outputs
                for i in 0..<b where Host.argmax(logits[(i * C)..<((i + 1) * C)]) == Int(batch.labels[i]) { correct += 1 }
                done += b
            }
            rows.append(DistanceAccuracy(distance: d, accuracy: Float(correct) / Float(done), samples: done))
            allCorrect += correct; all += done
        }
        var e = Evaluation(loss: total / Float(batches))
        e.accuracy = Float(allCorrect) / Float(all)
        e.byDistance = rows
        return e
    }
}

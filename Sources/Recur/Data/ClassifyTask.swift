import Foundation

/// `classify`: a TSV file of `label<TAB>text` lines. Characters are tokens (0 = <pad>, 1 = <unk>),
/// texts are cut to --seq characters and left-padded. Validation is the --test file, or else every
/// tenth example of a seeded shuffle. Reports accuracy and per-class counts.
public final class ClassifyTask: TrainingTask {
    /// What a checkpoint stores to rebuild this task's encoding.
    public let data: DataDescription
    let train: [([Int32], Int32)], validation: [([Int32], Int32)]
    /// Examples in the training split.
    public var trainingExamples: Int { train.count }
    let seed: UInt64
    let validationSource: String                      // the flag and file (or "test") the held-out examples came from
    private var permutations: [Int: [Int]] = [:]   // the last epoch's, guarded by `permutationLock`
    private let permutationLock = NSLock()            // trainers on several threads may share a task
    private var digest: String?                       // guarded by `permutationLock`
    /// A digest of the training and validation examples (tokens and labels).
    public var fingerprint: String? {
        permutationLock.withLock {
            if digest == nil {
                var h = FNV1a()
                for split in [train, validation] {
                    h.add(array: [split.count])
                    for (x, y) in split { h.add(array: x); h.add(array: [y]) }
                }
                digest = h.hex
            }
            return digest
        }
    }

    /// Parses `label<TAB>text` lines; blank lines are skipped; every other defect names file and line.
    static func parse(_ path: String, flag: String) throws -> [(label: String, text: String)] {
        let text = try DataFile.text(path, flag: flag)
        var rows: [(String, String)] = []
        for (n, l) in DataFile.lines(text) {
            if l.allSatisfy({ $0 == " " }) { continue }
            guard let tab = l.unicodeScalars.firstIndex(of: "\t") else { throw DataError("\(flag) \(shownPath(path)):\(n): no tab between label and text") }
            let label = Substring(l.unicodeScalars[..<tab]).trimmingCharacters(in: .whitespaces)
            guard !label.isEmpty else { throw DataError("\(flag) \(shownPath(path)):\(n): empty label") }
            rows.append((label, String(l.unicodeScalars[l.unicodeScalars.index(after: tab)...])))
        }
        guard !rows.isEmpty else { throw DataError("\(flag) \(shownPath(path)): no examples") }
        return rows
    }

    /// A TSV file of `label<TAB>text` lines, and optionally a held-out one; `known` (from a checkpoint)
    /// fixes tokens and labels. `testFlag` is the flag that named `testPath`, for messages.
    public convenience init(trainPath: String?, testPath: String?, seed: UInt64, known: DataDescription? = nil, testFlag: String = "--test") throws {
        try self.init(examples: try trainPath.map { try Self.parse($0, flag: "--data") } ?? [],
                      test: try testPath.map { try Self.parse($0, flag: testFlag) }, seed: seed, known: known,
                      sources: (trainPath.map { "--data \($0)" } ?? "", testPath.map { "\(testFlag) \($0)" } ?? ""))
    }

    /// Labelled texts held in memory; `test` is the held-out set, else every tenth example of a
    /// seeded shuffle. Characters are tokens as for a TSV file.
    public convenience init(examples: [(label: String, text: String)], test: [(label: String, text: String)]? = nil, seed: UInt64) throws {
        try self.init(examples: examples, test: test, seed: seed, known: nil, sources: ("examples", "test"))
    }

    init(examples trainRows: [(label: String, text: String)], test: [(label: String, text: String)]?, seed: UInt64,
         known: DataDescription?, sources: (train: String, test: String)) throws {
        self.seed = seed
        let vocab = known?.vocab ?? (["<pad>", "<unk>"] + Set(trainRows.flatMap { $0.text.unicodeScalars.map { String($0) } }).sorted())
        let labels = known?.labels ?? Set(trainRows.map(\.label)).sorted()
        let index = try tokenIndex(vocab, "the checkpoint's vocabulary")
        let labelIndex = try tokenIndex(labels, "the checkpoint's labels")
        func encode(_ rows: [(label: String, text: String)], _ source: String) throws -> [([Int32], Int32)] {
            try rows.enumerated().map { n, r in
                guard let y = labelIndex[r.label] else { throw DataError("\(source): example \(n + 1) has label \(shown(r.label)) that training never saw") }
                return (r.text.unicodeScalars.map { index[String($0)] ?? 1 }, y)
            }
        }
        var all = try encode(trainRows, sources.train)
        if let test {
            validation = try encode(test, sources.test)
            validationSource = sources.test
            train = all
        } else {
            let p = permutation(all.count, seed: seed, stream: 0xC1A55)
            all = p.map { all[$0] }
            validation = all.enumerated().filter { $0.offset % 10 == 9 }.map(\.element)
            train = all.enumerated().filter { $0.offset % 10 != 9 }.map(\.element)
            validationSource = sources.train
        }
        var d = DataDescription(task: "classify")
        d.vocab = vocab; d.labels = labels
        data = d
    }

    /// Sets what the data decides (vocabulary, classes, inputs) and checks the sizes fit the data.
    public func configure(_ c: inout ModelConfig) throws {
        c.vocab = data.vocab!.count
        c.outputs = data.labels!.count
        guard c.outputs >= 2 else { throw DataError("--data: classification needs at least two labels, found \(c.outputs)") }
        guard !train.isEmpty else { throw DataError("--data: no training examples") }
        guard !validation.isEmpty else { throw DataError("--data: too few examples to hold out a validation tenth; give --test") }
    }

    /// The unit of throughput for a batch of b sequences of T steps.
    public func units(b: Int, T: Int) -> Int { b }

    static func row(_ ids: [Int32], T: Int) -> [Int32] {
        let cut = ids.prefix(T)
        return [Int32](repeating: 0, count: T - cut.count) + cut
    }

    /// Position p = step·b + i walks through seeded epoch permutations of the training set.
    public func batch(step: Int, b: Int, T: Int) -> Batch {
        var batch = Batch(T: T, b: b)
        for i in 0..<b {
            let p = step * b + i, epoch = p / train.count
            let order = permutationLock.withLock {
                if permutations[epoch] == nil {
                    permutations = [epoch: permutation(train.count, seed: seed, stream: UInt64(epoch) + 1)]
                }
                return permutations[epoch]!
            }
            let (x, y) = train[order[p % train.count]]
            batch.tokens += Self.row(x, T: T); batch.labels.append(y)
        }
        return batch
    }

    /// Evaluates on the held-out data without changing the parameters (the carried state is restored).
    public func evaluate(_ model: Model) throws -> Evaluation {
        guard !validation.isEmpty else { throw DataError("\(validationSource): no examples to evaluate on") }
        let T = model.config.sequence, B = model.config.batch, C = model.config.outputs
        var correct = [Int](repeating: 0, count: C), total = correct
        var lossSum = 0.0, start = 0
        while start < validation.count {
            let b = min(B, validation.count - start)
            var batch = Batch(T: T, b: b)
            for (x, y) in validation[start..<(start + b)] { batch.tokens += Self.row(x, T: T); batch.labels.append(y) }
            try model.forward(batch, step: nil)
            lossSum += Double(try model.lossValue()) * Double(b)
            let logits = try model.outputs()
            for i in 0..<b {
                let y = Int(batch.labels[i])
                total[y] += 1
                if Host.argmax(logits[(i * C)..<((i + 1) * C)]) == y { correct[y] += 1 }
            }
            start += b
        }
        var e = Evaluation(loss: Float(lossSum / Double(validation.count)))
        e.accuracy = Float(correct.reduce(0, +)) / Float(validation.count)
        e.perClass = data.labels!.enumerated().map { ClassCount(label: $1, correct: correct[$0], total: total[$0]) }
        return e
    }
}

import Foundation

/// The checkpoint's metadata: checksums, and every field parsed and checked, each error naming the
/// file and the key.
extension Checkpoint {
    /// The key of the metadata checksum.
    static let metadataChecksumKey = "recur.metadata_checksum"

    /// FNV-1a 64 over a file's metadata except `recur.metadata_checksum`: the entries sorted by the
    /// UTF-8 bytes of their keys, each as key length, key, value length, value (lengths as 8-byte
    /// little-endian byte counts).
    static func metadataChecksum(_ metadata: [String: String]) -> String {
        var h = FNV1a()
        func add(_ s: String) {
            withUnsafeBytes(of: UInt64(s.utf8.count).littleEndian) { h.add($0) }
            h.add(s.utf8)
        }
        for key in metadata.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) where key != metadataChecksumKey {
            add(key)
            add(metadata[key]!)
        }
        return String(h.value, radix: 16)
    }

    /// A file Recur wrote carries both checksums, and both must match: anything else changed after
    /// writing. A model file with neither is one written elsewhere (e.g. re-saved from PyTorch) and is
    /// taken as it is, its fields still validated; a trainer file (`recurOnly`) must have both.
    /// A file with only one of the two is refused: its metadata cannot be verified.
    static func verify(_ tensors: [String: Safetensors.Tensor], _ meta: [String: String], file: String, recurOnly: Bool) throws {
        switch (meta["recur.checksum"], meta[metadataChecksumKey]) {
        case let (tensorSum?, metaSum?):
            guard metaSum == metadataChecksum(meta) else {
                throw LoadError(description: "\(file): its metadata was edited after Recur wrote it (recur.metadata_checksum does not match)")
            }
            guard tensorSum == Safetensors.checksum(tensors) else {
                throw LoadError(description: "\(file): its tensors changed after Recur wrote it (recur.checksum does not match): edited or damaged")
            }
        case (nil, nil) where !recurOnly:
            return
        case (nil, nil):
            throw LoadError(description: "\(file): no recur.checksum and recur.metadata_checksum: not a trainer file Recur wrote")
        case (_?, nil):
            throw LoadError(description: "\(file): recur.checksum without recur.metadata_checksum: the metadata cannot be verified (edited, or written by an earlier Recur)")
        case (nil, _?):
            throw LoadError(description: "\(file): recur.metadata_checksum without recur.checksum: the file was edited")
        }
    }

    /// Every field of both files (the trainer's when present), so a checkpoint that loads is usable.
    func validate() throws {
        let c = try config
        _ = try data(for: c)
        _ = try seed
        if !trainer.isEmpty || !trainerMetadata.isEmpty { _ = try trainerState }
    }

    func modelError(_ key: String, _ problem: String) -> LoadError { LoadError(description: "\(modelFile): \(key): \(problem)") }
    func trainerError(_ key: String, _ problem: String) -> LoadError { LoadError(description: "\(trainerFile): \(key): \(problem)") }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String?, missing: LoadError, invalid: (String) -> LoadError) throws -> T {
        guard let text else { throw missing }
        do { return try JSONDecoder().decode(T.self, from: Data(text.utf8)) } catch { throw invalid(Self.describe(error)) }
    }

    /// A decoding error in a few words: which field, what is wrong.
    static func describe(_ error: any Error) -> String {
        switch error as? DecodingError {
        case .keyNotFound(let key, _)?: "lacks \(key.stringValue)"
        case .typeMismatch(_, let c)?, .valueNotFound(_, let c)?, .dataCorrupted(let c)?:
            c.codingPath.isEmpty ? "not valid JSON of the expected form" : "\(c.codingPath.map(\.stringValue).joined(separator: ".")) is not valid"
        default: "not valid JSON"
        }
    }

    /// The model configuration stored in the metadata (`recur.config`), validated.
    public var config: ModelConfig {
        get throws {
            let key = "recur.config"
            let c = try Self.decode(ModelConfig.self, modelMetadata[key], missing: modelError(key, "missing (not a Recur checkpoint?)"), invalid: { modelError(key, $0) })
            do { try c.validate() } catch { throw modelError(key, "\(error)") }
            if c.encoder == .cnn && c.family != .classifier { throw modelError(key, "encoder cnn is only for classifiers") }
            return c
        }
    }

    /// The seed of initialisation, data order and dropout (`recur.seed`).
    public var seed: UInt64 {
        get throws {
            guard let text = modelMetadata["recur.seed"] else { throw modelError("recur.seed", "missing") }
            guard let s = UInt64(text) else { throw modelError("recur.seed", "'\(text)' is not a seed (an integer in 0...2^64-1)") }
            return s
        }
    }

    /// The data description (`recur.data`), checked against the model configuration.
    public var data: DataDescription { get throws { try data(for: try config) } }

    func data(for c: ModelConfig) throws -> DataDescription {
        let key = "recur.data"
        let d = try Self.decode(DataDescription.self, modelMetadata[key], missing: modelError(key, "missing (not a Recur checkpoint?)"), invalid: { modelError(key, $0) })
        func need(_ ok: Bool, _ problem: @autoclosure () -> String) throws { if !ok { throw modelError(key, problem()) } }
        try need(TaskSpec.names.contains(d.task), "unknown task '\(d.task)'")
        try need(TaskSpec(task: d.task).family() == c.family, "task \(d.task) does not train a \(c.family.rawValue) model (recur.config)")
        func list(_ name: String, _ values: [String]?, count: Int) throws {
            guard let values else { throw modelError(key, "task \(d.task) needs \(name)") }
            try need(values.count == count, "\(name) has \(values.count) entries, the model's recur.config has \(count)")
            var seen = Set<String>()
            if let dup = values.first(where: { !seen.insert($0).inserted }) { try need(false, "\(name) has \(shown(dup)) twice") }
        }
        switch d.task {
        case "charlm":
            try list("vocab", d.vocab, count: c.vocab)
            if let bad = d.vocab!.first(where: { $0.unicodeScalars.count != 1 }) { try need(false, "vocab entry '\(bad)' is not one character") }
        case "classify":
            try list("vocab", d.vocab, count: c.vocab)
            try need(d.vocab!.starts(with: ["<pad>", "<unk>"]), "vocab must begin with <pad> and <unk> (tokens 0 and 1)")
            try list("labels", d.labels, count: c.outputs)
            try need(c.outputs >= 2, "a classifier needs at least two labels")
        case "memory":
            try need(d.vocab == MemoryTask.vocab, "vocab is not the memory task's")
            try need(d.labels == MemoryTask.languages, "labels are not the memory task's")
            try need(c.vocab == MemoryTask.vocab.count && c.outputs == MemoryTask.languages.count, "the model's vocab and outputs (recur.config) are not the memory task's")
            guard let lo = d.minDistance, let hi = d.maxDistance, lo >= 0, hi >= lo else { throw modelError(key, "minDistance and maxDistance must satisfy 0 ≤ min ≤ max") }
            try need(MemoryTask.length(hi) == c.sequence, "maxDistance \(hi) needs sequence \(MemoryTask.length(hi)), recur.config has \(c.sequence)")
        case "forecast":
            try need(!(d.column ?? "").isEmpty, "forecast needs column")
            try need(d.mean?.isFinite == true, "mean must be a finite number")
            try need(d.std.map { $0.isFinite && $0 > 0 } == true, "std must be a positive finite number")
            try need(d.fill == nil || ["previous", "linear", "zero"].contains(d.fill!), "fill must be previous, linear or zero")
            try need((d.season ?? 0) >= 1, "season must be at least 1")
            try need(c.inputs == 1 && c.outputs == 1, "a forecaster has one input and one output (recur.config)")
        default:   // adding
            try need(c.inputs == 2 && c.outputs == 1, "the adding model has two inputs and one output (recur.config)")
            try need(c.sequence >= 2, "the adding problem needs sequences of at least 2 (recur.config)")
        }
        return d
    }

    /// The trainer file's state: where the run is and how it continues.
    public struct TrainerState: Sendable {
        /// Steps done (`recur.step`).
        public var step: Int
        /// The optimizer and schedule (`recur.optimizer`).
        public var optimizer: OptimizerConfig
        /// The optimizer's update count: steps done less skipped ones (`recur.optimizer_step`).
        public var optimizerStep: Int
        /// Best validation objective so far (`recur.best`).
        public var best: Float
        /// Evaluations since the best one (`recur.bad_evaluations`).
        public var badEvaluations: Int
        /// Steps skipped for a non-finite loss (`recur.skipped`).
        public var skipped: Int
        /// The run's length, evaluation and logging (`recur.options`; `stopAfter` is not kept).
        public var options: TrainOptions
        /// A digest of the training and held-out data (`recur.data_fingerprint`; nil for generated data).
        public var dataFingerprint: String?
    }

    /// The trainer file's state, every field checked: counters in range, the optimizer complete and finite.
    public var trainerState: TrainerState {
        get throws {
            func integer(_ key: String, in range: ClosedRange<Int>) throws -> Int {
                guard let text = trainerMetadata[key] else { throw trainerError(key, "missing") }
                guard let v = Int(text), v >= 0 else { throw trainerError(key, "'\(text)' is not a count (an integer ≥ 0)") }
                guard range.contains(v) else { throw trainerError(key, "\(v) is out of range \(range.lowerBound)...\(range.upperBound)") }
                return v
            }
            let step = try integer("recur.step", in: 0...Int.max)
            let skipped = try integer("recur.skipped", in: 0...step)
            let bad = try integer("recur.bad_evaluations", in: 0...step)
            let optimizerStep = try integer("recur.optimizer_step", in: 0...Int.max)
            guard optimizerStep == step - skipped else {
                throw trainerError("recur.optimizer_step", "\(optimizerStep) is not recur.step less recur.skipped (\(step - skipped))")
            }
            guard let text = trainerMetadata["recur.best"] else { throw trainerError("recur.best", "missing") }
            guard let bits = UInt32(text), !Float(bitPattern: bits).isNaN else { throw trainerError("recur.best", "'\(text)' is not the bit pattern of a number") }
            let optimizer = try storedOptimizer()
            let options = try storedOptions()
            let fingerprint = trainerMetadata["recur.data_fingerprint"]
            if let f = fingerprint, f.isEmpty || !f.allSatisfy(\.isHexDigit) { throw trainerError("recur.data_fingerprint", "'\(f)' is not a hexadecimal digest") }
            return TrainerState(step: step, optimizer: optimizer, optimizerStep: optimizerStep, best: Float(bitPattern: bits), badEvaluations: bad,
                                skipped: skipped, options: options, dataFingerprint: fingerprint)
        }
    }

    func storedOptimizer() throws -> OptimizerConfig {
        let key = "recur.optimizer"
        // Decoding needs every setting (only clip may be absent: no clipping).
        let o = try Self.decode(OptimizerConfig.self, trainerMetadata[key], missing: trainerError(key, "missing"), invalid: { trainerError(key, $0) })
        do { try o.validateStored() } catch { throw trainerError(key, "\(error)") }
        return o
    }

    func storedOptions() throws -> TrainOptions {
        let key = "recur.options"
        let r = try Self.decode(TrainOptions.Stored.self, trainerMetadata[key], missing: trainerError(key, "missing"), invalid: { trainerError(key, $0) })
        guard r.steps > 0, r.evalEvery > 0, r.logEvery > 0, (r.patience ?? 1) > 0 else {
            throw trainerError(key, "steps, evalEvery, logEvery and patience must be positive")
        }
        return r.options
    }
}

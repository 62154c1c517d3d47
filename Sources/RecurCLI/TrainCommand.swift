import ArgumentParser
import Foundation
import Recur

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a model on a task; checkpoints, metrics and a loss curve go to --out.")

    @Option(help: "charlm, classify, forecast, memory or adding.") var task: String
    @Option(help: "Data file: text (charlm), TSV label<TAB>text (classify), CSV (forecast).") var data: String?
    @Option(help: "classify: held-out TSV file (default: a tenth of --data).") var test: String?
    @Option(help: "forecast: the CSV column to model.") var column: String?
    @Option(help: "forecast: fill missing values with previous, linear or zero (default: missing values are an error).") var fill: String?
    @Option(help: "forecast: season length of the seasonal-naive baseline (≥ 1).") var season = 12
    @Option(help: "memory: shortest filler distance (≥ 0).") var minDistance = 1
    @Option(help: "memory: longest filler distance (--min-distance ... 2147483637).") var maxDistance = 40

    @Option(help: "lstm, gru, rnn or rnn-relu.") var cell = "lstm"
    @Option(help: "classify: recurrent or cnn.") var encoder = "recurrent"
    @Option(help: "Recurrent layers (≥ 1).") var layers = 1
    @Option(help: "Hidden size (≥ 1).") var hidden = 128
    @Option(help: "Embedding size (≥ 1).") var embedding = 64
    @Option(help: "Dropout between recurrent layers and before the classifier, in [0, 1).") var dropout: Float = 0
    @Option(help: "LSTM: add this (finite) to the forget-gate bias at initialisation (0: PyTorch's init).") var forgetBias: Float = 0
    @Option(help: "auto, always or never: recurrent layer 0 gathers rows of embedding·W_ihᵀ instead of projecting each position (auto: batches of 2·vocab tokens or more).") var embeddingFold = "auto"
    @Option(help: "cnn: filters per width (≥ 1).") var filters = 100
    @Option(help: "cnn: comma-separated filter widths (each 1 ... --seq).") var convWidths = "3,4,5"

    @Option(help: "Batch size (≥ 1).") var batch = 32
    @Option(help: "Sequence length (≥ 1; memory: set from --max-distance).") var seq = 64
    @Option(help: "Training steps in total (≥ 1; a resumed run continues to this count). --steps × batch × sequence length must be below 2^63.") var steps: Int?
    @Option(help: "Epochs over the training data (≥ 1; instead of --steps; classify).") var epochs: Int?
    @Option(help: "Learning rate (a finite number > 0).") var lr: Float = 2e-3
    @Option(help: "sgd, adam or adamw.") var optimizer = "adam"
    @Option(help: "SGD momentum, in [0, 1).") var momentum: Float = 0.9
    @Flag(help: "SGD: Nesterov momentum.") var nesterov = false
    @Option(help: "Weight decay (finite, ≥ 0; AdamW: decoupled).") var weightDecay: Float = 0
    @Option(help: "Global-norm gradient clipping threshold (finite, ≥ 0); 0 turns it off.") var clip: Float = 5
    @Option(help: "constant, step or cosine.") var schedule = "constant"
    @Option(help: "Warm-up steps (≥ 0).") var warmup = 0
    @Option(help: "step schedule: steps between decays (≥ 1).") var stepSize = 1000
    @Option(help: "step schedule: decay factor (a finite number > 0).") var gamma: Float = 0.5

    @Option(help: "Evaluate (and checkpoint) every N steps (≥ 1).") var evalEvery = 200
    @Option(help: "Log every N steps (≥ 1).") var logEvery = 50
    @Option(help: "Early stop after N (≥ 1) evaluations without improvement.") var patience: Int?
    @Flag(help: "Skip steps whose loss is not finite (counted) instead of stopping.") var skipNonfinite = false
    @Option(help: "Stop after this step (≥ 1) with a checkpoint, as on SIGINT; --resume continues.") var stopAfter: Int?

    @Option(help: "Seed for initialisation, data order, dropout.") var seed: UInt64 = 1
    @Option(help: "Output folder for checkpoints, metrics.jsonl and loss.svg.") var out: String?
    @Option(help: "Resume the run in this folder from its last checkpoint.") var resume: String?
    @Flag(help: "Print a JSON summary as the last line of stdout.") var json = false
    @OptionGroup var options: DeviceOptions

    func run() throws {
        try guarded {
            let outDir = try prepareOutput()
            let device = try options.open()
            var spec = TaskSpec(task: task)
            spec.data = data; spec.test = test; spec.column = column; spec.fill = fill; spec.season = season
            spec.minDistance = minDistance; spec.maxDistance = maxDistance

            var trainer: Trainer
            let checkpoint = try resume.map { try Checkpoint.load($0 + "/checkpoint") }
            if let checkpoint {
                let config = try checkpoint.config
                let known = try checkpoint.modelMetadata["recur.data"].map { try JSONDecoder().decode(DataDescription.self, from: Data($0.utf8)) }
                guard known?.task == task else { throw Failure("--resume \(resume!): the checkpoint is of task \(known?.task ?? "?"), not \(task)") }
                let seed = UInt64(checkpoint.modelMetadata["recur.seed"] ?? "") ?? self.seed
                let t = try spec.make(seed: seed, known: known)
                var c = config
                try t.configure(&c)
                let opt = try checkpoint.trainerMetadata["recur.optimizer"].map { try JSONDecoder().decode(OptimizerConfig.self, from: Data($0.utf8)) } ?? optimizerConfig(stepsTotal: 0)
                try Model.admit(config, device: device, optimizer: opt)   // before anything is allocated
                trainer = try Trainer(model: try Model(config, device: device, seed: seed), task: t, optimizer: opt,
                                      options: try trainOptions(task: t, config: config))
                try trainer.restore(checkpoint)
                Console.note("resuming \(resume!) at step \(trainer.step)")
            } else {
                let t = try spec.make(seed: seed)
                var c = try modelConfig(family: spec.family())
                try t.configure(&c)
                try c.validate()   // sizes first: a step count is judged against a valid batch × sequence
                let opts = try trainOptions(task: t, config: c)
                let opt = try optimizerConfig(stepsTotal: opts.steps)
                try Model.admit(c, device: device, optimizer: opt)   // before anything is allocated
                trainer = try Trainer(model: try Model(c, device: device, seed: seed), task: t, optimizer: opt, options: opts)
            }
            let report = Report(json: json, out: outDir, units: trainer.model.config.family == .classifier && trainer.model.config.encoder == .cnn ? "samples" : (task == "forecast" ? "samples" : "tokens"), total: trainer.options.steps)
            trainer.onEvent = report.handle
            Signals.install()
            let summary: TrainSummary
            do { summary = try trainer.run(out: outDir) } catch let e as DeviceError {
                // The device failed mid-run: its buffers cannot be trusted, so nothing is saved.
                let kept = outDir.flatMap { dir in
                    (try? FileManager.default.destinationOfSymbolicLink(atPath: dir.appendingPathComponent("checkpoint").path)).map { "the last checkpoint \(dir.path)/\($0) is kept" }
                } ?? "no checkpoint was written"
                throw Failure((report.failure.map { "\($0); " } ?? "") + "\(e); stopped without saving (\(kept))")
            } catch where report.failure != nil {
                throw Failure("\(report.failure!); \(error)")
            }
            if let failure = report.failure {
                throw Failure("\(failure); stopped after step \(summary.steps)" + (summary.checkpoint.map { " with a checkpoint in \($0)" } ?? " (no --out: nothing saved)"))
            }
            try report.finish(summary)
            if Trainer.stopRequested { Console.note("stopped by signal at step \(summary.steps); checkpoint in \(summary.checkpoint ?? "-")") }
            if json { try Output.line(try Console.json(summary).replacingOccurrences(of: "\n", with: "").replacingOccurrences(of: "  ", with: "")) }
        }
    }

    /// Every flag on its own, before anything is read or written; sizes that depend on the data
    /// (vocabulary, one batch against the text) are checked once it is read, before training.
    func validate() throws {
        if !TaskSpec.names.contains(task) { throw ValidationError("--task: unknown task '\(task)' (expected \(Check.list(TaskSpec.names)))") }
        if let fill { try Check.oneOf(fill, ["previous", "linear", "zero"], "--fill") }
        try Check.positive(season, "--season")
        try Check.range(minDistance, 0...MemoryTask.maxDistanceLimit, "--min-distance")
        try Check.range(maxDistance, minDistance...MemoryTask.maxDistanceLimit, "--max-distance")
        for (value, flag) in [(layers, "--layers"), (hidden, "--hidden"), (embedding, "--embedding"), (filters, "--filters"),
                              (batch, "--batch"), (seq, "--seq"), (stepSize, "--step-size"), (evalEvery, "--eval-every"), (logEvery, "--log-every")] {
            try Check.positive(value, flag)
        }
        for (value, flag) in [(steps, "--steps"), (epochs, "--epochs"), (patience, "--patience"), (stopAfter, "--stop-after")] {
            if let value { try Check.positive(value, flag) }
        }
        if steps == nil && epochs == nil { throw ValidationError("give --steps N (or --epochs N for classify)") }
        if epochs != nil && task != "classify" { throw ValidationError("--epochs is for --task classify; use --steps") }
        if warmup < 0 { throw ValidationError("--warmup must be ≥ 0, got \(warmup)") }
        try Check.finite(dropout, "--dropout", "in [0, 1)") { $0 >= 0 && $0 < 1 }
        try Check.finite(forgetBias, "--forget-bias", "a finite number")
        try Check.finite(clip, "--clip", "a finite number ≥ 0 (0: no clipping)") { $0 >= 0 }
        try Check.parseTime {
            _ = try modelConfig(family: TaskSpec(task: task).family())
            try optimizerConfig(stepsTotal: 1).validate()
        }
    }

    /// The architecture from the flags; the task fills in what its data decides.
    func modelConfig(family: ModelConfig.Family) throws -> ModelConfig {
        var c = ModelConfig(family: family)
        guard let enc = ModelConfig.Encoder(rawValue: encoder) else { throw Failure("--encoder must be recurrent or cnn, got '\(encoder)'") }
        guard enc == .recurrent || task == "classify" else { throw Failure("--encoder cnn is for --task classify") }
        guard let kind = CellKind(rawValue: cell) else { throw Failure("--cell must be lstm, gru, rnn or rnn-relu, got '\(cell)'") }
        guard let fold = ModelConfig.EmbeddingFold(rawValue: embeddingFold) else { throw Failure("--embedding-fold must be auto, always or never, got '\(embeddingFold)'") }
        c.encoder = enc; c.cell = kind; c.embeddingFold = fold
        c.layers = layers; c.hidden = hidden; c.embedding = embedding; c.dropout = dropout
        c.convFilters = filters; c.batch = batch; c.sequence = seq; c.forgetBias = forgetBias
        c.convWidths = try convWidths.split(separator: ",").map {
            guard let w = Int($0.trimmingCharacters(in: .whitespaces)), w > 0 else {
                throw Failure("--conv-widths must be comma-separated positive integers, got '\(convWidths)'")
            }
            return w
        }
        return c
    }

    func trainOptions(task: any TrainingTask, config: ModelConfig) throws -> TrainOptions {
        var steps = self.steps
        if let epochs {
            guard let t = task as? ClassifyTask else { throw Failure("--epochs is for --task classify; use --steps") }
            let perEpoch = max(1, t.trainingExamples / config.batch + (t.trainingExamples % config.batch == 0 ? 0 : 1))
            guard let total = Sizes.product(epochs, perEpoch) else {
                throw Failure("--epochs \(epochs) × \(perEpoch) batches per epoch is more than 2^63 - 1 steps")
            }
            steps = total
        }
        guard let steps else { throw Failure("give --steps N (or --epochs N for classify)") }
        guard Sizes.product(steps, config.batch, config.sequence) != nil else {
            let flag = epochs.map { "--epochs \($0) (\(steps) steps)" } ?? "--steps \(steps)"
            throw Failure("\(flag) × batch \(config.batch) × sequence length \(config.sequence) is more than 2^63 - 1 positions; lower \(epochs == nil ? "--steps" : "--epochs")")
        }
        var o = TrainOptions(steps: steps)
        o.evalEvery = evalEvery; o.logEvery = logEvery; o.patience = patience; o.skipNonFinite = skipNonfinite
        o.stopAfter = stopAfter
        return o
    }

    func optimizerConfig(stepsTotal: Int) throws -> OptimizerConfig {
        var o = OptimizerConfig()
        guard let kind = OptimizerConfig.Kind(rawValue: optimizer) else { throw Failure("--optimizer must be sgd, adam or adamw, got '\(optimizer)'") }
        guard let sched = OptimizerConfig.Schedule(rawValue: schedule) else { throw Failure("--schedule must be constant, step or cosine, got '\(schedule)'") }
        o.kind = kind; o.lr = lr; o.momentum = momentum; o.nesterov = nesterov; o.weightDecay = weightDecay
        o.clip = clip > 0 ? clip : nil; o.schedule = sched; o.warmup = warmup; o.stepSize = stepSize; o.gamma = gamma
        o.totalSteps = max(1, stepsTotal)
        do { try o.validate() } catch { throw Failure("\(error)") }
        return o
    }

    /// The output folder: created if missing; an existing file, an unwritable folder, or a folder that
    /// already holds a checkpoint (without --resume) is refused before anything is written.
    func prepareOutput() throws -> URL? {
        if let resume {
            guard FileManager.default.fileExists(atPath: resume + "/checkpoint") else { throw Failure("--resume \(resume): no checkpoint in that folder") }
            if let out, out != resume { throw Failure("--out and --resume name different folders; a resumed run writes to --resume") }
            return URL(fileURLWithPath: resume)
        }
        guard let out else { return nil }
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: out, isDirectory: &isDir) {
            guard isDir.boolValue else { throw Failure("--out \(out): is a file, not a folder") }
            if FileManager.default.fileExists(atPath: out + "/checkpoint") || (try? FileManager.default.destinationOfSymbolicLink(atPath: out + "/checkpoint")) != nil {
                throw Failure("--out \(out): already holds a checkpoint; pass --resume \(out) or choose another folder")
            }
        } else {
            do { try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true) } catch {
                throw Failure("--out \(out): cannot create the folder (\(error.localizedDescription))")
            }
        }
        guard access(out, W_OK) == 0 else { throw Failure("--out \(out): the folder is not writable") }
        return URL(fileURLWithPath: out)
    }
}

/// SIGINT / SIGTERM: finish the current step, checkpoint, exit 0.
enum Signals {
    static func install() {
        signal(SIGINT) { _ in Trainer.stopRequested = true }
        signal(SIGTERM) { _ in Trainer.stopRequested = true }
        // A parent may have started us with these signals blocked; they must reach the handler.
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }
}

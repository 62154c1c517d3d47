import ArgumentParser
import Foundation
import Recur

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a model on a task; checkpoints, metrics and a loss curve go to --out.")

    // Settings a resumed run takes from its checkpoint are optional here: on --resume only the flags
    // actually given count, as conflicts (fixed settings) or as changes (schedule, length, logging).
    @Option(help: "charlm, classify, forecast, memory or adding.") var task: String
    @Option(help: "Data file: text (charlm), TSV label<TAB>text (classify), CSV (forecast).") var data: String?
    @Option(help: "classify: held-out TSV file (default: a tenth of --data).") var test: String?
    @Option(help: "forecast: the CSV column to model.") var column: String?
    @Option(help: "forecast: fill missing values with previous, linear or zero (default: missing values are an error).") var fill: String?
    @Option(parsing: .unconditional, help: "forecast: season length of the seasonal-naive baseline (≥ 1; default: 12).") var season: Int?
    @Option(parsing: .unconditional, help: "memory: shortest filler distance (≥ 0; default: 1).") var minDistance: Int?
    @Option(parsing: .unconditional, help: "memory: longest filler distance (--min-distance ... 2147483637; default: 40).") var maxDistance: Int?

    @Option(help: "lstm, gru, rnn or rnn-relu (default: lstm).") var cell: String?
    @Option(help: "classify: recurrent or cnn (default: recurrent).") var encoder: String?
    @Option(parsing: .unconditional, help: "Recurrent layers (1 ... 256; default: 1).") var layers: Int?
    @Option(parsing: .unconditional, help: "Hidden size (≥ 1; default: 128).") var hidden: Int?
    @Option(parsing: .unconditional, help: "Embedding size (≥ 1; default: 64; charlm, classify and memory: forecast and adding read values, not tokens).") var embedding: Int?
    @Option(parsing: .unconditional, help: "Dropout between recurrent layers and before the classifier, in [0, 1) (default: 0).") var dropout: Float?
    @Option(parsing: .unconditional, help: "LSTM: add this (finite) to the forget-gate bias at initialisation (default 0: PyTorch's init).") var forgetBias: Float?
    @Option(help: "auto, always or never: recurrent layer 0 gathers rows of embedding·W_ihᵀ instead of projecting each position (auto, the default: batches of 2·vocab tokens or more).") var embeddingFold: String?
    @Option(parsing: .unconditional, help: "cnn: filters per width (≥ 1; default: 100).") var filters: Int?
    @Option(help: "cnn: comma-separated filter widths (each 1 ... --seq; default: 3,4,5).") var convWidths: String?

    @Option(parsing: .unconditional, help: "Batch size (≥ 1; default: 32).") var batch: Int?
    @Option(parsing: .unconditional, help: "Sequence length (≥ 1; default: 64; not for memory, where --max-distance sets it).") var seq: Int?
    @Option(parsing: .unconditional, help: "Training steps in total (≥ 1; a resumed run continues to this count; default there: the checkpoint's). --steps × batch × sequence length must be below 2^63.") var steps: Int?
    @Option(parsing: .unconditional, help: "Epochs over the training data (≥ 1; instead of --steps; classify).") var epochs: Int?
    @Option(parsing: .unconditional, help: "Learning rate (a finite number > 0; default: 0.002).") var lr: Float?
    @Option(help: "sgd, adam or adamw (default: adam).") var optimizer: String?
    @Option(parsing: .unconditional, help: "SGD momentum, in [0, 1) (default: 0.9).") var momentum: Float?
    @Flag(inversion: .prefixedNo, help: "SGD: Nesterov momentum (default: off).") var nesterov: Bool?
    @Option(parsing: .unconditional, help: "Weight decay (finite, ≥ 0; AdamW: decoupled; default: 0).") var weightDecay: Float?
    @Option(parsing: .unconditional, help: "Global-norm gradient clipping threshold (finite, ≥ 0); 0 turns it off (default: 5).") var clip: Float?
    @Option(help: "constant, step or cosine (default: constant).") var schedule: String?
    @Option(parsing: .unconditional, help: "Warm-up steps (≥ 0; default: 0).") var warmup: Int?
    @Option(parsing: .unconditional, help: "step schedule: steps between decays (≥ 1; default: 1000).") var stepSize: Int?
    @Option(parsing: .unconditional, help: "step schedule: decay factor (a finite number > 0; default: 0.5).") var gamma: Float?

    @Option(parsing: .unconditional, help: "Evaluate (and checkpoint) every N steps (≥ 1; default: 200).") var evalEvery: Int?
    @Option(parsing: .unconditional, help: "Log every N steps (≥ 1; default: 50).") var logEvery: Int?
    @Option(parsing: .unconditional, help: "Early stop after N (≥ 1) evaluations without improvement.") var patience: Int?
    @Flag(inversion: .prefixedNo, help: "Skip steps whose loss is not finite (counted) instead of stopping (default: off).") var skipNonfinite: Bool?
    @Option(parsing: .unconditional, help: "Stop after this step (≥ 1) with a checkpoint, as on SIGINT; --resume continues.") var stopAfter: Int?

    @Option(parsing: .unconditional, help: "Seed for initialisation, data order, dropout (default: 1).") var seed: UInt64?
    @Option(help: "Output folder for checkpoints, metrics.jsonl and loss.svg.") var out: String?
    @Option(help: "Resume the run in this folder from its last checkpoint.") var resume: String?
    @Flag(help: "Print a JSON summary as the last line of stdout.") var json = false
    @OptionGroup var options: DeviceOptions

    var spec: TaskSpec {
        var spec = TaskSpec(task: task)
        spec.data = data; spec.test = test; spec.column = column; spec.fill = fill
        if let season { spec.season = season }
        if let minDistance { spec.minDistance = minDistance }
        if let maxDistance { spec.maxDistance = maxDistance }
        return spec
    }

    func run() throws {
        try guarded {
            // The folder stays held (and other writers refused) until the process ends.
            let folder = try prepareOutput()
            try withExtendedLifetime(folder) { try train(in: folder) }
        }
    }

    func train(in folder: OutputFolder?) throws {
        let run = resume == nil ? try freshRun() : nil   // the data is read and checked before a device is opened
        let device = try options.open()
        let trainer = try folder.flatMap { resume != nil ? $0 : nil }.map { try resumed(from: $0, device: device) } ?? fresh(run!, on: device)
        let outDir = folder?.url
        if let outDir { try Report.prepareHistory(outDir, resumedAt: resume != nil ? trainer.step : nil) }
        let report = Report(json: json, out: outDir, units: trainer.model.config.family == .classifier && trainer.model.config.encoder == .cnn ? "samples" : (task == "forecast" ? "samples" : "tokens"), total: trainer.options.steps)
        trainer.onEvent = report.handle
        Signals.install()
        let summary: TrainSummary
        do { summary = try trainer.run(in: folder) } catch let e as DeviceError {
            // The device failed mid-run: its buffers cannot be trusted, so nothing is saved.
            let kept = outDir.flatMap { dir in
                (try? FileManager.default.destinationOfSymbolicLink(atPath: dir.appendingPathComponent("checkpoint").path)).map { "the last checkpoint \(shownPath(dir.path + "/" + $0)) is kept" }
            } ?? "no checkpoint was written"
            throw Failure((report.failure.map { "\($0); " } ?? "") + "\(e); stopped without saving (\(kept))")
        } catch where report.failure != nil {
            throw Failure("\(report.failure!); \(error)")
        }
        if let failure = report.failure {
            throw Failure("\(failure); stopped after step \(summary.steps)" + (summary.checkpoint.map { " with a checkpoint in \(shownPath($0))" } ?? " (no --out: nothing saved)"))
        }
        try report.finish(summary)
        if Trainer.stopRequested { Console.note("stopped by signal at step \(summary.steps); checkpoint in \(summary.checkpoint.map(shownPath) ?? "-")") }
        if json { try Output.line(try Console.json(summary).replacingOccurrences(of: "\n", with: "").replacingOccurrences(of: "  ", with: "")) }
    }

    /// Every flag on its own, before anything is read or written; sizes that depend on the data
    /// (vocabulary, one batch against the text) are checked once it is read, before training.
    func validate() throws {
        try options.refuseThreadsOffCPU()
        if !TaskSpec.names.contains(task) { throw ValidationError("--task: unknown task '\(task)' (expected \(Check.list(TaskSpec.names)))") }
        if let fill { try Check.oneOf(fill, ["previous", "linear", "zero"], "--fill") }
        if let season { try Check.positive(season, "--season") }
        if let minDistance { try Check.range(minDistance, 0...MemoryTask.maxDistanceLimit, "--min-distance") }
        if let maxDistance { try Check.range(maxDistance, (minDistance ?? 1)...MemoryTask.maxDistanceLimit, "--max-distance") }
        for (value, flag) in [(layers, "--layers"), (hidden, "--hidden"), (embedding, "--embedding"), (filters, "--filters"),
                              (batch, "--batch"), (seq, "--seq"), (stepSize, "--step-size"), (evalEvery, "--eval-every"), (logEvery, "--log-every"),
                              (steps, "--steps"), (epochs, "--epochs"), (patience, "--patience"), (stopAfter, "--stop-after")] {
            if let value { try Check.positive(value, flag) }
        }
        if steps == nil && epochs == nil && resume == nil { throw ValidationError("give --steps N (or --epochs N for classify)") }
        if let out { try Check.folder(out, "--out") }
        if epochs != nil && task != "classify" { throw ValidationError("--epochs is for --task classify; use --steps") }
        if let warmup, warmup < 0 { throw ValidationError("--warmup must be ≥ 0, got \(warmup)") }
        if let dropout { try Check.finite(dropout, "--dropout", "in [0, 1)") { $0 >= 0 && $0 < 1 } }
        if let forgetBias { try Check.finite(forgetBias, "--forget-bias", "a finite number") }
        if let clip { try Check.finite(clip, "--clip", "a finite number ≥ 0 (0: no clipping)") { $0 >= 0 } }
        if let layers { try Check.range(layers, 1...ModelConfig.maxLayers, "--layers") }
        try Check.parseTime {
            _ = try modelConfig(family: TaskSpec(task: task).family())
            try optimizerConfig(stepsTotal: 1).validate()
        }
        try checkRelevance()
    }

    /// A flag the run would not use is refused rather than silently ignored.
    func checkRelevance() throws {
        let owners: [(given: Bool, flag: String, task: String)] = [
            (test != nil, "--test", "classify"), (column != nil, "--column", "forecast"), (fill != nil, "--fill", "forecast"),
            (season != nil, "--season", "forecast"), (minDistance != nil, "--min-distance", "memory"), (maxDistance != nil, "--max-distance", "memory")]
        for o in owners where o.given && task != o.task { throw ValidationError("\(o.flag) is for --task \(o.task), not \(task)") }
        if data != nil && ["memory", "adding"].contains(task) { throw ValidationError("--data: --task \(task) makes its own data") }
        if seq != nil && task == "memory" { throw ValidationError("--seq: --task memory sets the sequence length from --max-distance (the distance + 10)") }
        if steps != nil && epochs != nil { throw ValidationError("--steps and --epochs both set the run's length; give one") }
        if TaskSpec(task: task).family() == .regressor {   // values go straight into the recurrent layer
            for (given, flag) in [(embedding != nil, "--embedding"), (embeddingFold != nil, "--embedding-fold")] where given {
                throw ValidationError("\(flag) is for tasks read as tokens (charlm, classify, memory), not \(task)")
            }
        }
        if (filters != nil || convWidths != nil) && encoder != "cnn" && resume == nil {
            throw ValidationError("--filters and --conv-widths are for --encoder cnn")
        }
        if encoder == "cnn" {   // the convolutions replace the recurrent layers
            let recurrent = [(cell != nil, "--cell"), (layers != nil, "--layers"), (hidden != nil, "--hidden"), (forgetBias != nil, "--forget-bias")]
                .filter(\.0).map(\.1)
            if let last = recurrent.last {
                let named = recurrent.count == 1 ? "\(last) is" : recurrent.dropLast().joined(separator: ", ") + " and \(last) are"
                throw ValidationError("\(named) for the recurrent encoder, not --encoder cnn")
            }
        }
        guard resume == nil else { return }   // on resume the checkpoint's cell, layers, optimizer and schedule decide
        if forgetBias != nil && (cell ?? "lstm") != "lstm" { throw ValidationError("--forget-bias is for --cell lstm, not \(cell!)") }
        if (momentum != nil || nesterov != nil) && optimizer != "sgd" { throw ValidationError("--momentum and --nesterov are for --optimizer sgd") }
        if nesterov == true && momentum == 0 { throw ValidationError("--nesterov needs a momentum above 0, got --momentum 0") }
        if (stepSize != nil || gamma != nil) && schedule != "step" { throw ValidationError("--step-size and --gamma are for --schedule step") }
        if dropout != nil && (layers ?? 1) == 1 && TaskSpec(task: task).family() != .classifier {
            throw ValidationError("--dropout acts between recurrent layers and before a classifier's output; --task \(task) with one layer has neither (give --layers 2 or more)")
        }
    }

    /// A new run from the flags (defaults where not given).
    func fresh(_ run: (any TrainingTask, ModelConfig, OptimizerConfig, TrainOptions), on device: Device) throws -> Trainer {
        let (t, c, opt, o) = run
        try Model.admit(c, device: device, optimizer: opt)   // before anything is allocated
        return try Trainer(model: try Model(c, device: device, seed: seed ?? 1), task: t, optimizer: opt, options: o)
    }

    /// The task, model, optimizer and run options the flags make for a new run.
    func freshRun() throws -> (any TrainingTask, ModelConfig, OptimizerConfig, TrainOptions) {
        let seed = self.seed ?? 1
        let t = try spec.make(seed: seed)
        var c = try modelConfig(family: spec.family())
        try t.configure(&c)
        try c.validate()   // sizes first: a step count is judged against a valid batch × sequence
        guard let steps = try requestedSteps(task: t, config: c) else { throw Failure("give --steps N (or --epochs N for classify)") }
        var o = TrainOptions(steps: steps)
        o.evalEvery = evalEvery ?? o.evalEvery; o.logEvery = logEvery ?? o.logEvery; o.patience = patience; o.skipNonFinite = skipNonfinite ?? false
        o.stopAfter = stopAfter
        try check(o)
        return (t, c, try optimizerConfig(stepsTotal: steps), o)
    }

    /// The architecture from the flags (defaults where not given); the task fills in what its data decides.
    func modelConfig(family: ModelConfig.Family) throws -> ModelConfig {
        var c = ModelConfig(family: family)
        let encoder = self.encoder ?? "recurrent"
        guard let kind = ModelConfig.Encoder(rawValue: encoder) else { throw Failure("--encoder must be recurrent or cnn, got '\(encoder)'") }
        guard kind == .recurrent || task == "classify" else { throw Failure("--encoder cnn is for --task classify") }
        c.encoder = kind
        c.cell = try cellKind() ?? c.cell
        c.layers = layers ?? 1; c.hidden = hidden ?? 128; c.embedding = embedding ?? 64; c.dropout = dropout ?? 0
        c.convFilters = filters ?? 100; c.batch = batch ?? 32; c.sequence = seq ?? 64; c.forgetBias = forgetBias ?? 0
        c.embeddingFold = try fold() ?? c.embeddingFold
        c.convWidths = try widths() ?? [3, 4, 5]
        return c
    }

    func cellKind() throws -> CellKind? {
        try cell.map { guard let k = CellKind(rawValue: $0) else { throw Failure("--cell must be lstm, gru, rnn or rnn-relu, got '\($0)'") }; return k }
    }

    func fold() throws -> ModelConfig.EmbeddingFold? {
        try embeddingFold.map {
            guard let f = ModelConfig.EmbeddingFold(rawValue: $0) else { throw Failure("--embedding-fold must be auto, always or never, got '\($0)'") }
            return f
        }
    }

    func widths() throws -> [Int]? {
        try convWidths.map { text in
            try text.split(separator: ",").map {
                guard let w = Int($0.trimmingCharacters(in: .whitespaces)), w > 0 else {
                    throw Failure("--conv-widths must be comma-separated positive integers, got '\(text)'")
                }
                return w
            }
        }
    }

    func optimizerKind() throws -> OptimizerConfig.Kind? {
        try optimizer.map { guard let k = OptimizerConfig.Kind(rawValue: $0) else { throw Failure("--optimizer must be sgd, adam or adamw, got '\($0)'") }; return k }
    }

    func scheduleKind() throws -> OptimizerConfig.Schedule? {
        try schedule.map { guard let s = OptimizerConfig.Schedule(rawValue: $0) else { throw Failure("--schedule must be constant, step or cosine, got '\($0)'") }; return s }
    }

    /// The run's length from --steps or --epochs, nil when neither is given.
    func requestedSteps(task: any TrainingTask, config: ModelConfig) throws -> Int? {
        var steps = self.steps
        if let epochs {
            guard epochs > 0 else { throw Failure("--epochs must be positive, got \(epochs)") }
            guard let t = task as? ClassifyTask else { throw Failure("--epochs is for --task classify; use --steps") }
            let perEpoch = max(1, t.trainingExamples / config.batch + (t.trainingExamples % config.batch == 0 ? 0 : 1))
            guard let total = Sizes.product(epochs, perEpoch) else {
                throw Failure("--epochs \(epochs) × \(perEpoch) batches per epoch is more than 2^63 - 1 steps")
            }
            steps = total
        }
        guard let steps else { return nil }
        guard steps > 0 else { throw Failure("--steps must be positive, got \(steps)") }
        guard Sizes.product(steps, config.batch, config.sequence) != nil else {
            let flag = epochs.map { "--epochs \($0) (\(steps) steps)" } ?? "--steps \(steps)"
            throw Failure("\(flag) × batch \(config.batch) × sequence length \(config.sequence) is more than 2^63 - 1 positions; lower \(epochs == nil ? "--steps" : "--epochs")")
        }
        return steps
    }

    func check(_ o: TrainOptions) throws {
        if let stopAfter = o.stopAfter, stopAfter < 1 { throw Failure("--stop-after must be positive, got \(stopAfter)") }
        if let stopAfter = o.stopAfter, stopAfter > o.steps { throw Failure("--stop-after \(stopAfter) is past the run's last step (\(o.steps))") }
        guard o.evalEvery > 0, o.logEvery > 0 else { throw Failure("--eval-every and --log-every must be positive") }
        if let patience = o.patience, patience < 1 { throw Failure("--patience must be at least 1, got \(patience)") }
    }

    func optimizerConfig(stepsTotal: Int) throws -> OptimizerConfig {
        var o = OptimizerConfig()
        o.kind = try optimizerKind() ?? o.kind
        o.schedule = try scheduleKind() ?? o.schedule
        let clip = self.clip ?? 5
        o.lr = lr ?? o.lr; o.momentum = momentum ?? o.momentum; o.nesterov = nesterov ?? false; o.weightDecay = weightDecay ?? 0
        o.clip = clip > 0 ? clip : nil; o.warmup = warmup ?? 0; o.stepSize = stepSize ?? o.stepSize; o.gamma = gamma ?? o.gamma
        o.totalSteps = max(1, stepsTotal)
        guard clip.isFinite && clip >= 0 else { throw Failure("--clip must be ≥ 0, got \(clip)") }
        do { try o.validate() } catch { throw Failure("\(error)") }
        return o
    }

    /// The output folder, held for the run: created if missing; an existing file, an unwritable
    /// folder, a folder another run is writing to, or one that already holds a checkpoint (without
    /// --resume) is refused before anything is written.
    func prepareOutput() throws -> OutputFolder? {
        let fm = FileManager.default
        for (flag, path) in [("--resume", resume), ("--out", out)] {
            guard let path else { continue }
            let link = path + "/checkpoint"
            if let target = try? fm.destinationOfSymbolicLink(atPath: link), !fm.fileExists(atPath: link) {
                throw Failure("\(flag) \(path): its checkpoint link points to \(target), which does not exist (removed by hand?); remove \(link) to start a new run there, or restore \(target)")
            }
        }
        if let resume {
            if let out, out != resume { throw Failure("--out and --resume name different folders; a resumed run writes to --resume") }
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: resume, isDirectory: &isDir), isDir.boolValue, fm.fileExists(atPath: resume + "/checkpoint") else {
                throw Failure("--resume \(shownPath(resume)): no checkpoint in that folder")
            }
            return try take(resume, flag: "--resume")
        }
        guard let out else { return nil }
        try Check.makeFolder(out, "--out")
        let folder = try take(out, flag: "--out")
        if fm.fileExists(atPath: out + "/checkpoint") || (try? fm.destinationOfSymbolicLink(atPath: out + "/checkpoint")) != nil {
            throw Failure("--out \(shownPath(out)): already holds a checkpoint; pass --resume \(shownPath(out)) or choose another folder")
        }
        return folder
    }

    func take(_ path: String, flag: String) throws -> OutputFolder {
        do { return try OutputFolder(URL(fileURLWithPath: path)) } catch let busy as OutputFolder.Busy {
            throw Failure("\(flag) \(shownPath(path)): another training run (pid \(busy.holder.map(String.init) ?? "unknown")) is writing to this folder; wait for it to end or choose another folder")
        } catch {
            throw Failure("\(flag) \(shownPath(path)): \(error)")
        }
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

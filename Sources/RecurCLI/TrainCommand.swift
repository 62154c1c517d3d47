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
    @Option(help: "forecast: season length of the seasonal-naive baseline.") var season = 12
    @Option(help: "memory: shortest filler distance.") var minDistance = 1
    @Option(help: "memory: longest filler distance.") var maxDistance = 40

    @Option(help: "lstm, gru, rnn or rnn-relu.") var cell = "lstm"
    @Option(help: "classify: recurrent or cnn.") var encoder = "recurrent"
    @Option(help: "Recurrent layers.") var layers = 1
    @Option(help: "Hidden size.") var hidden = 128
    @Option(help: "Embedding size.") var embedding = 64
    @Option(help: "Dropout between recurrent layers and before the classifier.") var dropout: Float = 0
    @Option(help: "LSTM: add this to the forget-gate bias at initialisation (0: PyTorch's init).") var forgetBias: Float = 0
    @Option(help: "auto, always or never: recurrent layer 0 gathers rows of embedding·W_ihᵀ instead of projecting each position (auto: batches of 2·vocab tokens or more).") var embeddingFold = "auto"
    @Option(help: "cnn: filters per width.") var filters = 100
    @Option(help: "cnn: comma-separated filter widths.") var convWidths = "3,4,5"

    @Option(help: "Batch size.") var batch = 32
    @Option(help: "Sequence length (memory: set from --max-distance).") var seq = 64
    @Option(help: "Training steps in total (a resumed run continues to this count).") var steps: Int?
    @Option(help: "Epochs over the training data (instead of --steps; classify).") var epochs: Int?
    @Option(help: "Learning rate.") var lr: Float = 2e-3
    @Option(help: "sgd, adam or adamw.") var optimizer = "adam"
    @Option(help: "SGD momentum.") var momentum: Float = 0.9
    @Flag(help: "SGD: Nesterov momentum.") var nesterov = false
    @Option(help: "Weight decay (AdamW: decoupled).") var weightDecay: Float = 0
    @Option(help: "Global-norm gradient clipping threshold; 0 turns it off.") var clip: Float = 5
    @Option(help: "constant, step or cosine.") var schedule = "constant"
    @Option(help: "Warm-up steps.") var warmup = 0
    @Option(help: "step schedule: steps between decays.") var stepSize = 1000
    @Option(help: "step schedule: decay factor.") var gamma: Float = 0.5

    @Option(help: "Evaluate (and checkpoint) every N steps.") var evalEvery = 200
    @Option(help: "Log every N steps.") var logEvery = 50
    @Option(help: "Early stop after N evaluations without improvement.") var patience: Int?
    @Flag(help: "Skip steps whose loss is not finite (counted) instead of stopping.") var skipNonfinite = false
    @Option(help: "Stop after this step with a checkpoint, as on SIGINT; --resume continues.") var stopAfter: Int?

    @Option(help: "Seed for initialisation, data order, dropout.") var seed: UInt64 = 1
    @Option(help: "Output folder for checkpoints, metrics.jsonl and loss.svg.") var out: String?
    @Option(help: "Resume the run in this folder from its last checkpoint.") var resume: String?
    @Flag(help: "Print a JSON summary as the last line of stdout.") var json = false
    @OptionGroup var options: DeviceOptions

    func run() throws {
        try guarded {
            // The folder stays held (and other writers refused) until the process ends.
            let folder = try prepareOutput()
            try withExtendedLifetime(folder) { try train(in: folder) }
        }
    }

    func train(in folder: OutputFolder?) throws {
        let outDir = folder?.url
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
            trainer = try Trainer(model: try Model(config, device: device, seed: seed), task: t, optimizer: opt,
                                  options: try trainOptions(task: t, config: config))
            try trainer.restore(checkpoint)
            Console.note("resuming \(resume!) at step \(trainer.step)")
        } else {
            let t = try spec.make(seed: seed)
            var c = ModelConfig(family: spec.family())
            c.encoder = encoder == "cnn" ? .cnn : .recurrent
            guard ["recurrent", "cnn"].contains(encoder) else { throw Failure("--encoder must be recurrent or cnn, got '\(encoder)'") }
            guard encoder == "recurrent" || task == "classify" else { throw Failure("--encoder cnn is for --task classify") }
            guard let kind = CellKind(rawValue: cell) else { throw Failure("--cell must be lstm, gru, rnn or rnn-relu, got '\(cell)'") }
            c.cell = kind; c.layers = layers; c.hidden = hidden; c.embedding = embedding; c.dropout = dropout
            c.convFilters = filters; c.batch = batch; c.sequence = seq; c.forgetBias = forgetBias
            guard let fold = ModelConfig.EmbeddingFold(rawValue: embeddingFold) else { throw Failure("--embedding-fold must be auto, always or never, got '\(embeddingFold)'") }
            c.embeddingFold = fold
            c.convWidths = try convWidths.split(separator: ",").map {
                guard let w = Int($0.trimmingCharacters(in: .whitespaces)) else { throw Failure("--conv-widths must be comma-separated integers, got '\(convWidths)'") }
                return w
            }
            try t.configure(&c)
            let opts = try trainOptions(task: t, config: c)
            trainer = try Trainer(model: try Model(c, device: device, seed: seed), task: t, optimizer: try optimizerConfig(stepsTotal: opts.steps), options: opts)
        }
        let report = Report(json: json, out: outDir, units: trainer.model.config.family == .classifier && trainer.model.config.encoder == .cnn ? "samples" : (task == "forecast" ? "samples" : "tokens"), total: trainer.options.steps)
        trainer.onEvent = report.handle
        Signals.install()
        let summary: TrainSummary
        do { summary = try trainer.run(in: folder) } catch let e as DeviceError {
            // The device failed mid-run: its buffers cannot be trusted, so nothing is saved.
            let kept = outDir.flatMap { dir in
                (try? FileManager.default.destinationOfSymbolicLink(atPath: dir.appendingPathComponent("checkpoint").path)).map { "the last checkpoint \(dir.path)/\($0) is kept" }
            } ?? "no checkpoint was written"
            throw Failure("\(e); stopped without saving (\(kept))")
        }
        report.finish(summary)
        if Trainer.stopRequested { Console.note("stopped by signal at step \(summary.steps); checkpoint in \(summary.checkpoint ?? "-")") }
        if json { print(try Console.json(summary).replacingOccurrences(of: "\n", with: "").replacingOccurrences(of: "  ", with: "")) }
    }

    func trainOptions(task: any TrainingTask, config: ModelConfig) throws -> TrainOptions {
        var steps = self.steps
        if let epochs {
            guard epochs > 0 else { throw Failure("--epochs must be positive, got \(epochs)") }
            guard let t = task as? ClassifyTask else { throw Failure("--epochs is for --task classify; use --steps") }
            steps = epochs * max(1, (t.trainingExamples + config.batch - 1) / config.batch)
        }
        guard let steps else { throw Failure("give --steps N (or --epochs N for classify)") }
        guard steps > 0 else { throw Failure("--steps must be positive, got \(steps)") }
        var o = TrainOptions(steps: steps)
        o.evalEvery = evalEvery; o.logEvery = logEvery; o.patience = patience; o.skipNonFinite = skipNonfinite
        o.stopAfter = stopAfter
        if let stopAfter, stopAfter < 1 { throw Failure("--stop-after must be positive, got \(stopAfter)") }
        guard evalEvery > 0, logEvery > 0 else { throw Failure("--eval-every and --log-every must be positive") }
        if let patience, patience < 1 { throw Failure("--patience must be at least 1, got \(patience)") }
        return o
    }

    func optimizerConfig(stepsTotal: Int) throws -> OptimizerConfig {
        var o = OptimizerConfig()
        guard let kind = OptimizerConfig.Kind(rawValue: optimizer) else { throw Failure("--optimizer must be sgd, adam or adamw, got '\(optimizer)'") }
        guard let sched = OptimizerConfig.Schedule(rawValue: schedule) else { throw Failure("--schedule must be constant, step or cosine, got '\(schedule)'") }
        o.kind = kind; o.lr = lr; o.momentum = momentum; o.nesterov = nesterov; o.weightDecay = weightDecay
        o.clip = clip > 0 ? clip : nil; o.schedule = sched; o.warmup = warmup; o.stepSize = stepSize; o.gamma = gamma
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
        if let resume {
            if let out, out != resume { throw Failure("--out and --resume name different folders; a resumed run writes to --resume") }
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: resume, isDirectory: &isDir), isDir.boolValue, fm.fileExists(atPath: resume + "/checkpoint") else {
                throw Failure("--resume \(resume): no checkpoint in that folder")
            }
            return try take(resume, flag: "--resume")
        }
        guard let out else { return nil }
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: out, isDirectory: &isDir) {
            guard isDir.boolValue else { throw Failure("--out \(out): is a file, not a folder") }
        } else {
            do { try fm.createDirectory(atPath: out, withIntermediateDirectories: true) } catch {
                throw Failure("--out \(out): cannot create the folder (\(error.localizedDescription))")
            }
        }
        guard access(out, W_OK) == 0 else { throw Failure("--out \(out): the folder is not writable") }
        let folder = try take(out, flag: "--out")
        if fm.fileExists(atPath: out + "/checkpoint") || (try? fm.destinationOfSymbolicLink(atPath: out + "/checkpoint")) != nil {
            throw Failure("--out \(out): already holds a checkpoint; pass --resume \(out) or choose another folder")
        }
        return folder
    }

    func take(_ path: String, flag: String) throws -> OutputFolder {
        do { return try OutputFolder(URL(fileURLWithPath: path)) } catch let busy as OutputFolder.Busy {
            throw Failure("\(flag) \(path): another training run (pid \(busy.holder.map(String.init) ?? "unknown")) is writing to this folder; wait for it to end or choose another folder")
        } catch {
            throw Failure("\(flag) \(path): \(error)")
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

import Foundation
import Synchronization

/// What a training run reports as it goes (`Trainer.onEvent`, `Trainer.events(out:)`).
public enum TrainEvent: Sendable {
    /// A logged step: the mean loss of its batch, throughput since the last log, the learning rate.
    case step(step: Int, loss: Float, unitsPerSecond: Double, lr: Float)
    /// An evaluation on the held-out data.
    case evaluation(step: Int, Evaluation)
    /// A checkpoint was written (the folder `checkpoint-<step>`).
    case checkpoint(step: Int, URL)
}

/// A run stopped by a non-finite loss, gradient or validation loss; the message names the step.
public struct TrainingError: Error, CustomStringConvertible {
    /// One line naming the step and the checkpoint that is kept.
    public let description: String
}

/// What `recur train --json` prints last.
public struct TrainSummary: Codable, Sendable {
    /// The task's name (`charlm`, `classify`, ...).
    public var task: String
    /// The device's selector and name.
    public var device: String
    /// Steps done (including those of a resumed run).
    public var steps: Int
    /// The last logged training loss.
    public var trainLoss: Float
    /// The last validation loss; NaN when a stop request ended the run before any evaluation.
    public var valLoss: Float
    /// Validation accuracy (classification tasks).
    public var valAccuracy: Float?
    /// Validation mean squared error (forecasting, adding).
    public var valMSE: Float?
    /// The best baseline's validation MSE (forecasting).
    public var baselineMSE: Float?
    /// Validation loss in bits per character (character models).
    public var bitsPerCharacter: Float?
    /// Throughput over the whole run, in the task's units (tokens or samples).
    public var tokensPerSecond: Double
    /// Wall time of the run.
    public var seconds: Double
    /// The `checkpoint` link of the output folder, if any.
    public var checkpoint: String?
    /// Whether `patience` ended the run.
    public var stoppedEarly: Bool
    /// Steps skipped for a non-finite loss (`skipNonFinite`).
    public var skippedSteps: Int
    /// The last evaluation in full; nil when a stop request ended the run before any evaluation.
    public var evaluation: Evaluation?
}

/// Drives a model on a task: forward, backward, clip and update on the device, evaluation every N
/// steps, early stopping, checkpoints. The data of step k is a function of (seed, k), so a resumed
/// run continues bit for bit. A trainer and its model are used by one thread at a time: a second
/// thread entering either while the first is inside gets an error (`Model`).
public final class Trainer: @unchecked Sendable {
    /// The model being trained (its parameters change in place).
    public let model: Model
    /// Where the batches and the evaluation come from.
    public let task: any TrainingTask
    /// How long to train, when to evaluate and log.
    public let options: TrainOptions
    let optimizer: Optimizer
    /// Steps done so far (restored by `restore`).
    public private(set) var step = 0
    /// The summary of the last completed `run` (set by `events(out:)` too).
    public internal(set) var summary: TrainSummary?
    var best: Float = .infinity, badEvaluations = 0, skipped = 0
    /// Called on the training thread for every event, in order.
    public var onEvent: ((TrainEvent) -> Void)?
    /// Set (e.g. by a signal handler) to stop after the current step with a checkpoint.
    public static var stopRequested: Bool {
        get { stopFlag.load(ordering: .relaxed) }
        set { stopFlag.store(newValue, ordering: .relaxed) }
    }
    /// Lock-free, so a signal handler may set it.
    private static let stopFlag = Atomic<Bool>(false)

    /// A trainer for `model` on `task`; allocates the optimizer's moments on the model's device. Throws on invalid options.
    public init(model: Model, task: any TrainingTask, optimizer: OptimizerConfig, options: TrainOptions) throws {
        try optimizer.validate()
        guard model.training else { throw ModelError.config("Trainer needs a model built for training (training: true)") }
        guard options.steps > 0, options.evalEvery > 0, options.logEvery > 0 else {
            throw ModelError.config("--steps, --eval-every and --log-every must be positive")
        }
        // The tasks index their data by step × batch (or × sequence) and the throughput sums batch ×
        // sequence per step: all below steps × batch × sequence, so that product must fit an Int.
        guard Sizes.product(options.steps, model.config.batch, model.config.sequence) != nil else {
            throw ModelError.config("\(options.steps) steps × batch \(model.config.batch) × sequence length \(model.config.sequence) is more than 2^63 - 1 positions; fewer steps")
        }
        var need = model.memory
        var state = MemoryPlan()   // the optimizer's part of the plan alone: the model's is `model.memory`
        Optimizer.plan(&state, optimizer, parameters: model.parameters.map { ($0.name, $0.count) }, facts: model.device.facts)
        need.optimizer = state.need.optimizer
        try Model.admit(need, device: model.device)
        self.model = model; self.task = task; self.options = options
        self.optimizer = try Optimizer(optimizer, parameters: model.parameters, device: model.device)
    }

    func trainerMetadata() throws -> [String: String] {
        var m = ["recur.step": String(step), "recur.best": String(best.bitPattern), "recur.bad_evaluations": String(badEvaluations),
                 "recur.skipped": String(skipped), "recur.options": try Checkpoint.jsonString(TrainOptions.Stored(options))]
        m["recur.data_fingerprint"] = task.fingerprint
        return m
    }

    /// Continues from a checkpoint written by `save`: parameters, optimizer moments, carried state,
    /// step and early-stopping state. Everything is checked before anything changes.
    public func restore(_ c: Checkpoint) throws { try model.user.run { try restoreAlone(c) } }

    private func restoreAlone(_ c: Checkpoint) throws {
        guard !c.trainer.isEmpty || !c.trainerMetadata.isEmpty else {
            throw Checkpoint.LoadError(description: "\(c.modelFile): the checkpoint has no trainer state (trainer.safetensors) to resume from")
        }
        let state = try c.trainerState
        if let f = state.dataFingerprint, task.fingerprint != f {
            throw Checkpoint.LoadError(description: "\(c.trainerFile): recur.data_fingerprint: the trainer's data (digest \(task.fingerprint ?? "none")) is not the data the checkpoint was trained on (digest \(f))")
        }
        try c.restore(into: model, optimizer: optimizer)
        step = state.step
        best = state.best
        badEvaluations = state.badEvaluations
        skipped = state.skipped
    }

    /// Writes a checkpoint of the model, optimizer and trainer state to `out/checkpoint-<step>`
    /// atomically and points `out/checkpoint` at it; takes the folder (`OutputFolder`) for the save,
    /// so it fails with `OutputFolder.Busy` while another run writes there.
    @discardableResult
    public func save(to out: URL) throws -> URL { try save(in: try OutputFolder(out)) }

    /// Writes a checkpoint into a folder this process holds.
    @discardableResult
    public func save(in folder: OutputFolder) throws -> URL { try model.user.run { try saveAlone(in: folder) } }

    private func saveAlone(in folder: OutputFolder) throws -> URL {
        var data = [String: String]()
        data["recur.data"] = try Checkpoint.jsonString(task.data)
        let c = try Checkpoint.capture(model, data: data, optimizer: optimizer, trainer: try trainerMetadata())
        if let bad = c.firstNonFinite {
            throw TrainingError(description: "\(bad) is no longer finite at step \(step); stopped without saving: \(lastGood(folder.url))")
        }
        let url = try c.save(in: folder, step: step)
        onEvent?(.checkpoint(step: step, url))
        return url
    }

    /// Which checkpoint a run that stops without saving leaves, for its message.
    func lastGood(_ out: URL?) -> String {
        guard let out else { return "no --out, nothing was saved" }
        let link = out.appendingPathComponent("checkpoint").path
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: link), FileManager.default.fileExists(atPath: link) else {
            return "no checkpoint was saved before"
        }
        return "the last good checkpoint is \(shownPath(out.appendingPathComponent(target).path))"
    }

    /// One step: the task's batch for the current step, forward, backward, clipping and the optimizer
    /// update, all enqueued on the device without reading anything back (unless `skipNonFinite`,
    /// which reads the loss first). Returns false when the step was skipped for a non-finite loss.
    @discardableResult
    public func trainStep() throws -> Bool { try model.user.run { try trainStepAlone() } }

    private func trainStepAlone() throws -> Bool {
        let batch = task.batch(step: step, b: model.config.batch, T: model.config.sequence)
        try model.forward(batch, step: step)
        try model.backward()
        if options.skipNonFinite {
            // Look before updating: the loss is read every step in this mode.
            let loss = try model.lossValue()
            if !loss.isFinite {
                skipped += 1; step += 1
                return false
            }
        }
        try optimizer.step(model.parameters, device: model.device)
        if model.config.family == .languageModel { try model.carryState() }
        step += 1
        return true
    }

    /// Trains until `options.steps` steps are done, early stopping, a stop request, or an error;
    /// checkpoints go to `out`, which is held (`OutputFolder`) for the whole run: a folder another run
    /// is writing to is refused with `OutputFolder.Busy` before any step.
    public func run(out: URL?) throws -> TrainSummary { try run(in: try out.map { try OutputFolder($0) }) }

    /// Trains as `run(out:)` does, into a folder the caller already holds.
    public func run(in folder: OutputFolder?) throws -> TrainSummary { try model.user.run { try runAlone(in: folder) } }

    private func runAlone(in folder: OutputFolder?) throws -> TrainSummary {
        let out = folder?.url
        let d = model.device, b = model.config.batch, T = model.config.sequence
        let start = Date()
        var lastLoss: Float = .nan, lastEval: Evaluation? = nil, stoppedEarly = false, units = 0
        var windowStart = Date(), windowUnits = 0
        let firstStep = step
        var savedAt = -1
        while step < min(options.steps, options.stopAfter ?? Int.max) && !Trainer.stopRequested {
            if try !trainStep() { continue }
            units += task.units(b: b, T: T); windowUnits += task.units(b: b, T: T)
            let evaluate = step % options.evalEvery == 0 || step == options.steps
            if step % options.logEvery == 0 || evaluate || step == firstStep + 1 {
                lastLoss = try model.lossValue()
                let norm = try optimizer.lastGradientNorm(d)
                guard lastLoss.isFinite, norm.isFinite else {
                    throw TrainingError(description: "loss or gradient became \(lastLoss.isFinite ? "non-finite (gradient norm \(norm))" : "\(lastLoss)") at step \(step); stopped without saving: \(lastGood(out))")
                }
                let seconds = Date().timeIntervalSince(windowStart)
                onEvent?(.step(step: step, loss: lastLoss, unitsPerSecond: Double(windowUnits) / max(seconds, 1e-9), lr: optimizer.config.rate(at: optimizer.t)))
                windowStart = Date(); windowUnits = 0
            }
            if evaluate {
                let e = try task.evaluate(model)
                guard e.loss.isFinite else {
                    throw TrainingError(description: "validation loss became \(e.loss) at step \(step) (the parameters are no longer finite); stopped without saving: \(lastGood(out))")
                }
                lastEval = e
                onEvent?(.evaluation(step: step, e))
                if e.objective < best { best = e.objective; badEvaluations = 0 } else { badEvaluations += 1 }
                if let folder { try save(in: folder); savedAt = step }
                if let p = options.patience, badEvaluations >= p { stoppedEarly = true; break }
            }
        }
        // A stopped run saves where it stopped, unless it took no step (its checkpoint is the one it started from).
        if step > firstStep && step < options.steps && !stoppedEarly, let folder, savedAt != step { try save(in: folder) }
        // A run stopped by a signal exits promptly: it is not evaluated just for the summary.
        if lastEval == nil && !Trainer.stopRequested { lastEval = try task.evaluate(model) }
        let seconds = Date().timeIntervalSince(start)
        if lastLoss.isNaN, step > 0 { lastLoss = try model.lossValue() }
        let e = lastEval
        let summary = TrainSummary(task: task.data.task, device: "\(d.info.selector) \(d.info.name)", steps: step, trainLoss: lastLoss,
                            valLoss: e?.loss ?? .nan, valAccuracy: e?.accuracy, valMSE: e?.mse, baselineMSE: e?.baselineMSE,
                            bitsPerCharacter: e?.bitsPerCharacter, tokensPerSecond: Double(units) / max(seconds, 1e-9), seconds: seconds,
                            checkpoint: out.map { $0.appendingPathComponent("checkpoint").path }, stoppedEarly: stoppedEarly,
                            skippedSteps: skipped, evaluation: e)
        self.summary = summary
        return summary
    }
}

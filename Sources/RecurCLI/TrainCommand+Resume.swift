import Foundation
import Recur

/// `--resume`: the checkpoint fixes the model, the data, the seed and the optimizer's update rule; a
/// flag given that contradicts them is refused (all of them listed). The schedule, the length, the
/// evaluation and logging may change: flags given for them are applied and printed, the others keep
/// the checkpoint's values.
extension TrainCommand {
    func resumed(from folder: OutputFolder, device: Device) throws -> Trainer {
        let path = folder.url.appendingPathComponent("checkpoint").path
        let checkpoint = try Checkpoint.load(path)
        guard !checkpoint.trainerMetadata.isEmpty else {
            throw Failure("--resume \(shownPath(resume ?? folder.url.path)): the checkpoint has no trainer state (trainer.safetensors) to resume from")
        }
        let config = try checkpoint.config, known = try checkpoint.data, seed = try checkpoint.seed, state = try checkpoint.trainerState
        let origin = "--resume \(shownPath(resume ?? folder.url.path))"
        var conflicts = try fixedConflicts(config: config, data: known, seed: seed, optimizer: state.optimizer)
        if known.task != task { conflicts.insert("--task \(task) (checkpoint: \(known.task))", at: 0) }
        func refuse() -> Failure {
            Failure("\(origin): the checkpoint was trained with other settings: \(conflicts.joined(separator: ", ")); drop these flags, or start a new run in another folder")
        }
        guard conflicts.isEmpty else { throw refuse() }

        let t = try spec.make(seed: seed, known: known)
        var c = config
        try t.configure(&c)
        if let f = state.dataFingerprint, t.fingerprint != f {
            conflicts.append("--data \(data ?? "-")\(test.map { " --test \($0)" } ?? ""): not the data the checkpoint was trained on")
        } else if c != config {
            conflicts.append("--data \(data ?? "-"): the data no longer fits the checkpoint's model")
        }
        guard conflicts.isEmpty else { throw refuse() }

        var changes: [String] = []
        func apply<T: Equatable>(_ flag: String, _ given: T?, _ current: inout T, _ show: (T) -> String) {
            guard let given, given != current else { return }
            changes.append("\(flag) \(show(given)) (was \(show(current)))")
            current = given
        }
        var opt = state.optimizer, o = state.options
        apply("--lr", lr, &opt.lr) { "\($0)" }
        apply("--schedule", try scheduleKind(), &opt.schedule) { $0.rawValue }
        apply("--warmup", warmup, &opt.warmup) { "\($0)" }
        apply("--step-size", stepSize, &opt.stepSize) { "\($0)" }
        apply("--gamma", gamma, &opt.gamma) { "\($0)" }
        let steps = try requestedSteps(task: t, config: config)
        // A length or stop at or behind the checkpoint would train nothing (and a stop would save the same step again).
        if let steps, steps <= state.step {
            throw Failure("\(epochs.map { "--epochs \($0) (\(steps) steps)" } ?? "--steps \(steps)"): the checkpoint is already at step \(state.step); give more steps than that")
        }
        if let stopAfter, stopAfter <= state.step {
            throw Failure("--stop-after \(stopAfter): the checkpoint is already at step \(state.step); give a later step")
        }
        apply(epochs != nil ? "--epochs \(epochs!): --steps" : "--steps", steps, &o.steps) { "\($0)" }
        if steps != nil && o.steps != opt.totalSteps { opt.totalSteps = o.steps }   // the schedule ends with the run
        apply("--eval-every", evalEvery, &o.evalEvery) { "\($0)" }
        apply("--log-every", logEvery, &o.logEvery) { "\($0)" }
        apply("--patience", patience.map { Optional($0) }, &o.patience) { $0.map(String.init) ?? "none" }
        apply("--skip-nonfinite", skipNonfinite, &o.skipNonFinite) { $0 ? "on" : "off" }
        o.stopAfter = stopAfter
        try check(o)
        do { try opt.validate() } catch { throw Failure("\(error)") }

        try Model.admit(config, device: device, optimizer: opt)   // before anything is allocated
        let trainer = try Trainer(model: try Model(config, device: device, seed: seed), task: t, optimizer: opt, options: o)
        try trainer.restore(checkpoint)
        Console.note("resuming \(shownPath(resume ?? folder.url.path)) at step \(trainer.step)" + (changes.isEmpty ? "" : "; changed: " + changes.joined(separator: ", ")))
        return trainer
    }

    /// Each flag given whose value differs from what the checkpoint fixes, as `--flag given (checkpoint: stored)`.
    func fixedConflicts(config: ModelConfig, data: DataDescription, seed stored: UInt64, optimizer o: OptimizerConfig) throws -> [String] {
        var list: [String] = []
        func compare<T: Equatable>(_ flag: String, _ given: T?, _ fixed: T, _ show: (T) -> String) {
            if let given, given != fixed { list.append("\(flag) \(show(given)) (checkpoint: \(show(fixed)))") }
        }
        let text = { (x: Any) in "\(x)" }
        compare("--cell", try cellKind(), config.cell) { $0.rawValue }
        compare("--encoder", encoder, config.encoder.rawValue, text)
        compare("--layers", layers, config.layers, text)
        compare("--hidden", hidden, config.hidden, text)
        compare("--embedding", embedding, config.embedding, text)
        compare("--dropout", dropout, config.dropout, text)
        compare("--forget-bias", forgetBias, config.forgetBias, text)
        compare("--embedding-fold", try fold(), config.embeddingFold) { $0.rawValue }
        compare("--filters", filters, config.convFilters, text)
        compare("--conv-widths", try widths(), config.convWidths) { $0.map(String.init).joined(separator: ",") }
        compare("--batch", batch, config.batch, text)
        compare("--seq", seq, config.sequence, text)
        compare("--seed", seed, stored, text)
        if data.task == "forecast" {
            compare("--column", column, data.column ?? "", text)
            compare("--fill", fill, data.fill ?? "none", text)
            compare("--season", season, data.season ?? 0, text)
        }
        if data.task == "memory" {
            compare("--min-distance", minDistance, data.minDistance ?? 0, text)
            compare("--max-distance", maxDistance, data.maxDistance ?? 0, text)
        }
        compare("--optimizer", try optimizerKind(), o.kind) { $0.rawValue }
        compare("--momentum", momentum, o.momentum, text)
        compare("--nesterov", nesterov, o.nesterov) { $0 ? "on" : "off" }
        compare("--weight-decay", weightDecay, o.weightDecay, text)
        compare("--clip", clip.map { $0 > 0 ? $0 : 0 }, o.clip ?? 0, text)
        return list
    }
}

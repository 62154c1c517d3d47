/// Options of a training run that do not change its arithmetic.
public struct TrainOptions: Sendable {
    /// Total steps of the run (a resumed run continues up to this number).
    public var steps: Int
    /// Evaluate on the held-out data (and checkpoint, with an output folder) every N steps.
    public var evalEvery = 200
    /// Report a `.step` event (reading the loss from the device) every N steps.
    public var logEvery = 50
    /// Stop after this many evaluations without improvement (nil: never).
    public var patience: Int? = nil
    /// Skip (and count) steps whose loss is not finite instead of stopping.
    public var skipNonFinite = false
    /// Stop after this step with a checkpoint, as on SIGINT (a time-boxed or interrupted run).
    public var stopAfter: Int? = nil
    /// Options for a run of `steps` steps, with the defaults above.
    public init(steps: Int) { self.steps = steps }
}

extension TrainOptions {
    /// What a checkpoint keeps of the options (`recur.options`): all but `stopAfter`, which ends one
    /// invocation, not the run.
    struct Stored: Codable {
        var steps: Int, evalEvery: Int, logEvery: Int, patience: Int?, skipNonFinite: Bool

        init(_ o: TrainOptions) {
            steps = o.steps; evalEvery = o.evalEvery; logEvery = o.logEvery; patience = o.patience; skipNonFinite = o.skipNonFinite
        }

        var options: TrainOptions {
            var o = TrainOptions(steps: steps)
            o.evalEvery = evalEvery; o.logEvery = logEvery; o.patience = patience; o.skipNonFinite = skipNonFinite
            return o
        }
    }
}

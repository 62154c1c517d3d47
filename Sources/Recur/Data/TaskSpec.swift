/// How to build a task: from command-line choices, or from a checkpoint's data description.
public struct TaskSpec: Sendable {
    /// The task's name (one of `names`).
    public var task: String
    /// Data file (charlm, classify, forecast).
    public var data: String? = nil
    /// Held-out TSV (classify).
    public var test: String? = nil
    /// CSV column (forecast).
    public var column: String? = nil
    /// Gap filling (forecast).
    public var fill: String? = nil
    /// Season length of the baseline (forecast).
    public var season = 12
    /// Recall distances (memory).
    public var minDistance = 1, maxDistance = 40
    /// A spec for `task` with defaults.
    public init(task: String) { self.task = task }

    /// Every built-in task.
    public static let names = ["charlm", "classify", "forecast", "memory", "adding"]

    /// Builds the task; `known` (from a checkpoint) fixes the vocabulary, labels and normalisation.
    public func make(seed: UInt64, known: DataDescription? = nil, evaluationOnly: Bool = false) throws -> any TrainingTask {
        func need(_ path: String?) throws -> String {
            guard let path else { throw DataError("--task \(task) needs --data FILE") }
            return path
        }
        switch task {
        case "charlm":
            return try CharLMTask(path: try need(data), seed: seed, vocab: known?.vocab, wholeFileIsValidation: evaluationOnly)
        case "classify":
            if evaluationOnly {
                return try ClassifyTask(trainPath: nil, testPath: try need(test ?? data), seed: seed, known: known, testFlag: test != nil ? "--test" : "--data")
            }
            return try ClassifyTask(trainPath: try need(data), testPath: test, seed: seed, known: known)
        case "forecast":
            guard let column = column ?? known?.column else { throw DataError("--task forecast needs --column NAME") }
            return try ForecastTask(path: try need(data), column: column, seed: seed, fill: fill ?? known?.fill, season: known?.season ?? season, known: known)
        case "memory":
            return try MemoryTask(seed: seed, minDistance: known?.minDistance ?? minDistance, maxDistance: known?.maxDistance ?? maxDistance)
        case "adding":
            return AddingTask(seed: seed)
        default:
            throw DataError("unknown task '\(task)' (expected \(Self.names.joined(separator: ", ")))")
        }
    }

    /// The model family a task trains.
    public func family() -> ModelConfig.Family {
        switch task {
        case "charlm": .languageModel
        case "forecast", "adding": .regressor
        default: .classifier
        }
    }
}

import Foundation

/// A source of training batches and an evaluation, for one of the built-in tasks.
/// Training batch k is a pure function of (seed, k), so a run resumed at step k sees exactly the
/// batches an uninterrupted run would have seen: the data position is the step.
public protocol TrainingTask: AnyObject {
    /// What a checkpoint must remember to rebuild the task's encoding (vocabulary, labels, normalisation).
    var data: DataDescription { get }
    /// Fills in what the data decides: vocabulary, classes, inputs.
    func configure(_ config: inout ModelConfig) throws
    /// Training batch number `step` (0-based) of b sequences of T steps.
    func batch(step: Int, b: Int, T: Int) -> Batch
    /// Evaluation on the held-out data (no dropout, no parameter change).
    func evaluate(_ model: Model) throws -> Evaluation
    /// The unit of throughput: tokens (or samples) per batch.
    func units(b: Int, T: Int) -> Int
    /// A digest of the training and held-out data as the task encodes them, kept in checkpoints so a
    /// resumed run can tell it was given the same data; nil for data generated from the seed.
    var fingerprint: String? { get }
}

extension TrainingTask {
    /// No digest: the data is generated from the seed.
    public var fingerprint: String? { nil }
}

/// The encoding of a task's data, stored as JSON in the checkpoint metadata ("recur.data").
public struct DataDescription: Codable, Sendable, Equatable {
    /// The task's name.
    public var task: String
    /// Token strings, index = token id (character models, classifiers).
    public var vocab: [String]? = nil
    /// Class labels, index = class id (classifiers).
    public var labels: [String]? = nil
    /// The CSV column modelled (forecasting).
    public var column: String? = nil
    /// Normalisation mean of the series (forecasting).
    public var mean: Float? = nil
    /// Normalisation standard deviation of the series (forecasting).
    public var std: Float? = nil
    /// How missing values were filled (forecasting).
    public var fill: String? = nil
    /// Season length of the seasonal-naive baseline (forecasting).
    public var season: Int? = nil
    /// Shortest recall distance (memory task).
    public var minDistance: Int? = nil
    /// Longest recall distance (memory task).
    public var maxDistance: Int? = nil
    /// A description with only the task's name set.
    public init(task: String) { self.task = task }
}

/// Results of an evaluation; the fields that apply to the task are set.
public struct Evaluation: Codable, Sendable {
    /// Mean loss over the evaluated batches.
    public var loss: Float
    /// Fraction correct (classification, memory).
    public var accuracy: Float? = nil
    /// `loss` in bits (character models).
    public var bitsPerCharacter: Float? = nil
    /// Mean squared error in the data's units (forecasting, adding).
    public var mse: Float? = nil
    /// The baseline's mean squared error (forecasting).
    public var baselineMSE: Float? = nil
    /// Which baseline (`naive`, `seasonal-naive`).
    public var baselineName: String? = nil
    /// Accuracy per recall distance (memory task).
    public var byDistance: [DistanceAccuracy]? = nil
    /// Correct and total per class (classification).
    public var perClass: [ClassCount]? = nil
    /// An evaluation with only the loss set.
    public init(loss: Float) { self.loss = loss }

    /// The number early stopping minimises.
    public var objective: Float { mse ?? loss }
}

/// Memory task: accuracy at one recall distance, over `samples` sequences.
public struct DistanceAccuracy: Codable, Sendable { public var distance: Int; public var accuracy: Float; public var samples: Int }
/// Classification: correct answers out of `total` for one label.
public struct ClassCount: Codable, Sendable { public var label: String; public var correct: Int; public var total: Int }

/// Bad data: a one-line message naming the file (and line) and the problem.
public struct DataError: Error, CustomStringConvertible, Equatable {
    /// One line naming the file (and line) and the problem.
    public let description: String
    /// An error with message `s`.
    public init(_ s: String) { description = s }
}

enum DataFile {
    /// Reads a UTF-8 text file: missing, not a regular file (folder, FIFO, device: said which, and a
    /// FIFO is never opened, so nothing blocks), unreadable (the system's reason), empty, binary
    /// (NUL bytes) and invalid UTF-8 are errors.
    static func text(_ path: String, flag: String = "--data") throws -> String {
        let name = "\(flag) \(shownPath(path))"
        var s = stat()
        guard stat(path, &s) == 0 else {
            throw DataError(errno == ENOENT ? "\(name): no such file" : "\(name): \(String(cString: strerror(errno)).lowercased())")
        }
        if let why = UserFile.notRegular(path) { throw DataError("\(name): \(why)") }
        // O_NONBLOCK: should the path become a FIFO after the check, opening it still returns at once
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw DataError("\(name): \(String(cString: strerror(errno)).lowercased())") }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        guard fstat(fd, &s) == 0, s.st_mode & S_IFMT == S_IFREG else { throw DataError("\(name): \(UserFile.notRegular(path) ?? "not a regular file")") }
        let data: Data
        do { data = try handle.readToEnd() ?? Data() } catch { throw DataError("\(name): cannot read (\(systemReason(error)))") }
        guard !data.isEmpty else { throw DataError("\(name): the file is empty") }
        guard !data.contains(0) else { throw DataError("\(name): binary data (NUL bytes), not text") }
        guard let text = String(data: data, encoding: .utf8) else { throw DataError("\(name): not valid UTF-8") }
        return text
    }

    /// The lines of a text file with their 1-based line numbers (blank lines counted): split at each
    /// U+000A scalar, one trailing U+000D removed. Splitting on the Character "\n" would miss CRLF
    /// endings, since "\r\n" is one grapheme cluster.
    static func lines(_ text: String) -> [(number: Int, text: Substring)] {
        text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).enumerated().map { n, scalars in
            let line = scalars.last == "\r" ? scalars.dropLast() : scalars
            return (n + 1, Substring(line))
        }
    }

    /// The fields of a line between `separator` scalars (so a separator followed by a combining mark still separates).
    static func fields(_ line: Substring, _ separator: Unicode.Scalar) -> [Substring] {
        line.unicodeScalars.split(separator: separator, omittingEmptySubsequences: false).map(Substring.init)
    }
}

extension Model {
    /// The carried recurrent state, for an evaluation that must not disturb training.
    func stateSnapshot() throws -> [[UInt32]] { try stateBuffers.map { try device.download($0, as: UInt32.self) } }
    func restoreState(_ s: [[UInt32]]) throws { for (b, v) in zip(stateBuffers, s) { try device.upload(v, to: b) } }
}

/// Philox-driven Fisher–Yates shuffle of 0..<n for (seed, stream).
func permutation(_ n: Int, seed: UInt64, stream: UInt64) -> [Int] {
    var rng = PhiloxStream(seed: seed, stream: stream)
    var p = Array(0..<n)
    if n > 1 { for i in stride(from: n - 1, to: 0, by: -1) { p.swapAt(i, rng.int(in: 0...i)) } }
    return p
}

/// Helpers on the host.
enum Host {
    static func argmax(_ row: ArraySlice<Float>) -> Int {
        var best = row.startIndex
        for j in row.indices where takesMax(row[j], row[best]) { best = j }
        return best - row.startIndex
    }
}

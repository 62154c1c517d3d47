import Foundation

/// `forecast`: one numeric column of a CSV file with a header. Windows of --seq values predict the
/// next value. Missing values (empty, NA, nan) are an error unless `fill` says previous, linear or
/// zero. Values are normalised by the training part's mean and standard deviation. The last 20% of
/// targets are validation; evaluation reports MSE in the data's units and the naive and
/// seasonal-naive baselines' MSE on the same targets.
public final class ForecastTask: TrainingTask {
    /// What a checkpoint stores to rebuild this task's encoding.
    public let data: DataDescription
    let series: [Float]      // normalised
    let raw: [Float]
    let trainEnd: Int        // targets before this index are training targets
    let seed: UInt64
    let source: String       // "--data FILE" or "series", for messages
    /// Missing values that `fill` filled.
    public private(set) var filled = 0
    /// A digest of the series (after filling) and where its training part ends.
    public private(set) lazy var fingerprint: String? = {
        var h = FNV1a()
        h.add(array: raw)
        h.add(array: [trainEnd])
        return h.hex
    }()

    /// One numeric column of a CSV file (gaps filled by `fill`: previous or linear), normalised; windows predict the next value; baselines naive and seasonal-naive with `season`.
    public convenience init(path: String, column: String, seed: UInt64, fill: String?, season: Int, known: DataDescription? = nil) throws {
        let text = try DataFile.text(path)
        var lines = DataFile.lines(text).filter { !$0.text.isEmpty }
        guard !lines.isEmpty else { throw DataError("--data \(shownPath(path)): no header line") }
        let unquote = CharacterSet(charactersIn: " \"")
        let header = DataFile.fields(lines.removeFirst().text, ",").map { $0.trimmingCharacters(in: unquote) }
        guard let col = header.firstIndex(of: column) else {
            // A header that is not split (another separator, no line breaks) must not print the whole file.
            let shownColumns = header.prefix(Self.columnsShown).map { shown($0) }.joined(separator: ", ") + (header.count > Self.columnsShown ? ", …" : "")
            throw DataError("--data \(shownPath(path)): no column \(shown(column)) (columns: \(shownColumns))")
        }
        var values: [Float?] = []
        for (n, line) in lines {
            let fields = DataFile.fields(line, ",")
            let cell = col < fields.count ? fields[col].trimmingCharacters(in: unquote) : ""
            if cell.isEmpty || ["na", "nan", "null"].contains(cell.lowercased()) { values.append(nil); continue }
            guard let v = Float(cell), v.isFinite else { throw DataError("--data \(shownPath(path)):\(n): \(shown(cell)) in column \(shown(column)) is not a number") }
            values.append(v)
        }
        try self.init(series: values, name: column, seed: seed, fill: fill, season: season, known: known, source: "--data \(shownPath(path))",
                      lineNumbers: lines.map(\.number))
    }

    /// A series held in memory (`nil` marks a missing value, filled by `fill`: previous, linear or
    /// zero); `name` is stored in checkpoints as the column's name.
    public convenience init(series values: [Float?], name: String = "value", seed: UInt64, fill: String? = nil, season: Int = 1) throws {
        if let bad = values.firstIndex(where: { $0.map { !$0.isFinite } ?? false }) {
            throw DataError("series: value \(bad) is \(values[bad]!), not a finite number")
        }
        try self.init(series: values, name: name, seed: seed, fill: fill, season: season, known: nil, source: "series")
    }

    /// Header columns a message lists before "…".
    static let columnsShown = 20

    /// `lineNumbers[i]` is the file line of value i (nil: values held in memory, named by index).
    init(series values: [Float?], name column: String, seed: UInt64, fill: String?, season: Int, known: DataDescription?, source: String,
         lineNumbers: [Int]? = nil) throws {
        self.seed = seed; self.source = source
        guard fill == nil || ["previous", "linear", "zero"].contains(fill!) else {
            throw DataError("--fill must be previous, linear or zero, got '\(fill!)'")
        }
        guard season >= 1 else { throw DataError("--season must be at least 1, got \(season)") }
        let missing = values.filter { $0 == nil }.count
        if missing > 0 && fill == nil {
            let first = values.firstIndex { $0 == nil }!
            throw DataError(lineNumbers.map { "\(source): \(missing) missing values in column \(shown(column)) (first on line \($0[first])); pass --fill previous|linear|zero" }
                            ?? "\(source): \(missing) missing values (first at index \(first)); pass fill: previous, linear or zero")
        }
        raw = Self.fill(values, how: fill ?? "zero")
        filled = missing
        trainEnd = raw.count - raw.count / 5
        let trainPart = raw[..<trainEnd]
        let mean = known?.mean ?? Float(trainPart.reduce(0.0) { $0 + Double($1) } / Double(max(1, trainPart.count)))
        let variance = trainPart.reduce(0.0) { $0 + (Double($1) - Double(mean)) * (Double($1) - Double(mean)) } / Double(max(1, trainPart.count))
        let std = known?.std ?? Float(max(variance.squareRoot(), 1e-6))
        series = raw.map { ($0 - mean) / std }
        var d = DataDescription(task: "forecast")
        d.column = column; d.mean = mean; d.std = std; d.fill = fill; d.season = season
        data = d
    }

    static func fill(_ v: [Float?], how: String) -> [Float] {
        var out = [Float](repeating: 0, count: v.count)
        for i in v.indices {
            if let x = v[i] { out[i] = x; continue }
            switch how {
            case "previous": out[i] = i > 0 ? out[i - 1] : (v.first { $0 != nil } ?? 0) ?? 0
            case "linear":
                let prev = i > 0 ? out[i - 1] : nil
                let nextIndex = v[(i + 1)...].firstIndex { $0 != nil }
                if let p = prev, let j = nextIndex { out[i] = p + (v[j]! - p) / Float(j - i + 1) }
                else { out[i] = prev ?? nextIndex.map { v[$0]! } ?? 0 }
            default: out[i] = 0
            }
        }
        return out
    }

    /// Sets what the data decides (vocabulary, classes, inputs) and checks the sizes fit the data.
    public func configure(_ c: inout ModelConfig) throws {
        c.inputs = 1; c.outputs = 1
        guard trainEnd - c.sequence >= c.batch else {
            throw DataError("\(source): the series has \(raw.count) values; its training part (\(trainEnd)) is too short for windows of --seq \(c.sequence) and --batch \(c.batch)")
        }
        guard raw.count - trainEnd >= 1, trainEnd > max(c.sequence, data.season!) else {
            throw DataError("\(source): the series of \(raw.count) values is shorter than the window (--seq \(c.sequence)) plus a validation part")
        }
    }

    /// The unit of throughput for a batch of b sequences of T steps.
    public func units(b: Int, T: Int) -> Int { b }

    func window(_ target: Int, T: Int, into batch: inout Batch) {
        batch.values += series[(target - T)..<target]
        batch.targets.append(series[target])
    }

    /// Training batch number `step`: a pure function of (seed, step).
    public func batch(step: Int, b: Int, T: Int) -> Batch {
        var rng = PhiloxStream(seed: seed, stream: UInt64(step) << 1)
        var batch = Batch(T: T, b: b)
        for _ in 0..<b { window(rng.int(in: T...(trainEnd - 1)), T: T, into: &batch) }
        return batch
    }

    /// Evaluates on the held-out data without changing the parameters (the carried state is restored).
    /// A series too short for the model's window (or the season) before its last fifth, or with no
    /// value in that fifth, is refused: every evaluated target needs max(window, season) values before it.
    public func evaluate(_ model: Model) throws -> Evaluation {
        let T = model.config.sequence, B = model.config.batch, std = Double(data.std!), s = data.season!
        guard raw.count > trainEnd, trainEnd >= max(T, s) else {
            throw DataError("\(source): the series has \(raw.count) values, too few to evaluate on: its last fifth (\(raw.count - trainEnd) values) is evaluated, "
                            + "each value after the \(max(T, s)) before it (the model's window of \(T), the season of \(s))")
        }
        var t = trainEnd, sq = 0.0, naive = 0.0, seasonal = 0.0, n = 0, lossSum = 0.0
        while t < raw.count {
            let b = min(B, raw.count - t)
            var batch = Batch(T: T, b: b)
            for i in 0..<b { window(t + i, T: T, into: &batch) }
            try model.forward(batch, step: nil)
            lossSum += Double(try model.lossValue()) * Double(b)
            let out = try model.outputs()
            for i in 0..<b {
                let target = Double(raw[t + i])
                let e = Double(out[i]) * std - (target - Double(data.mean!))
                sq += e * e
                naive += (Double(raw[t + i - 1]) - target) * (Double(raw[t + i - 1]) - target)
                seasonal += (Double(raw[t + i - s]) - target) * (Double(raw[t + i - s]) - target)
            }
            n += b; t += b
        }
        var e = Evaluation(loss: Float(lossSum / Double(n)))
        e.mse = Float(sq / Double(n))
        e.baselineMSE = Float(seasonal / Double(n))
        e.baselineName = "seasonal naive (season \(s)); naive MSE \(Float(naive / Double(n)))"
        return e
    }
}

import Foundation
import Recur

/// `recur bench --suite train`: whole training steps (forward, backward, Adam) of the five
/// benchmark workloads, each in its own process so its peak memory is its own, on the CPU device and the
/// chosen device, and through PyTorch (Benchmarks/pytorch_peer.py) with `--peer pytorch`.
extension BenchCommand {
    struct TrainRow: Codable {
        var workload: String
        var device: String
        var units: String
        var unitsPerSecond: Double
        var spread: Double
        var peakMB: Double
        var peer: Bool
        /// Recur's rows: the device buffers allocated (model, optimizer, scratch), the rest of `peakMB`
        /// being the process and the runtime (PoCL's own, on an OpenCL device).
        var buffersMB: Double?
        /// With --rounds: the round (0-based) this row was measured in.
        var round: Int?
        /// Sequence length, batch size and thread count the row was measured with (set by the parent).
        var sequence: Int?
        var batch: Int?
        var threads: Int?
    }

    /// One workload: the model, the data, and whether only the forward pass is timed.
    struct Workload {
        var name: String
        var summary: String
        var forwardOnly = false
        var config: ModelConfig

        var units: String { config.family == .classifier ? "samples" : "tokens" }

        func task(seed: UInt64) throws -> any TrainingTask {
            var rng = PhiloxStream(seed: seed, stream: 0xBE7C)   // random tokens, reproducible
            func next() -> UInt64 { UInt64(rng.next()) }
            if config.family == .classifier {
                let alphabet = (0..<63).map { String(UnicodeScalar(UInt8(33 + $0))) }   // + <pad>, <unk> = 65 tokens
                func example() -> (label: String, text: String) {
                    (String(next() % 10), (0..<config.sequence).map { _ in alphabet[Int(next() % 63)] }.joined())
                }
                return try ClassifyTask(examples: (0..<(config.batch * 8)).map { _ in example() },
                                        test: (0..<config.batch).map { _ in example() }, seed: seed)
            }
            // eight batches of text, at least two sequences' worth of it in the tenth held out
            let count = max(config.batch, 2) * (config.sequence + 1) * 8
            return try CharLMTask(tokens: (0..<count).map { _ in Int32(next() % 65) },
                                  vocabulary: (0..<65).map { String(UnicodeScalar(UInt8(48 + $0))) }, validationFraction: 0.1, seed: seed)
        }
    }

    static var workloads: [Workload] {
        func lm(_ cell: CellKind, embedding: Int, hidden: Int, layers: Int, batch: Int, seq: Int) -> ModelConfig {
            var c = ModelConfig(family: .languageModel)
            c.cell = cell; c.vocab = 65; c.embedding = embedding; c.hidden = hidden; c.layers = layers; c.batch = batch; c.sequence = seq
            return c
        }
        var cnn = ModelConfig(family: .classifier)
        cnn.encoder = .cnn; cnn.vocab = 65; cnn.embedding = 64; cnn.sequence = 256; cnn.convFilters = 128
        cnn.convWidths = [3, 4, 5]; cnn.outputs = 10; cnn.batch = 64
        let big = lm(.lstm, embedding: 512, hidden: 512, layers: 2, batch: 64, seq: 100)
        return [
            Workload(name: "lstm-big", summary: "char LSTM: embedding 512, 2 x LSTM 512, vocab 65; batch 64 x 100", config: big),
            Workload(name: "lstm-small", summary: "small LSTM: embedding 128, LSTM 128, vocab 65; batch 32 x 64",
                     config: lm(.lstm, embedding: 128, hidden: 128, layers: 1, batch: 32, seq: 64)),
            Workload(name: "rnn", summary: "tanh RNN: embedding 512, RNN 512, vocab 65; batch 64 x 100",
                     config: lm(.rnn, embedding: 512, hidden: 512, layers: 1, batch: 64, seq: 100)),
            Workload(name: "textcnn", summary: "text CNN: embedding 64 over 256, 128 filters x widths 3,4,5, 10 classes; batch 64", config: cnn),
            Workload(name: "lstm-infer", summary: "char LSTM inference (forward only), as lstm-big", forwardOnly: true, config: big),
        ]
    }

    /// In the child process: time one workload on one device and print its row as one JSON line.
    func runWorkload(_ name: String, device: Device) throws {
        guard var w = Self.workloads.first(where: { $0.name == name }) else {
            throw Failure("--workload: unknown workload '\(name)'; known: \(Self.workloads.map(\.name).joined(separator: ", "))")
        }
        if let seq = sequenceOverride { w.config.sequence = seq }
        if let batch = batchOverride { w.config.batch = batch }
        w.config.embeddingFold = try fold()
        try w.config.validate()   // before the data, whose size is batch × sequence
        let task = try w.task(seed: 1)
        try task.configure(&w.config)
        // Inference as a user runs it: a model built for inference, no trainer (no gradients, no moments).
        let model = try Model(w.config, device: device, seed: 1, training: !w.forwardOnly)
        let trainer = w.forwardOnly ? nil : try Trainer(model: model, task: task, optimizer: OptimizerConfig(), options: TrainOptions(steps: 1 << 30))   // only trainStep is called
        let units = Double(task.units(b: w.config.batch, T: w.config.sequence))
        let batch = task.batch(step: 0, b: w.config.batch, T: w.config.sequence)   // inference: one batch, as the peer's
        func once() throws {
            if w.forwardOnly {
                try model.forward(batch, step: nil)
            } else {
                try trainer!.trainStep()
            }
            try device.synchronize()
        }
        for _ in 0..<2 { try once() }   // warm-up: first-touch of every buffer, kernel builds
        let times = try (0..<repeats).map { _ in try clock { try once() } }.sorted()
        let median = times[times.count / 2]
        let row = TrainRow(workload: name, device: device.info.selector, units: w.units, unitsPerSecond: units / median,
                           spread: (times.last! - times.first!) / median, peakMB: Self.peakResidentMB(), peer: false,
                           buffersMB: Double(device.activity.allocatedBytes) / 1_048_576)
        try Output.line(try Console.json(row).replacingOccurrences(of: "\n", with: ""))
    }

    /// This process's peak resident memory: VmHWM of /proc/self/status, which starts afresh at exec
    /// (getrusage's ru_maxrss keeps the parent's high-water mark across fork and exec).
    static func peakResidentMB() -> Double {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            return Double(line.split(separator: " ").compactMap { Double($0) }.first ?? 0) / 1024
        }
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
    }

    /// In the parent: one child process per workload and device, then the PyTorch rows and ratios.
    func runTrainSuite(device: Device) throws {
        var paths = ["cpu"]
        if device.info.kind == .opencl { paths.append(device.info.selector) }
        let chosen = Self.workloads.filter { only.isEmpty || only.contains($0.name) }
        if chosen.isEmpty { throw Failure("--workload: none of \(only) is a workload (\(Self.workloads.map(\.name).joined(separator: ", ")))") }
        let threads = options.threads ?? ProcessInfo.processInfo.activeProcessorCount
        // --seq / --batch reach Recur's children and PyTorch's alike
        let scaling = (sequenceOverride.map { ["--seq", String($0)] } ?? []) + (batchOverride.map { ["--batch", String($0)] } ?? [])
        var rows: [TrainRow] = []
        for w in chosen {
            try Output.line("\(w.name): \(w.summary)"
                            + (sequenceOverride != nil || batchOverride != nil ? " (run with batch \(batchOverride ?? w.config.batch) x \(sequenceOverride ?? w.config.sequence))" : ""))
            var rounds: [[TrainRow]] = []   // per round: the device paths' rows, then PyTorch's
            for round in 0..<self.rounds {
                var these: [TrainRow] = []
                for path in paths {
                    var args = ["bench", "--suite", "train", "--workload", w.name, "--device", path, "--threads", String(threads),
                                "--repeats", String(repeats), "--child"] + scaling
                    if let embeddingFold { args += ["--embedding-fold", embeddingFold] }
                    these.append(try child(CommandLine.arguments[0], args, label: "\(w.name) on \(path)"))
                }
                if peer == "pytorch" {
                    let args = [peerScript, "--workload", w.name, "--threads", String(threads), "--steps", String(repeats)] + scaling
                    these.append(try child(pythonProgram.path, args, label: "PyTorch \(w.name) (\(pythonProgram.source))"))
                }
                for i in these.indices {
                    if self.rounds > 1 { these[i].round = round }
                    these[i].sequence = sequenceOverride ?? w.config.sequence
                    these[i].batch = batchOverride ?? w.config.batch
                    these[i].threads = threads
                }
                rounds.append(these)
                rows += these
            }
            try printRounds(rounds, peer: peer == "pytorch")
        }
        if let jsonFile {
            try Check.write(try Console.json(rows), to: jsonFile, "--json")
        }
    }

    /// One line per path: with one round its row (and the ratios to PyTorch's); with several, the
    /// median speed and the highest peak over the rounds, and the median (min–max) of the rounds' ratios.
    func printRounds(_ rounds: [[TrainRow]], peer: Bool) throws {
        func median(_ v: [Double]) -> Double { let s = v.sorted(); return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2 }
        for i in rounds[0].indices {
            let all = rounds.map { $0[i] }, r = all[0]
            var line = "  \((r.peer ? "peer " : "") + r.device)".padding(22)
            if all.count == 1 {
                line += String(format: "%10.0f %@/s  spread %3.0f%%  peak %6.0f MB", r.unitsPerSecond, r.units, r.spread * 100, r.peakMB)
            } else {
                line += String(format: "%10.0f %@/s  (median of %d rounds)  peak %6.0f MB", median(all.map(\.unitsPerSecond)), r.units, all.count,
                               all.map(\.peakMB).max()!)
            }
            if peer && !r.peer {
                let speed = rounds.map { $0[i].unitsPerSecond / $0.last!.unitsPerSecond }, memory = rounds.map { $0[i].peakMB / $0.last!.peakMB }
                line += all.count == 1 ? String(format: "   %.2fx PyTorch's speed, %.2fx its memory", speed[0], memory[0])
                    : String(format: "   %.2fx PyTorch's speed (%.2f–%.2f), %.2fx its memory (max)", median(speed), speed.min()!, speed.max()!, memory.max()!)
            }
            try Output.line(line)
        }
    }

    /// The Python for --peer pytorch and where it was named: --python, RECUR_PYTHON or the default.
    var pythonProgram: (path: String, source: String) {
        if let python { return (python, "--python \(python)") }
        if let env = ProcessInfo.processInfo.environment["RECUR_PYTHON"], !env.isEmpty { return (env, "RECUR_PYTHON=\(env)") }
        return ("python3", "python3, the default")
    }

    /// Runs a child that prints one JSON row as its last line.
    func child(_ program: String, _ args: [String], label: String) throws -> TrainRow {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: program.contains("/") ? program : "/usr/bin/env")
        p.arguments = program.contains("/") ? args : [program] + args
        var env = ProcessInfo.processInfo.environment
        env["OMP_NUM_THREADS"] = String(options.threads ?? ProcessInfo.processInfo.activeProcessorCount)
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        do { try p.run() } catch { throw Failure("\(label): cannot start \(shownPath(program)) (\(systemReason(error)))") }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errText = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        let last = String(decoding: data, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
        guard p.terminationStatus == 0, let row = try? JSONDecoder().decode(TrainRow.self, from: Data(last.utf8)) else {
            var why = errText.split(separator: "\n").last.map(String.init) ?? "exit status \(p.terminationStatus)"
            if why.hasPrefix("recur: error: ") { why.removeFirst("recur: error: ".count) }
            throw Failure("\(label) failed: \(why)")
        }
        return row
    }
}

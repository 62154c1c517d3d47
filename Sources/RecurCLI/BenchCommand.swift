import ArgumentParser
import Foundation
import Recur

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time ops or whole training steps on the CPU device and the chosen device, with OpenBLAS and PyTorch as peers.",
        discussion: """
            Median of --repeats runs after a warm-up (at least 3 calls and 0.1 s), with the spread ((max − min) / median). OpenBLAS (libopenblas.so.0) and, with an OpenCL device, CLBlast (libclblast.so.1) are loaded with dlopen by the benchmark only; neither is a dependency of the library. OpenBLAS rows come after all of Recur's (its idle threads poll for work). --suite train runs the training workloads (lstm-big, lstm-small, rnn, textcnn, lstm-infer), each in its own process so that its peak memory is its own; --peer pytorch runs the same models through PyTorch (Benchmarks/pytorch_peer.py) in the same run.
            """)

    @OptionGroup var options: DeviceOptions
    @Option(help: "matmul, conv, recurrent, all (the op suites) or train.") var suite = "matmul"
    @Option(name: .customLong("workload"), help: "train: only this workload (repeatable).") var only: [String] = []
    @Option(help: "train: 'pytorch' to time the same models through PyTorch.") var peer: String?
    @Option(help: "train: the Python with PyTorch for --peer pytorch (default: $RECUR_PYTHON, else python3).") var python: String?
    @Option(help: "train: the PyTorch peer script.") var peerScript = "Benchmarks/pytorch_peer.py"
    @Option(name: .customLong("seq"), parsing: .unconditional, help: "train: sequence length (≥ 1) instead of the workload's (scaling runs).") var sequenceOverride: Int?
    @Option(name: .customLong("batch"), parsing: .unconditional, help: "train: batch size (≥ 1) instead of the workload's (scaling runs).") var batchOverride: Int?
    @Option(help: "train: auto, always or never (as recur train's --embedding-fold; never times PyTorch's algorithm).") var embeddingFold: String?
    @Option(parsing: .unconditional, help: "train: rounds of child runs per workload, Recur's and PyTorch's alternating, each a fresh process; speeds are the rounds' medians, ratios the median of the rounds' ratios (a noisy machine slows both sides of a round alike). Op suites: every case and path is timed --repeats times per round, the rounds one after another, and rows are medians over all rounds (so a burst of load hits a conv and its product alike).")
    var rounds = 1
    @Flag(help: .hidden) var child = false
    @Option(parsing: .unconditional, help: "Repeats per shape (median reported; ≥ 1).") var repeats: Int = 5
    @Option(name: .customLong("json"), help: "Write rows as JSON to this file.") var jsonFile: String?
    @Option(help: "Draw GFLOP/s per shape and path as an SVG chart.") var plot: String?
    @Option(help: "A matmul shape to time instead of the suite (repeatable): MxNxK, with ,tA ,tB, ,bN (batch) or ,pB (B packed once before timing, as a recurrent layer packs W_hh), e.g. 64x2048x512,tB. Each operand (all batch entries) at most 2^31 - 1 elements.")
    var shape: [String] = []

    struct Row: Codable { var op: String; var shape: String; var device: String; var gflops: Double; var ms: Double; var spread: Double; var peer: Bool }

    func validate() throws {
        if repeats < 1 { throw ValidationError("--repeats must be at least 1, got \(repeats)") }
        if rounds < 1 { throw ValidationError("--rounds must be at least 1, got \(rounds)") }
        if !["matmul", "conv", "recurrent", "all", "train"].contains(suite) { throw ValidationError("--suite must be matmul, conv, recurrent, all or train, got '\(suite)'") }
        if let peer, peer != "pytorch" { throw ValidationError("--peer must be pytorch, got '\(peer)'") }
        if peer != nil && suite != "train" { throw ValidationError("--peer pytorch is for --suite train (the op suites use OpenBLAS when installed)") }
        if let s = sequenceOverride, s < 1 { throw ValidationError("--seq must be at least 1, got \(s)") }
        if let b = batchOverride, b < 1 { throw ValidationError("--batch must be at least 1, got \(b)") }
        _ = try fold()
        for text in shape { _ = try Self.parseShape(text) }
        if suite == "train" {
            let unknown = only.filter { name in !Self.workloads.contains { $0.name == name } }
            if !unknown.isEmpty {
                throw ValidationError("--workload: none of \(unknown) is a workload (\(Self.workloads.map(\.name).joined(separator: ", ")))")
            }
            for w in Self.workloads where only.isEmpty || only.contains(w.name) {
                var c = w.config
                c.sequence = sequenceOverride ?? c.sequence
                c.batch = batchOverride ?? c.batch
                do { try c.validate() } catch { throw ValidationError("--seq/--batch: \(w.name): \(error)") }
            }
        }
        if let jsonFile { try Check.writableFile(jsonFile, "--json") }
        if let plot { try Check.writableFile(plot, "--plot") }
    }

    /// The most elements one operand of a --shape may hold: one device buffer (kernels index with 32 bits).
    static let maxOperand = Int(Int32.max)

    /// `MxNxK[,tA][,tB][,bN][,pB]` as a matmul shape, and whether B is packed once before timing (`pB`).
    /// Each operand (all batch entries) must fit one buffer, so no size computed from it overflows.
    static func parseShape(_ text: String) throws -> (MatmulShape, packed: Bool) {
        let parts = text.split(separator: ",").map(String.init)
        let dims = parts.first?.split(separator: "x", omittingEmptySubsequences: false).map { Int($0) } ?? []
        guard dims.count == 3, let m = dims[0], let n = dims[1], let k = dims[2], m > 0, n > 0, k > 0 else {
            throw ValidationError("--shape '\(text)': expected MxNxK with positive sizes, e.g. 64x2048x512,tB")
        }
        var batch = 1, transA = false, transB = false, packed = false
        for flag in parts.dropFirst() {
            switch flag {
            case "pB": packed = true
            case "tA": transA = true
            case "tB": transB = true
            case let b where b.hasPrefix("b") && Int(b.dropFirst()).map({ $0 > 0 }) == true: batch = Int(b.dropFirst())!
            default: throw ValidationError("--shape '\(text)': unknown part '\(flag)' (tA, tB, bN or pB)")
            }
        }
        for (name, rows, cols) in [("A", m, k), ("B", k, n), ("C", m, n)] {
            guard let count = Sizes.product(batch, rows, cols), count <= maxOperand else {
                throw ValidationError("--shape '\(text)': \(name) would hold \(batch) × \(rows) × \(cols) elements, more than one buffer (2^31 - 1)")
            }
        }
        if packed && batch > 1 { throw ValidationError("--shape '\(text)': pB (B packed once) takes a single product, not a batch") }
        return (MatmulShape(batch: batch, m: m, n: n, k: k, transA: transA, transB: transB), packed)
    }

    /// One benchmark case: a name, a shape label, FLOPs, and a closure that sets up buffers on a device
    /// and returns the work to time.
    /// One timed op; `product` marks a plain matmul, which OpenBLAS and CLBlast also run as peers.
    struct Case { var op: String; var shape: String; var flops: Double; var prepare: (Device) throws -> () throws -> Void; var product: MatmulShape? = nil }

    func run() throws {
        try guarded {
            if suite == "train" && child {
                guard only.count == 1 else { throw Failure("--child runs exactly one --workload") }
                let device: Device
                do { device = try Devices.preferred(options.device, threads: options.threads).device } catch { throw Failure("\(error)") }
                try runWorkload(only[0], device: device)
                return
            }
            let device = try options.open()
            if suite == "train" {
                if peer == "pytorch" && !FileManager.default.fileExists(atPath: peerScript) {
                    throw Failure("--peer-script \(peerScript): no such file (run from the repository root or pass the path)")
                }
                try runTrainSuite(device: device)
                return
            }
            let cpu = Device.cpu(threads: options.threads)
            var paths: [(String, Device)] = [("cpu", cpu)]
            if device.info.kind == .opencl { paths.append((device.info.selector, device)) }
            var cases: [Case] = []
            if !shape.isEmpty { cases += try shape.map { try Self.matmulCase(Self.parseShape($0)) } } else {
                if suite == "matmul" || suite == "all" { cases += Self.matmulCases(Self.matmulShapes) }
                if suite == "conv" || suite == "all" { cases += Self.convCases }
                if suite == "recurrent" || suite == "all" { cases += Self.recurrentCases }
            }
            var clblast: CLBlast? = nil
            if device.info.kind == .opencl && cases.contains(where: { $0.op == "matmul" }) {
                let (loaded, why) = CLBlast.load(deviceNamed: device.info.name)
                if loaded == nil { Console.note(why) }
                clblast = loaded
            }
            // Every (case, path) as prepared work, timed in rounds: each round times every entry --repeats
            // times, so that load arriving mid-run reaches a conv and its same-size product alike.
            var entries: [(c: Case, name: String, peer: Bool, work: () throws -> Void)] = []
            for c in cases {
                for (name, d) in paths {
                    let work = try c.prepare(d)
                    entries.append((c, name, false, { try work(); try d.synchronize() }))
                }
                if let clblast, let s = c.product {
                    do { entries.append((c, "clblast", true, try clblast.prepare(s))) } catch { Console.note("\(error)") }
                }
            }
            var rows = try timeInRounds(entries)
            // OpenBLAS last: its worker threads poll for work for a while after loading and after each
            // call, and beside them Recur's 2-thread and PoCL rows lost a core (256³, always the first
            // case, read 0.61 ms at 2 threads with OpenBLAS loaded and 0.27 ms without).
            let blas = OpenBLAS.load(threads: options.threads ?? ProcessInfo.processInfo.activeProcessorCount)
            if blas == nil { Console.note("OpenBLAS not found (libopenblas.so.0): no peer rows") }
            if let blas {
                rows += try timeInRounds(cases.compactMap { c in c.product.map { s in (c, "openblas", true, blas.prepare(s)) } })
            }
            if let jsonFile {
                try Check.write(try Console.json(rows), to: jsonFile, "--json")
            }
            if let plot { try drawPlot(rows, to: plot) }
        }
    }

    /// `--rounds` rounds of `--repeats` timed calls of every entry (each warmed up before its first
    /// round); one row per entry, from all its calls, printed once the last round is done.
    func timeInRounds(_ entries: [(c: Case, name: String, peer: Bool, work: () throws -> Void)]) throws -> [Row] {
        var times = [[Double]](repeating: [], count: entries.count)
        for round in 0..<rounds {
            for (i, e) in entries.enumerated() {
                if round == 0 { try warmUp(e.work) }
                for _ in 0..<repeats { times[i].append(try clock(e.work)) }
            }
        }
        return try zip(entries, times).map { e, t in try row(e.c, e.name, peer: e.peer, times: t) }
    }

    /// Untimed calls before the timed ones: at least 3 and 0.1 s. After a single call, PoCL's first
    /// few LSTM steps of a run read 2–3.7 ms against 1.2–1.6 ms once settled (5 to 8 of 30 repeats).
    func warmUp(_ body: () throws -> Void) throws {
        let t0 = DispatchTime.now().uptimeNanoseconds
        var calls = 0
        repeat { try body(); calls += 1 } while calls < 3 || DispatchTime.now().uptimeNanoseconds - t0 < 100_000_000
    }

    func clock(_ body: () throws -> Void) throws -> Double {
        let t0 = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
    }

    func row(_ c: Case, _ device: String, peer: Bool, times: [Double]) throws -> Row {
        let median = times.sorted()[times.count / 2]
        let r = Row(op: c.op, shape: c.shape, device: device, gflops: c.flops / median / 1e9, ms: median * 1e3,
                    spread: (times.max()! - times.min()!) / median, peer: peer)
        try Output.line("\(r.op.padding(16)) \(r.shape.padding(30)) \((peer ? "peer " : "") + device)".padding(66)
              + String(format: "%9.2f ms %8.1f GFLOP/s  spread %.0f%%", r.ms, r.gflops, r.spread * 100))
        return r
    }

    func drawPlot(_ rows: [Row], to path: String) throws {
        let labels = rows.map { "\($0.op) \($0.shape)" }.reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        let colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]
        let devices = rows.map(\.device).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        var chart = SVGChart(title: "GFLOP/s per case (\(suite))", xLabel: "case (see the JSON or table for shapes)", yLabel: "GFLOP/s",
                             series: devices.enumerated().map { i, d in
                                 .init(d, rows.filter { $0.device == d }.map { r in (Double(labels.firstIndex(of: "\(r.op) \(r.shape)")! + 1), r.gflops) },
                                       color: colors[i % colors.count])
                             })
        chart.yRange = 0...max(1, (rows.map(\.gflops).max() ?? 1) * 1.1)
        try Check.write(chart.render(), to: path, "--plot")
    }

    static func label(_ s: MatmulShape) -> String { "b\(s.batch) \(s.m)x\(s.n)x\(s.k)\(s.transA ? " Aᵀ" : "")\(s.transB ? " Bᵀ" : "")" }

    static let matmulShapes = [MatmulShape(m: 256, n: 256, k: 256), MatmulShape(m: 512, n: 512, k: 512), MatmulShape(m: 1024, n: 1024, k: 1024),
                               MatmulShape(m: 64, n: 2048, k: 1024), MatmulShape(m: 64, n: 1024, k: 2048, transB: true),
                               MatmulShape(m: 2048, n: 1024, k: 64, transA: true), MatmulShape(batch: 64, m: 128, n: 128, k: 128)]

    static func matmulCases(_ shapes: [MatmulShape]) -> [Case] { shapes.map { matmulCase(($0, false)) } }

    /// A product; with `packed`, B is packed once before timing, as a recurrent layer packs W_hh once per
    /// sequence for its steps.
    static func matmulCase(_ p: (MatmulShape, packed: Bool)) -> Case {
        let s = p.0
        return Case(op: p.packed ? "matmul_packedB" : "matmul", shape: label(s), flops: s.flops, prepare: { d in
            let a = try d.allocate(s.extentA), b = try d.allocate(s.extentB), c = try d.allocate(s.extentC)
            try d.fill(a.view, 0.5); try d.fill(b.view, 0.25)
            guard p.packed else { return { try d.matmul(s, a: a.view, b: b.view, c: c.view) } }
            let packed = try d.allocate(max(1, d.packedCount(n: s.n, k: s.k)))
            try d.packB(s, b: b.view, into: packed.view)
            return { try d.matmul(s, a: a.view, b: b.view, packedB: packed.view, c: c.view, start: .zero) }
        }, product: s)
    }

    /// The text CNN's convolutions: batch 64, embedding 64 over 256 steps, 128 filters of widths 3, 4, 5;
    /// after each width, the plain matmuls of the same sizes as its forward, dx and dW products, the
    /// rates the conv rows are compared with in the same run.
    static var convCases: [Case] {
        [3, 4, 5].flatMap { k -> [Case] in
            let s = Conv1DShape(batch: 64, inChannels: 64, outChannels: 128, length: 256, kernel: k)
            let label = "b64 e64 t256 f128 k\(k)"
            func buffers(_ d: Device) throws -> (View, View, View, View) {
                let x = try d.allocate(64 * 64 * 256), w = try d.allocate(128 * 64 * k), bias = try d.allocate(128), y = try d.allocate(64 * 128 * s.outLength)
                for v in [x, w, bias, y] { try d.fill(v.view, 0.01) }
                return (x.view, w.view, bias.view, y.view)
            }
            return [
                Case(op: "conv1d_forward", shape: label, flops: s.flops) { d in let (x, w, b, y) = try buffers(d); return { try d.conv1dForward(s, x: x, w: w, bias: b, y: y) } },
                Case(op: "conv1d_dx", shape: label, flops: s.flops) { d in let (x, w, _, y) = try buffers(d); return { try d.conv1dBackwardData(s, dy: y, w: w, dx: x) } },
                Case(op: "conv1d_dw", shape: label, flops: s.flops) { d in
                    let (x, w, b, y) = try buffers(d); return { try d.conv1dBackwardWeight(s, x: x, dy: y, dw: w, db: b) } },
            ] + matmulCases([MatmulShape(batch: 64, m: 128, n: s.outLength, k: 64 * k, strideA: 0),   // forward: w · unfolded x
                             MatmulShape(batch: 64, m: 64, n: 256, k: 128 * k, strideA: 0),            // dx: wᵀ · unfolded dy
                             MatmulShape(m: 128, n: 64 * k, k: 64 * s.outLength)])                      // dW: dy · unfolded xᵀ
        }
    }

    /// One LSTM time step of the big char model (batch 64, hidden 512): h·W_hhᵀ (pre-transposed) plus the fused cell,
    /// forward and backward (dh = dG·W_hh plus the cell backward); then the step's plain matmuls alone, for
    /// the same-run ratio.
    static var recurrentCases: [Case] {
        let (b, h) = (64, 512)
        let step = MatmulShape(m: b, n: 4 * h, k: h), back = MatmulShape(m: b, n: h, k: 4 * h)
        return [
            Case(op: "lstm_step_fwd", shape: "b\(b) h\(h)", flops: step.flops) { d in
                let hp = try d.allocate(b * h), w = try d.allocate(4 * h * h), g = try d.allocate(b * 4 * h), c = try d.allocate(b * h), hn = try d.allocate(b * h)
                for v in [hp, w, g, c] { try d.fill(v.view, 0.01) }
                return {
                    try d.matmul(step, a: hp.view, b: w.view, c: g.view, start: .accumulate)
                    try d.lstmForward(batch: b, hidden: h, gates: g.view, cPrev: c.view, act: g.view, c: hn.view, h: hp.view)
                }
            },
            Case(op: "lstm_step_bwd", shape: "b\(b) h\(h)", flops: back.flops) { d in
                let act = try d.allocate(b * 4 * h), c = try d.allocate(b * h), dh = try d.allocate(b * h), dg = try d.allocate(b * 4 * h)
                let dc = try d.allocate(b * h), w = try d.allocate(4 * h * h), dhPrev = try d.allocate(b * h)
                for v in [act, c, dh, w] { try d.fill(v.view, 0.01) }
                return {   // dh·W into its own buffer: fed back, the gradients shrink into subnormals within ~20 repeats
                    try d.lstmBackward(batch: b, hidden: h, act: act.view, cPrev: c.view, c: c.view, dh: dh.view, dcNext: nil, dGates: dg.view, dcPrev: dc.view)
                    try d.matmul(back, a: dg.view, b: w.view, c: dhPrev.view)
                }
            },
        ] + matmulCases([step, back])
    }
}

/// OpenBLAS's cblas_sgemm, loaded at run time for the benchmark only.
final class OpenBLAS {
    typealias Sgemm = @convention(c) (Int32, Int32, Int32, Int32, Int32, Int32, Float, UnsafePointer<Float>?, Int32,
                                      UnsafePointer<Float>?, Int32, Float, UnsafeMutablePointer<Float>?, Int32) -> Void
    let sgemm: Sgemm

    init(sgemm: Sgemm) { self.sgemm = sgemm }

    static func load(threads: Int) -> OpenBLAS? {
        guard let handle = dlopen("libopenblas.so.0", RTLD_NOW) ?? dlopen("libopenblas.so", RTLD_NOW),
              let symbol = dlsym(handle, "cblas_sgemm") else { return nil }
        if let set = dlsym(handle, "openblas_set_num_threads") {
            unsafeBitCast(set, to: (@convention(c) (Int32) -> Void).self)(Int32(threads))
        }
        return OpenBLAS(sgemm: unsafeBitCast(symbol, to: Sgemm.self))
    }

    /// The same product (row-major; batches as a loop, since the Debian build has no batched API).
    func prepare(_ s: MatmulShape) -> () -> Void {
        let a = UnsafeMutablePointer<Float>.allocate(capacity: s.extentA), b = UnsafeMutablePointer<Float>.allocate(capacity: s.extentB)
        let c = UnsafeMutablePointer<Float>.allocate(capacity: s.extentC)
        a.initialize(repeating: 0.5, count: s.extentA); b.initialize(repeating: 0.25, count: s.extentB); c.initialize(repeating: 0, count: s.extentC)
        let f = sgemm
        return {
            for i in 0..<s.batch {
                f(101, s.transA ? 112 : 111, s.transB ? 112 : 111, Int32(s.m), Int32(s.n), Int32(s.k), 1, a + i * s.strideA, Int32(s.lda),
                  b + i * s.strideB, Int32(s.ldb), 0, c + i * s.strideC, Int32(s.ldc))
            }
        }
    }
}

extension BenchCommand {
    /// The workloads' `ModelConfig.embeddingFold` from --embedding-fold (default auto).
    func fold() throws -> ModelConfig.EmbeddingFold {
        guard let embeddingFold else { return .auto }
        guard let f = ModelConfig.EmbeddingFold(rawValue: embeddingFold) else {
            throw ValidationError("--embedding-fold must be auto, always or never, got '\(embeddingFold)'")
        }
        return f
    }
}

import Foundation

/// Searches the tuning space of an OpenCL device (`recur tune`): the matmul kernel, then the cell kernels.
///
/// Every matmul candidate is built, checked bit-identical against the CPU device on the matmul cases of
/// the op catalogue (a candidate that differs is refused, never timed), then timed on the matmul
/// shapes training uses; the score is the geometric mean of GFLOP/s over those shapes. With the
/// winner, each cell variant is checked on the catalogue's cell and elementwise cases and timed on
/// the big char model's LSTM step cells and a GRU cell of the same size (`runCells`).
public struct Tuner {
    /// One candidate's outcome.
    public struct Trial: Codable, Sendable {
        /// The candidate, in `RECUR_TUNING` form.
        public var tuning: String
        /// Whether every matmul case was bit-identical to the CPU (else it was not timed).
        public var identical: Bool
        /// GFLOP/s per shape (same order as `Tuner.shapes`); empty when not identical.
        public var gflops: [Double]
        /// Geometric mean of `gflops`; 0 when not identical.
        public var score: Double
    }

    /// The shapes timed: squares, the LSTM products (forward, dW, dX) and a batch of small ones.
    public static let shapes: [MatmulShape] = [
        MatmulShape(m: 256, n: 256, k: 256),
        MatmulShape(m: 1024, n: 1024, k: 1024),
        MatmulShape(m: 64, n: 2048, k: 1024),
        MatmulShape(m: 2048, n: 1024, k: 64, transA: true),
        MatmulShape(m: 64, n: 1024, k: 2048, transB: true),
        MatmulShape(batch: 16, m: 128, n: 128, k: 128),
    ]

    /// One cell variant's outcome.
    public struct CellTrial: Codable, Sendable {
        /// The variant (`KernelTuning.Cells`).
        public var cells: String
        /// Whether every cell and elementwise case was bit-identical to the CPU (else it was not timed).
        public var identical: Bool
        /// Milliseconds per call (median) of `Tuner.cellOps`, in that order; empty when not identical.
        public var ms: [Double]
        /// Their sum; infinity when not identical.
        public var total: Double
    }

    /// The cell ops timed (batch 64, hidden 512: the big char model's step).
    public static let cellOps = ["lstm_forward", "lstm_backward", "gru_forward"]

    /// The OpenCL device (`opencl:index`).
    public let index: Int
    /// Timed runs per shape (median).
    public let repeats: Int

    /// A tuner for OpenCL device `index`.
    public init(index: Int, repeats: Int = 3) {
        self.index = index
        self.repeats = repeats
    }

    /// The candidates for a device: register blocks over rows, vectors and k-blocks for CPU-type
    /// devices; tile sides for GPUs; the simple kernel always, as the baseline.
    public static func candidates(for info: DeviceInfo, maxWorkGroup: Int) -> [KernelTuning] {
        var list = [KernelTuning(matmul: .simple)]
        if info.deviceType == "cpu" {
            // RB_V = 3 measured 3-5x slower on PoCL 3.1 (odd float16 counts); not searched.
            for m in [4, 6, 8, 12] {
                for v in [1, 2] {
                    for kb in [0, 128, 256] { list.append(KernelTuning(matmul: .rb, rbM: m, rbV: v, kBlock: kb)) }
                }
            }
            list.append(KernelTuning(matmul: .rb, rbM: 8, rbV: 2, kBlock: 64))
        } else {
            for t in [8, 16, 32] where t * t <= maxWorkGroup { list.append(KernelTuning(matmul: .tiled, tile: t)) }
        }
        return list
    }

    /// Runs `candidates` and returns every trial, best first. `progress` sees each as it ends; an
    /// error it throws stops the search.
    public func run(_ candidates: [KernelTuning], progress: (Trial) throws -> Void = { _ in }) throws -> [Trial] {
        let cpu = Device.cpu()
        let cases = OpCatalogue.fixed.filter { $0.op == "matmul" || $0.op.hasPrefix("conv1d") }   // the variant also picks the conv kernels
            + OpCatalogue.randomMatmul(seed: 7, count: 24)
        let references = try cases.map { try $0.run(on: cpu, seed: 7) }
        var trials: [Trial] = []
        for tuning in candidates {
            let device = Device(backend: try OpenCLBackend(index: index, tuning: tuning))
            let identical = try Self.identical(device, cases, references)
            var trial = Trial(tuning: tuning.description, identical: identical, gflops: [], score: 0)
            if identical {
                trial.gflops = try Self.shapes.map { try time($0, on: device) }
                trial.score = exp(trial.gflops.map { log(max($0, 1e-9)) }.reduce(0, +) / Double(trial.gflops.count))
            }
            try progress(trial)
            trials.append(trial)
        }
        return trials.sorted { $0.score > $1.score }
    }

    /// Runs each cell variant with `base`'s matmul settings and returns every trial, fastest first;
    /// `progress` as for `run`.
    public func runCells(base: KernelTuning, variants: [KernelTuning.Cells] = KernelTuning.Cells.allCases,
                         progress: (CellTrial) throws -> Void = { _ in }) throws -> [CellTrial] {
        let cpu = Device.cpu()
        let cases = OpCatalogue.cellVariants
        let references = try cases.map { try $0.run(on: cpu, seed: 7) }
        var trials: [CellTrial] = []
        for cells in variants {
            var tuning = base
            tuning.cells = cells
            let device = Device(backend: try OpenCLBackend(index: index, tuning: tuning))
            let identical = try Self.identical(device, cases, references)
            var trial = CellTrial(cells: cells.rawValue, identical: identical, ms: [], total: .infinity)
            if identical {
                trial.ms = try Self.cellOps.map { try timeCell($0, on: device) }
                trial.total = trial.ms.reduce(0, +)
            }
            try progress(trial)
            trials.append(trial)
        }
        return trials.sorted { $0.total < $1.total }
    }

    /// Median milliseconds of `repeats` (at least 5) calls of a cell op after one warm-up.
    func timeCell(_ op: String, on d: Device) throws -> Double {
        let (b, h) = (64, 512), n = b * h
        var rng = PhiloxStream(seed: 9)
        func uniform(_ count: Int, _ lo: Float, _ hi: Float) -> [Float] { (0..<count).map { _ in rng.float(lo, hi) } }
        let gates = try d.buffer(uniform(4 * n, -4, 4)), state = try d.buffer(uniform(n, -2, 2))
        let act = try d.buffer(uniform(4 * n, 0.01, 0.99)), out = try d.allocate(4 * n), c = try d.allocate(n), hOut = try d.allocate(n)
        let call: () throws -> Void = switch op {
        case "lstm_forward": { try d.lstmForward(batch: b, hidden: h, gates: gates.view, cPrev: state.view, act: out.view, c: c.view, h: hOut.view) }
        case "lstm_backward": { try d.lstmBackward(batch: b, hidden: h, act: act.view, cPrev: state.view, c: state.view, dh: hOut.view, dcNext: nil,
                                                   dGates: out.view, dcPrev: c.view) }
        default: { try d.gruForward(batch: b, hidden: h, gi: gates.view.slice(0, 3 * n), gh: act.view.slice(0, 3 * n), hPrev: state.view,
                                    act: out.view, h: hOut.view) }
        }
        return try median(max(5, repeats), on: d, call) * 1e3
    }

    /// Whether every case gives `references`' bits on `device` (stops at the first that differs).
    static func identical(_ device: Device, _ cases: [OpCase], _ references: [[[UInt32]]]) throws -> Bool {
        for (c, reference) in zip(cases, references) where !OpComparison(reference, try c.run(on: device, seed: 7)).identical { return false }
        return true
    }

    /// Median seconds of `count` synchronised calls after one warm-up.
    func median(_ count: Int, on device: Device, _ call: () throws -> Void) throws -> Double {
        try call()
        try device.synchronize()
        var times: [Double] = []
        for _ in 0..<count {
            let t0 = DispatchTime.now().uptimeNanoseconds
            try call()
            try device.synchronize()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9)
        }
        return times.sorted()[times.count / 2]
    }

    /// Median GFLOP/s of `repeats` timed runs after one warm-up.
    func time(_ s: MatmulShape, on device: Device) throws -> Double {
        let a = try device.allocate(s.extentA).view, b = try device.allocate(s.extentB).view
        let c = try device.allocate(s.extentC).view
        try device.fill(a, 0.5)
        try device.fill(b, 0.25)
        return s.flops / (try median(repeats, on: device) { try device.matmul(s, a: a, b: b, c: c, start: .zero) }) * 1e-9
    }
}

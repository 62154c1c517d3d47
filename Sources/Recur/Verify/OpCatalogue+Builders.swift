/// Case builders, one per op: inputs are drawn from the run's seed; outputs are poisoned.
extension OpCatalogue {
    /// With `packed`, B is packed once by `packB` and the product reads the packed copy (CPU).
    static func matmul(_ s: MatmulShape, start: Int, special: Bool = false, packed: Bool = false) -> OpCase {
        let startName = ["zero", "accumulate", "bias"][start]
        return OpCase("matmul", "b\(s.batch) \(s.m)x\(s.n)x\(s.k)\(s.transA ? " Aᵀ" : "")\(s.transB ? " Bᵀ" : "") sA\(s.strideA) sB\(s.strideB) \(startName)\(special ? " special" : "")\(packed ? " packed B" : "")") { r in
            let a = try r.input(s.extentA, special: special), b = try r.input(s.extentB, special: special)
            let c = start == 1 ? try r.state(s.extentC) : try r.output(s.extentC)
            if s.ldc > s.n || s.strideC > s.m * s.ldc { try r.device.fill(c, 0) }   // gaps between rows are not written
            let st: MatmulStart = start == 0 ? .zero : start == 1 ? .accumulate : .bias(try r.input(s.n))
            if packed {
                let p = try r.device.allocate(max(1, r.device.packedCount(n: s.n, k: s.k))).view
                try r.device.packB(s, b: b, into: p)
                try r.device.matmul(s, a: a, b: b, packedB: p, c: c, start: st)
            } else {
                try r.device.matmul(s, a: a, b: b, c: c, start: st)
            }
        }
    }

    static func conv(_ s: Conv1DShape, special: Bool = false) -> [OpCase] {
        let label = "b\(s.batch) cin\(s.inChannels) cout\(s.outChannels) t\(s.length) k\(s.kernel) s\(s.stride) p\(s.padding) d\(s.dilation)"
        return [
            OpCase("conv1d_forward", label) { r in
                try r.device.conv1dForward(s, x: try r.input(s.xCount, special: special), w: try r.input(s.wCount),
                                           bias: try r.input(s.outChannels), y: try r.output(s.yCount))
            },
            OpCase("conv1d_backward_data", label) { r in
                try r.device.conv1dBackwardData(s, dy: try r.input(s.yCount, special: special), w: try r.input(s.wCount), dx: try r.output(s.xCount))
            },
            OpCase("conv1d_backward_weight", label) { r in
                try r.device.conv1dBackwardWeight(s, x: try r.input(s.xCount), dy: try r.input(s.yCount, special: special),
                                                  dw: try r.output(s.wCount), db: try r.output(s.outChannels))
            },
        ]
    }

    static func pool(_ s: PoolShape, special: Bool = false) -> [OpCase] {
        let label = "b\(s.batch) c\(s.channels) t\(s.length) w\(s.window) s\(s.stride)\(special ? " special" : "")"
        let n = s.batch * s.channels
        // Few distinct values, so ties (and ±0) occur and the first-index rule is exercised; with
        // `special` also NaNs (two payloads) and ±infinity.
        @Sendable func values(_ r: OpRun) -> [Float] {
            r.floats(n * s.length).map { v in
                guard special else { return (v * 4).rounded() }
                switch abs(v) {
                case ..<0.02: return v < 0 ? recurNaN : Float(bitPattern: 0x7fc0_1234)
                case 0.98...: return v < 0 ? -.infinity : .infinity
                default: return (v * 4).rounded()
                }
            }
        }
        return [
            OpCase("maxpool_forward", label) { r in
                let x = try r.device.buffer(values(r)).view
                try r.device.maxPoolForward(s, x: x, y: try r.output(n * s.outLength), argmax: try r.output(n * s.outLength))
            },
            OpCase("maxpool_backward", label) { r in
                let x = try r.device.buffer(values(r)).view
                let y = try r.device.allocate(n * s.outLength).view, am = try r.device.allocate(n * s.outLength).view
                try r.device.maxPoolForward(s, x: x, y: y, argmax: am)
                try r.device.maxPoolBackward(s, dy: try r.input(n * s.outLength), argmax: am, dx: try r.output(n * s.length))
            },
        ]
    }

    /// The portable math's edges: where exp saturates or underflows, tanh's switch at 0.6, ±0,
    /// subnormals, huge values, ±infinity, NaNs, each with its neighbours, at every lane of a
    /// 16-wide vector (the list repeated 17 times) and in a scalar tail.
    public static let mathEdges: [Float] = {
        let points: [Float] = [0.6, 0x1.62e42ep+6, 0x1.9fe368p+6, 0x1.62e42ep+5, 1, 0x1p-149, 0x1p-126, 0x1p-12, 9, 20, 1e30, .greatestFiniteMagnitude]
        var edges: [Float] = [0, .infinity, .nan, Float(bitPattern: 0x7fc0_1234)]
        for p in points { for v in [p.nextDown, p, p.nextUp] where v.isFinite { edges += [v, -v] } }
        var all: [Float] = []
        for _ in 0..<17 { all += edges; all.append(all.count % 2 == 0 ? 0.25 : -3) }   // shifts each copy by one lane
        return all + [0.6, -0.6, .nan]
    }()

    static func edgeCases() -> [OpCase] {
        let x = mathEdges, n = x.count, h = 48
        let b = (x.count + 4 * h - 1) / (4 * h)
        @Sendable func cycle(_ count: Int, from start: Int) -> [Float] { (0..<count).map { x[(start + $0) % n] } }
        return [
            OpCase("unary", "math edges n\(n)") { r in
                for op in [UnaryOp.tanh, .sigmoid, .exp, .log] { try r.device.unary(op, x: try r.device.buffer(x).view, y: try r.output(n)) }
            },
            OpCase("lstm_forward", "math edges b\(b) h\(h)") { r in
                try r.device.lstmForward(batch: b, hidden: h, gates: try r.device.buffer(cycle(4 * b * h, from: 0)).view,
                                         cPrev: try r.device.buffer(cycle(b * h, from: 7)).view,
                                         act: try r.output(4 * b * h), c: try r.output(b * h), h: try r.output(b * h))
            },
            OpCase("lstm_backward", "math edges b\(b) h\(h)") { r in
                try r.device.lstmBackward(batch: b, hidden: h, act: try r.input(4 * b * h, 0.01, 0.99), cPrev: try r.input(b * h),
                                          c: try r.device.buffer(cycle(b * h, from: 3)).view, dh: try r.input(b * h), dcNext: nil,
                                          dGates: try r.output(4 * b * h), dcPrev: try r.output(b * h))
            },
            OpCase("gru_forward", "math edges b\(b) h\(h)") { r in
                try r.device.gruForward(batch: b, hidden: h, gi: try r.device.buffer(cycle(3 * b * h, from: 0)).view, gh: try r.input(3 * b * h),
                                        hPrev: try r.input(b * h), act: try r.output(4 * b * h), h: try r.output(b * h))
            },
        ]
    }

    static func cells(batch b: Int, hidden h: Int, special: Bool = false) -> [OpCase] {
        let label = "b\(b) h\(h)\(special ? " special" : "")", n = b * h
        return [
            OpCase("lstm_forward", label) { r in
                try r.device.lstmForward(batch: b, hidden: h, gates: try r.input(4 * n, -4, 4, special: special), cPrev: try r.input(n, -2, 2),
                                         act: try r.output(4 * n), c: try r.output(n), h: try r.output(n))
            },
            OpCase("lstm_backward", label) { r in
                let act = try r.device.buffer(r.floats(4 * n, 0.01, 0.99)).view
                try r.device.lstmBackward(batch: b, hidden: h, act: act, cPrev: try r.input(n, -2, 2), c: try r.input(n, -2, 2, special: special),
                                          dh: try r.input(n), dcNext: b % 2 == 0 ? nil : try r.input(n),
                                          dGates: try r.output(4 * n), dcPrev: try r.output(n))
            },
            OpCase("gru_forward", label) { r in
                try r.device.gruForward(batch: b, hidden: h, gi: try r.input(3 * n, -3, 3, special: special), gh: try r.input(3 * n, -3, 3),
                                        hPrev: try r.input(n), act: try r.output(4 * n), h: try r.output(n))
            },
            OpCase("gru_backward", label) { r in
                let act = try r.device.buffer(r.floats(4 * n, 0.01, 0.99)).view
                try r.device.gruBackward(batch: b, hidden: h, act: act, hPrev: try r.input(n), dh: try r.input(n, special: special),
                                         dgi: try r.output(3 * n), dgh: try r.output(3 * n), dhPrev: try r.output(n))
            },
            OpCase("rnn_forward", label) { r in
                try r.device.rnnForward(.tanh, pre: try r.input(n, -3, 3, special: special), h: try r.output(n))
                try r.device.rnnForward(.relu, pre: try r.input(n, -3, 3, special: special), h: try r.output(n))
            },
            OpCase("rnn_backward", label) { r in
                try r.device.rnnBackward(.tanh, h: try r.input(n), dh: try r.input(n), dPre: try r.output(n))
                try r.device.rnnBackward(.relu, h: try r.input(n), dh: try r.input(n), dPre: try r.output(n))
            },
        ]
    }

    static func embedding(vocab v: Int, dim d: Int, count n: Int) -> [OpCase] {
        let label = "v\(v) d\(d) n\(n)"
        return [
            OpCase("embedding_forward", label) { r in
                try r.device.embeddingForward(vocab: v, dim: d, table: try r.input(v * d), indices: try r.ints(n, -1...v),
                                              out: try r.output(n * d))
            },
            OpCase("embedding_backward", label) { r in
                try r.device.embeddingBackward(vocab: v, dim: d, dOut: try r.input(n * d), indices: try r.ints(n, 0...(v - 1)),
                                               dTable: try r.output(v * d))
            },
        ]
    }

    /// With `invalid`, some tokens fall outside [0, V) (their windows give NaN forward, nothing backward).
    static func tokenConv(_ s: TokenConvShape, invalid: Bool = false) -> [OpCase] {
        let label = "b\(s.batch) t\(s.length) v\(s.vocab) f\(s.filters) k\(s.kernel)\(invalid ? " invalid" : "")"
        let ids = invalid ? -1...s.vocab : 0...(s.vocab - 1)
        return [
            OpCase("token_conv_forward", label) { r in
                try r.device.tokenConvForward(s, table: try r.input(s.tableCount), bias: try r.input(s.filters),
                                              tokens: try r.ints(s.batch * s.length, ids), y: try r.output(s.yCount))
            },
            OpCase("token_conv_backward", label) { r in
                try r.device.tokenConvBackward(s, dy: try r.input(s.yCount), tokens: try r.ints(s.batch * s.length, ids),
                                               sums: try r.output(s.tableCount))
            },
        ]
    }

    static func elementwise(_ n: Int, special: Bool = false) -> [OpCase] {
        let label = "n\(n)\(special ? " special" : "")"
        return [
            OpCase("unary", label) { r in
                for op in UnaryOp.allCases {
                    let lo: Float = op == .log ? 0 : -20, hi: Float = op == .log ? 50 : 20
                    try r.device.unary(op, alpha: 0.37, x: try r.input(n, lo, hi, special: special), y: try r.output(n))
                }
            },
            OpCase("unary_backward", label) { r in
                for op in UnaryOp.allCases {
                    try r.device.unaryBackward(op, saved: try r.input(n, 0.01, 1, special: special), dy: try r.input(n), dx: try r.output(n))
                }
            },
            OpCase("binary", label) { r in
                for op in BinaryOp.allCases {
                    try r.device.binary(op, alpha: -1.3, a: try r.input(n, special: special), b: try r.input(n), y: try r.output(n))
                }
            },
            OpCase("scale_by", label) { r in
                try r.device.scaleBy(factor: try r.input(1, 0.5, 2), x: try r.input(n, special: special), y: try r.output(n))
            },
            OpCase("dropout", label) { r in
                try r.device.dropout(seed: 0x5EED_0000_0000_0042, stream: 7, p: 0.3, x: try r.input(n), y: try r.output(n))
                try r.device.dropout(seed: 1, stream: 1 << 40, p: 0.9, x: try r.input(n), y: try r.output(n))
            },
            OpCase("reduce", label) { r in
                try r.device.reduce(.sum, x: try r.input(n, special: special), out: try r.output(1))
                try r.device.reduce(.sumOfSquares, x: try r.input(n), out: try r.output(1))
                try r.device.reduce(.squaredDifference, x: try r.input(n), y: try r.input(n), divisor: Float(n), out: try r.output(1))
            },
        ]
    }

    static func loss(rows: Int, cols: Int, special: Bool = false) -> [OpCase] {
        let label = "r\(rows) c\(cols)\(special ? " special" : "")"
        return [
            OpCase("xent_forward", label) { r in
                try r.device.softmaxCrossEntropy(rows: rows, cols: cols, logits: try r.input(rows * cols, -8, 8, special: special),
                                                 targets: try r.ints(rows, 0...(cols - 1)), losses: try r.output(rows), stats: try r.output(2 * rows))
            },
            OpCase("xent_backward", label) { r in
                let x = try r.input(rows * cols, -8, 8, special: special), t = try r.ints(rows, 0...(cols - 1))
                let l = try r.device.allocate(rows).view, st = try r.device.allocate(2 * rows).view
                try r.device.softmaxCrossEntropy(rows: rows, cols: cols, logits: x, targets: t, losses: l, stats: st)
                try r.device.softmaxCrossEntropyBackward(rows: rows, cols: cols, scale: 1 / Float(rows), logits: x, targets: t,
                                                         stats: st, dLogits: try r.output(rows * cols))
                try r.device.mean(l, out: try r.output(1))
            },
            OpCase("row_col_sum", label) { r in
                try r.device.rowSum(rows: rows, cols: cols, x: try r.input(rows * cols, special: special), y: try r.output(rows))
                try r.device.colSum(rows: rows, cols: cols, x: try r.input(rows * cols), y: try r.output(cols))
                try r.device.colSum(rows: rows, cols: cols, x: try r.input(rows * cols), y: try r.state(cols), accumulate: true)
            },
            OpCase("argmax", label) { r in
                let x = try r.device.buffer(r.floats(rows * cols).map { ($0 * 3).rounded() }).view
                try r.device.argmaxRows(rows: rows, cols: cols, x: x, out: try r.output(rows))
            },
            OpCase("copy_transpose", label) { r in
                try r.device.copy2D(rows: rows, cols: cols, src: try r.input(rows * (cols + 3)), srcStride: cols + 3,
                                    dst: try r.output(rows * cols), dstStride: cols)
                try r.device.transpose(batch: 2, rows: rows, cols: cols, src: try r.input(2 * rows * cols), dst: try r.output(2 * rows * cols))
            },
        ]
    }

    static func optimizers(_ n: Int) -> [OpCase] {
        let label = "n\(n)"
        return [
            OpCase("sgd", label) { r in
                try r.device.sgd(SGDParams(lr: 0.1), param: try r.state(n), grad: try r.input(n))
                try r.device.sgd(SGDParams(lr: 0.05, momentum: 0.9, weightDecay: 1e-4), param: try r.state(n), grad: try r.input(n),
                                 velocity: try r.state(n))
                try r.device.sgd(SGDParams(lr: 0.05, momentum: 0.9, nesterov: true), param: try r.state(n), grad: try r.input(n),
                                 velocity: try r.state(n))
            },
            OpCase("adam", label) { r in
                try r.device.adam(AdamParams(lr: 1e-3, weightDecay: 1e-2), step: 7, param: try r.state(n), grad: try r.input(n),
                                  m: try r.state(n, -0.1, 0.1), v: try r.state(n, 0, 0.01))
                try r.device.adam(AdamParams(lr: 3e-4, weightDecay: 0.1, decoupled: true), step: 1, param: try r.state(n),
                                  grad: try r.input(n), m: try r.state(n, -0.1, 0.1), v: try r.state(n, 0, 0.01))
            },
            OpCase("clip", label) { r in
                let norms = try r.device.allocate(2).view
                try r.device.reduce(.sumOfSquares, x: try r.input(n), out: norms.slice(0, 1))
                try r.device.reduce(.sumOfSquares, x: try r.input(n + 5), out: norms.slice(1, 1))
                let coef = try r.output(2)
                try r.device.clipCoefficient(norms: norms, maxNorm: 0.5, out: coef)
                try r.device.scaleBy(factor: coef, x: try r.input(n), y: try r.output(n))
            },
        ]
    }
}

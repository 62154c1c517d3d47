import Foundation

/// Each op as one or two kernel launches; the arithmetic lives in Kernels/*.cl.
extension OpenCLBackend {
    func matmul(_ s: MatmulShape, a: View, b: View, c: View, start: MatmulStart) throws {
        let bias: View = if case .bias(let v) = start { v } else { a }
        switch tuning.matmul {
        case .rb:
            try matmulRegisterBlocked(s, a: a, b: b, c: c, start: start, bias: bias)
            return
        case .tiled:
            try launch("matmul_tiled", [s.n, s.m, s.batch],
                       [.int(s.m), .int(s.n), .int(s.k), .int(s.transA ? 1 : 0), .int(s.transB ? 1 : 0),
                        .int(s.lda), .int(s.ldb), .int(s.ldc), .int(s.strideA), .int(s.strideB), .int(s.strideC),
                        .int(Int(start.mode)), .view(a), .view(b), .view(c), .view(bias)], local: [tuning.tile, tuning.tile, 1])
            return
        default:
            break
        }
        try launch("matmul", [s.n, s.m, s.batch],
                   [.int(s.m), .int(s.n), .int(s.k), .int(s.transA ? 1 : 0), .int(s.transB ? 1 : 0),
                    .int(s.lda), .int(s.ldb), .int(s.ldc), .int(s.strideA), .int(s.strideB), .int(s.strideC),
                    .int(Int(start.mode)), .view(a), .view(b), .view(c), .view(bias)])
    }

    /// The register-blocked kernels read a transposed B as stored (`matmul_rb_bt`) or copy it once per
    /// product; the one step's products of a recurrent layer then run as fast as with W_hhᵀ stored
    /// (PoCL, 64×2048×512: 1.21 ms with Bᵀ, 1.23 ms without).
    var readsTransposedB: Bool { tuning.matmul == .rb }
    /// CPU-type devices (`matmul_rb`), whose memory is the host's: the stack's ∂h is made step by
    /// step, without its (T, b, H) buffer (PoCL, 2 threads: 64×512×2048 runs at 113–133 GFLOP/s
    /// against 155–162 for 6400 rows, on a sixth of a layer's products). GPUs, where a launch per
    /// step costs more than the product, keep one product over all steps.
    var stepwiseGradients: Bool { tuning.matmul == .rb }

    /// `matmul_rb` in k-blocks of `tuning.kBlock` (each block after the first accumulates into C, so
    /// every output keeps its one chain); a transposed B is first copied to scratch untransposed.
    private func matmulRegisterBlocked(_ s: MatmulShape, a: View, b: View, c: View, start: MatmulStart, bias: View) throws {
        try exclusive { try matmulRegisterBlockedAlone(s, a: a, b: b, c: c, start: start, bias: bias) }
    }

    private func matmulRegisterBlockedAlone(_ s: MatmulShape, a: View, b: View, c: View, start: MatmulStart, bias: View) throws {
        let cols = 16 * tuning.rbV, rows = tuning.rbM
        if s.transB && s.m >= cols && s.n >= rows && (s.transA || s.m <= s.n) {
            try matmulTransposedB(s, a: a, b: b, c: c, start: start, bias: bias)
            return
        }
        var bView = b, ldb = s.ldb, strideB = s.strideB
        if s.transB {
            bView = try transposed(rows: s.n, cols: s.k, ld: s.ldb, stride: s.strideB, copies: s.strideB == 0 ? 1 : s.batch, b)
            ldb = s.n
            strideB = s.strideB == 0 ? 0 : s.k * s.n
        }
        let block = tuning.kBlock > 0 ? tuning.kBlock : max(s.k, 1)
        let rowsFirst = 8 * s.m <= s.n   // wide C: row blocks first share B panels (64×2048: 0.69x → 1.0x OpenBLAS)
        var k0 = 0
        repeat {
            let kn = min(block, s.k - k0)
            let mode = k0 == 0 ? Int(start.mode) : 1
            let aPart = a.slice(s.transA ? k0 * s.lda : k0, a.count - (s.transA ? k0 * s.lda : k0))
            let bPart = bView.slice(k0 * ldb, bView.count - k0 * ldb)
            let grid = blocks(rows: s.m, cols: s.n, depth: s.batch)
            try launch("matmul_rb", rowsFirst ? [grid[1], grid[0], grid[2]] : grid,
                       [.int(s.m), .int(s.n), .int(kn), .int(s.transA ? 1 : 0), .int(s.lda), .int(ldb), .int(s.ldc),
                        .int(s.strideA), .int(strideB), .int(s.strideC), .int(mode), .int(rowsFirst ? 1 : 0),
                        .view(aPart), .view(bPart), .view(c), .view(bias)],
                       local: [1, 1, 1])
            k0 += kn
        } while k0 < s.k
    }

    /// `matmul_rb_bt`: Bᵀ read as stored, with A as (K × M): as stored when transposed, else copied
    /// transposed to scratch (A is the smaller operand here). One launch: C is touched along columns.
    private func matmulTransposedB(_ s: MatmulShape, a: View, b: View, c: View, start: MatmulStart, bias: View) throws {
        var at = a, ldat = s.lda, strideAt = s.strideA
        if !s.transA {
            at = try transposed(rows: s.m, cols: s.k, ld: s.lda, stride: s.strideA, copies: s.strideA == 0 ? 1 : s.batch, a)
            ldat = s.m
            strideAt = s.strideA == 0 ? 0 : s.m * s.k
        }
        let cols = 16 * tuning.rbV, rows = tuning.rbM
        try launch("matmul_rb_bt", [(s.n + rows - 1) / rows, (s.m + cols - 1) / cols, s.batch],
                   [.int(s.m), .int(s.n), .int(s.k), .int(ldat), .int(s.ldb), .int(s.ldc), .int(strideAt), .int(s.strideB), .int(s.strideC),
                    .int(Int(start.mode)), .view(at), .view(b), .view(c), .view(bias)], local: [1, 1, 1])
    }

    private func convArgs(_ s: Conv1DShape) -> [Arg] {
        [.int(s.batch), .int(s.inChannels), .int(s.outChannels), .int(s.length), .int(s.kernel),
         .int(s.stride), .int(s.padding), .int(s.dilation), .int(s.outLength)]
    }

    /// `copies` (rows × cols) matrices of `src` (row stride `ld`, `stride` apart) transposed into the
    /// transpose scratch, (cols × rows) each, back to back; 16 × 16 blocks per work-item.
    private func transposed(rows: Int, cols: Int, ld: Int, stride: Int, copies: Int, _ src: View) throws -> View {
        let t = try transposeScratch(copies * rows * cols)
        try launch("transpose_strided", [(cols + 15) / 16, (rows + 15) / 16, copies],
                   [.int(rows), .int(cols), .int(ld), .int(stride), .view(src), .view(t.view)], local: [1, 1, 1])
        return t.view
    }

    /// `RECUR_DW_BLOCK`, read once: overrides the dW chain block below, for measuring.
    private static let dwBlockOverride = Int(ProcessInfo.processInfo.environment["RECUR_DW_BLOCK"] ?? "")

    /// (b, t) positions of the dW chain per launch of `conv1d_backward_weight_rb`: the matmul's k-block times 8.
    private var convChainBlock: Int { Self.dwBlockOverride ?? 8 * tuning.kBlock }

    /// The register-blocked conv kernels serve stride 1 on devices tuned for `matmul_rb`.
    func convBlocked(_ s: Conv1DShape) -> Bool { tuning.matmul == .rb && s.stride == 1 }

    /// Work-items of a `*_rb` kernel over a `rows` × `cols` product, `depth` deep.
    private func blocks(rows: Int, cols: Int, depth: Int) -> [Int] {
        [(cols + 16 * tuning.rbV - 1) / (16 * tuning.rbV), (rows + tuning.rbM - 1) / tuning.rbM, depth]
    }

    func conv1dForward(_ s: Conv1DShape, x: View, w: View, bias: View, y: View) throws {
        if convBlocked(s) {
            try launch("conv1d_forward_rb", blocks(rows: s.outChannels, cols: s.outLength, depth: s.batch),
                       convArgs(s) + [.view(x), .view(w), .view(bias), .view(y)], local: [1, 1, 1])
            return
        }
        try launch("conv1d_forward", [s.outLength, s.outChannels, s.batch], convArgs(s) + [.view(x), .view(w), .view(bias), .view(y)])
    }

    func conv1dBackwardData(_ s: Conv1DShape, dy: View, w: View, dx: View) throws {
        guard convBlocked(s) else {
            try launch("conv1d_backward_data", [s.length, s.inChannels, s.batch], convArgs(s) + [.view(dy), .view(w), .view(dx)])
            return
        }
        try exclusive {
            // w as (Cout, K, Cin) for the edges
            let wt = try transposed(rows: s.inChannels, cols: s.kernel, ld: s.kernel, stride: s.inChannels * s.kernel, copies: s.outChannels, w)
            try launch("conv1d_backward_data_rb", blocks(rows: s.inChannels, cols: s.length, depth: s.batch),
                       convArgs(s) + [.view(dy), .view(w), .view(wt), .view(dx)], local: [1, 1, 1])
        }
    }

    /// The blocked dW reads x transposed per batch (T × Cin, in the transpose scratch).
    func conv1dBackwardWeight(_ s: Conv1DShape, x: View, dy: View, dw: View, db: View) throws {
        if convBlocked(s) {
            try exclusive {
                let xt = try transposed(rows: s.inChannels, cols: s.length, ld: s.length, stride: s.inChannels * s.length, copies: s.batch, x)
                let chain = s.batch * s.outLength
                let block = s.inChannels >= 16 * tuning.rbV && s.outChannels >= tuning.rbM && tuning.kBlock > 0 ? convChainBlock : chain
                for q0 in stride(from: 0, to: chain, by: block) {
                    try launch("conv1d_backward_weight_rb", blocks(rows: s.outChannels, cols: s.inChannels, depth: s.kernel),
                               convArgs(s) + [.int(q0), .int(min(chain, q0 + block)), .view(x), .view(xt), .view(dy), .view(dw)], local: [1, 1, 1])
                }
            }
        } else {
            try launch("conv1d_backward_weight", [s.kernel, s.inChannels, s.outChannels], convArgs(s) + [.view(x), .view(dy), .view(dw)])
        }
        try launch("conv1d_backward_bias", [s.outChannels], [.int(s.batch), .int(s.outChannels), .int(s.outLength), .view(dy), .view(db)])
    }

    func maxPoolForward(_ s: PoolShape, x: View, y: View, argmax: View) throws {
        let bc = s.batch * s.channels
        try launch("maxpool_forward", [s.outLength, bc],
                   [.int(bc), .int(s.length), .int(s.window), .int(s.stride), .int(s.outLength), .view(x), .view(y), .view(argmax)])
    }

    func maxPoolBackward(_ s: PoolShape, dy: View, argmax: View, dx: View) throws {
        let bc = s.batch * s.channels
        try launch("maxpool_backward", [s.length, bc],
                   [.int(bc), .int(s.length), .int(s.window), .int(s.stride), .int(s.outLength), .view(dy), .view(argmax), .view(dx)])
    }

    /// A cell kernel and its global size: the `16` variant over hidden / 16 where the tuning asks for it
    /// and the hidden size is whole vectors, else a unit per work-item.
    private func cell(_ name: String, hidden: Int, batch: Int) -> (String, [Int]) {
        cells16 && hidden % 16 == 0 ? (name + "16", [hidden / 16, batch]) : (name, [hidden, batch])
    }

    func lstmForward(batch: Int, hidden: Int, gates: View, cPrev: View, act: View, c: View, h: View) throws {
        let (kernel, global) = cell("lstm_forward", hidden: hidden, batch: batch)
        try launch(kernel, global,
                   [.int(batch), .int(hidden), .view(gates), .view(cPrev), .view(act), .view(c), .view(h)])
    }

    func lstmBackward(batch: Int, hidden: Int, act: View, cPrev: View, c: View, dh: View, dcNext: View?,
                             dGates: View, dcPrev: View) throws {
        let (kernel, global) = cell("lstm_backward", hidden: hidden, batch: batch)
        try launch(kernel, global,
                   [.int(batch), .int(hidden), .view(act), .view(cPrev), .view(c), .view(dh),
                    .int(dcNext == nil ? 0 : 1), .view(dcNext ?? dh), .view(dGates), .view(dcPrev)])
    }

    func gruForward(batch: Int, hidden: Int, gi: View, gh: View, hPrev: View, act: View, h: View) throws {
        let (kernel, global) = cell("gru_forward", hidden: hidden, batch: batch)
        try launch(kernel, global,
                   [.int(batch), .int(hidden), .view(gi), .view(gh), .view(hPrev), .view(act), .view(h)])
    }

    func gruBackward(batch: Int, hidden: Int, act: View, hPrev: View, dh: View, dgi: View, dgh: View, dhPrev: View) throws {
        try launch("gru_backward", [hidden, batch],
                   [.int(batch), .int(hidden), .view(act), .view(hPrev), .view(dh), .view(dgi), .view(dgh), .view(dhPrev)])
    }

    func embeddingForward(vocab: Int, dim: Int, table: View, indices: View, out: View) throws {
        try launch("embedding_forward", [dim, indices.count],
                   [.int(vocab), .int(dim), .int(indices.count), .view(table), .view(indices), .view(out)])
    }

    /// Each token's positions, ascending, in the scratch buffer (`embedding_order`): order (n), start
    /// (vocab), end (vocab), so a per-token sum reads only its own rows.
    private func tokenOrder(_ tokens: View, vocab: Int) throws -> View {
        let n = tokens.count, order = try scratchBuffer(n + 2 * vocab).view
        try launch("embedding_order", [vocab], [.int(vocab), .int(n), .view(tokens), .view(order)])
        return order
    }

    func embeddingBackward(vocab: Int, dim: Int, dOut: View, indices: View, dTable: View) throws {
        try exclusive {
            let order = try tokenOrder(indices, vocab: vocab)
            try launch("embedding_backward", [dim, vocab],
                       [.int(vocab), .int(dim), .int(indices.count), .view(dOut), .view(order), .view(dTable)])
        }
    }

    func tokenConvForward(_ s: TokenConvShape, table: View, bias: View, tokens: View, y: View) throws {
        try launch("token_conv_forward", [s.filters, s.outLength, s.batch],
                   [.int(s.vocab), .int(s.filters), .int(s.kernel), .int(s.length), .int(s.outLength),
                    .view(table), .view(bias), .view(tokens), .view(y)])
    }

    func tokenConvBackward(_ s: TokenConvShape, dy: View, tokens: View, sums: View) throws {
        try exclusive {
            let n = s.batch * s.length, order = try tokenOrder(tokens.slice(0, n), vocab: s.vocab)
            try launch("token_conv_backward", [s.kernel * s.filters, s.vocab],
                       [.int(s.vocab), .int(s.filters), .int(s.kernel), .int(s.length), .int(s.outLength), .int(n),
                        .view(dy), .view(order), .view(sums)])
        }
    }

    func unary(_ op: UnaryOp, alpha: Float, x: View, y: View) throws {
        // tanh and sigmoid: 16 per work-item on the whole vectors, the rest (under 16) one by one
        let n16 = cells16 && (op == .tanh || op == .sigmoid) ? x.count / 16 : 0
        if n16 > 0 { try launch("unary16", [n16], [.int(Int(op.rawValue)), .int(n16), .view(x), .view(y)]) }
        let rest = x.count - 16 * n16
        if rest > 0 || n16 == 0 {
            try launch("unary", [rest], [.int(Int(op.rawValue)), .float(alpha), .int(rest), .view(x.slice(16 * n16, rest)), .view(y.slice(16 * n16, rest))])
        }
    }

    func unaryBackward(_ op: UnaryOp, saved: View, dy: View, dx: View) throws {
        try launch("unary_backward", [dy.count], [.int(Int(op.rawValue)), .int(dy.count), .view(saved), .view(dy), .view(dx)])
    }

    func binary(_ op: BinaryOp, alpha: Float, a: View, b: View, y: View) throws {
        try launch("binary", [a.count], [.int(Int(op.rawValue)), .float(alpha), .int(a.count), .view(a), .view(b), .view(y)])
    }

    func scaleBy(factor: View, x: View, y: View) throws {
        try launch("scale_by", [x.count], [.int(x.count), .view(factor), .view(x), .view(y)])
    }

    func dropout(seed: UInt64, stream: UInt64, threshold: UInt32, scale: Float, x: View, y: View) throws {
        try launch("dropout", [x.count],
                   [.uint(UInt32(truncatingIfNeeded: seed)), .uint(UInt32(truncatingIfNeeded: seed >> 32)),
                    .uint(UInt32(truncatingIfNeeded: stream)), .uint(UInt32(truncatingIfNeeded: stream >> 32)),
                    .uint(threshold), .float(scale), .int(x.count), .view(x), .view(y)])
    }

    func softmaxCrossEntropy(rows: Int, cols: Int, logits: View, targets: View, losses: View, stats: View) throws {
        try launch("xent_forward", [rows], [.int(rows), .int(cols), .view(logits), .view(targets), .view(losses), .view(stats)])
    }

    func softmaxCrossEntropyBackward(rows: Int, cols: Int, scale: Float, logits: View, targets: View,
                                            stats: View, dLogits: View) throws {
        try launch("xent_backward", [cols, rows],
                   [.int(rows), .int(cols), .float(scale), .view(logits), .view(targets), .view(stats), .view(dLogits)])
    }

    func reduce(_ mode: ReduceMode, x: View, y: View?, divisor: Float, out: View) throws {
        let chunks = (x.count + CPUBackend.reduceChunk - 1) / CPUBackend.reduceChunk
        try exclusive {
            let part = try scratchBuffer(chunks)
            try launch("reduce_partial", [chunks], [.int(Int(mode.rawValue)), .int(x.count), .view(x), .view(y ?? x), .view(part.view)])
            try launch("reduce_finish", [1], [.int(chunks), .float(divisor), .view(part.view), .view(out)])
        }
    }

    func rowSum(rows: Int, cols: Int, x: View, y: View, accumulate: Bool) throws {
        try launch("row_sum", [rows], [.int(rows), .int(cols), .int(accumulate ? 1 : 0), .view(x), .view(y)])
    }

    func colSum(rows: Int, cols: Int, x: View, y: View, accumulate: Bool) throws {
        try launch("col_sum", [cols], [.int(rows), .int(cols), .int(accumulate ? 1 : 0), .view(x), .view(y)])
    }

    func argmaxRows(rows: Int, cols: Int, x: View, out: View) throws {
        try launch("argmax_rows", [rows], [.int(rows), .int(cols), .view(x), .view(out)])
    }

    func clipCoefficient(norms: View, maxNorm: Float, out: View) throws {
        try launch("clip_coefficient", [1], [.int(norms.count), .float(maxNorm), .view(norms), .view(out)])
    }

    func sgd(_ p: SGDParams, param: View, grad: View, velocity: View?) throws {
        try launch("sgd_step", [param.count],
                   [.int(param.count), .float(-p.lr), .float(p.momentum), .float(p.weightDecay), .int(p.nesterov ? 1 : 0),
                    .int(velocity == nil ? 0 : 1), .view(param), .view(grad), .view(velocity ?? grad)])
    }

    func adam(_ p: AdamParams, corrections: (Float, Float), param: View, grad: View, m: View, v: View) throws {
        let k = AdamConstants(p, corrections)
        try launch("adam_step", [param.count],
                   [.int(param.count), .float(k.b1), .float(k.b2), .float(k.omb1), .float(k.omb2), .float(k.c1), .float(k.c2),
                    .float(k.eps), .float(k.wd), .float(k.lrwd), .float(k.nlr), .int(k.decoupled ? 1 : 0),
                    .view(param), .view(grad), .view(m), .view(v)])
    }

    func copy2D(rows: Int, cols: Int, src: View, srcStride: Int, dst: View, dstStride: Int) throws {
        try launch("copy2d", [cols, rows], [.int(rows), .int(cols), .view(src), .int(srcStride), .view(dst), .int(dstStride)])
    }

    func transpose(batch: Int, rows: Int, cols: Int, src: View, dst: View) throws {
        try launch("transpose", [rows, cols, batch], [.int(rows), .int(cols), .view(src), .view(dst)])
    }
}

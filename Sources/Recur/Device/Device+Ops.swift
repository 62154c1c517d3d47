/// The ops, each checked and then handed to the backend. Shapes in comments are row-major.
extension Device {
    /// C[b] (m×n) = start + A[b]·B[b]; see `MatmulShape`.
    public func matmul(_ s: MatmulShape, a: View, b: View, c: View, start: MatmulStart = .zero) throws {
        try positive([s.batch, s.m, s.n, s.k], "matmul")
        guard s.lda >= (s.transA ? s.m : s.k), s.ldb >= (s.transB ? s.k : s.n), s.ldc >= s.n,
              s.strideA >= 0, s.strideB >= 0, s.strideC >= (s.batch > 1 ? 1 : 0) else {
            throw DeviceError.shape("matmul leading dimensions or strides too small: \(s)")
        }
        try check(a, s.extentA, "matmul A"); try check(b, s.extentB, "matmul B"); try check(c, s.extentC, "matmul C")
        if case .bias(let bias) = start { try check(bias, s.n, "matmul bias") }
        try backend.matmul(s, a: a, b: b, c: c, start: start)
    }

    /// Floats `packB` needs for a (k × n) B on this device (0 where products read B as stored).
    public func packedCount(n: Int, k: Int) -> Int { facts.packedCount(n: n, k: k) }

    /// Packs B of `s` (batch 1 or one shared B) once for many products with the same B, such as the
    /// recurrent weights of every time step.
    public func packB(_ s: MatmulShape, b: View, into: View) throws {
        guard s.batch == 1 || s.strideB == 0 else { throw DeviceError.shape("packB needs one B for every batch entry: \(s)") }
        try check(b, s.extentB, "matmul B"); try check(into, packedCount(n: s.n, k: s.k), "packed B")
        try backend.packB(s, b: b, into: into)
    }

    /// `matmul` reading B from `packedB`, packed by `packB` from this same B and unchanged since.
    public func matmul(_ s: MatmulShape, a: View, b: View, packedB: View, c: View, start: MatmulStart = .zero) throws {
        guard s.batch == 1 || s.strideB == 0 else { throw DeviceError.shape("packed B needs one B for every batch entry: \(s)") }
        try check(packedB, packedCount(n: s.n, k: s.k), "packed B")
        try positive([s.batch, s.m, s.n, s.k], "matmul")
        try check(a, s.extentA, "matmul A"); try check(b, s.extentB, "matmul B"); try check(c, s.extentC, "matmul C")
        if case .bias(let bias) = start { try check(bias, s.n, "matmul bias") }
        try backend.matmul(s, a: a, b: b, packedB: packedB, c: c, start: start)
    }

    /// y (B, C_out, T_out) = conv1d(x (B, C_in, T), w (C_out, C_in, K)) + bias (C_out).
    public func conv1dForward(_ s: Conv1DShape, x: View, w: View, bias: View, y: View) throws {
        try checkConv(s)
        try check(x, s.xCount, "conv1d x"); try check(w, s.wCount, "conv1d w")
        try check(bias, s.outChannels, "conv1d bias"); try check(y, s.yCount, "conv1d y")
        try backend.conv1dForward(s, x: x, w: w, bias: bias, y: y)
    }

    /// dx (B, C_in, T) from dy (B, C_out, T_out); each dx chains over o, then k, from +0.
    public func conv1dBackwardData(_ s: Conv1DShape, dy: View, w: View, dx: View) throws {
        try checkConv(s)
        try check(dy, s.yCount, "conv1d dy"); try check(w, s.wCount, "conv1d w"); try check(dx, s.xCount, "conv1d dx")
        try backend.conv1dBackwardData(s, dy: dy, w: w, dx: dx)
    }

    /// dw (C_out, C_in, K) chains over b, then t; db (C_out) sums over b, then t. Both overwrite.
    public func conv1dBackwardWeight(_ s: Conv1DShape, x: View, dy: View, dw: View, db: View) throws {
        try checkConv(s)
        try check(x, s.xCount, "conv1d x"); try check(dy, s.yCount, "conv1d dy")
        try check(dw, s.wCount, "conv1d dw"); try check(db, s.outChannels, "conv1d db")
        try backend.conv1dBackwardWeight(s, x: x, dy: dy, dw: dw, db: db)
    }

    func checkConv(_ s: Conv1DShape) throws {
        try positive([s.batch, s.inChannels, s.outChannels, s.length, s.kernel, s.stride, s.dilation], "conv1d")
        guard s.padding >= 0, s.length + 2 * s.padding >= s.dilation * (s.kernel - 1) + 1 else {
            throw DeviceError.shape("conv1d: kernel span \(s.dilation * (s.kernel - 1) + 1) exceeds padded length \(s.length + 2 * s.padding)")
        }
    }

    /// y (B, C, T_out) and argmax (Int32, B, C, T_out: index into T).
    public func maxPoolForward(_ s: PoolShape, x: View, y: View, argmax: View) throws {
        try checkPool(s)
        let n = s.batch * s.channels
        try check(x, n * s.length, "maxpool x"); try check(y, n * s.outLength, "maxpool y")
        try check(argmax, n * s.outLength, "maxpool argmax")
        try backend.maxPoolForward(s, x: x, y: y, argmax: argmax)
    }

    /// dx (B, C, T): for each position, the sum over windows (in order) whose argmax it is; overwrites.
    public func maxPoolBackward(_ s: PoolShape, dy: View, argmax: View, dx: View) throws {
        try checkPool(s)
        let n = s.batch * s.channels
        try check(dy, n * s.outLength, "maxpool dy"); try check(argmax, n * s.outLength, "maxpool argmax")
        try check(dx, n * s.length, "maxpool dx")
        try backend.maxPoolBackward(s, dy: dy, argmax: argmax, dx: dx)
    }

    func checkPool(_ s: PoolShape) throws {
        try positive([s.batch, s.channels, s.length, s.window, s.stride], "maxpool")
        guard s.window <= s.length else { throw DeviceError.shape("maxpool window \(s.window) exceeds length \(s.length)") }
    }

    /// LSTM step. gates (B, 4H) pre-activations in order i, f, g, o; cPrev (B, H).
    /// Writes act (B, 4H) = σ(i), σ(f), tanh(g), σ(o) (may alias gates), c = fma(f, cPrev, i·g), h = o·tanh(c).
    public func lstmForward(batch: Int, hidden: Int, gates: View, cPrev: View, act: View, c: View, h: View) throws {
        try positive([batch, hidden, 4], "lstm")
        let n = batch * hidden
        try check(gates, 4 * n, "lstm gates"); try check(cPrev, n, "lstm cPrev"); try check(act, 4 * n, "lstm act")
        try check(c, n, "lstm c"); try check(h, n, "lstm h")
        try backend.lstmForward(batch: batch, hidden: hidden, gates: gates, cPrev: cPrev, act: act, c: c, h: h)
    }

    /// LSTM step backward: dGates (B, 4H) pre-activation gradients, dcPrev (B, H).
    /// dcNext (the cell gradient from step t+1) may be nil for the last step. dGates may alias act
    /// (each unit reads its four gates before it writes their gradients): the layers write in place.
    public func lstmBackward(batch: Int, hidden: Int, act: View, cPrev: View, c: View, dh: View, dcNext: View?,
                             dGates: View, dcPrev: View) throws {
        try positive([batch, hidden, 4], "lstm")
        let n = batch * hidden
        try check(act, 4 * n, "lstm act"); try check(cPrev, n, "lstm cPrev"); try check(c, n, "lstm c")
        try check(dh, n, "lstm dh"); if let dcNext { try check(dcNext, n, "lstm dcNext") }
        try check(dGates, 4 * n, "lstm dGates"); try check(dcPrev, n, "lstm dcPrev")
        try backend.lstmBackward(batch: batch, hidden: hidden, act: act, cPrev: cPrev, c: c, dh: dh, dcNext: dcNext,
                                 dGates: dGates, dcPrev: dcPrev)
    }

    /// GRU step (PyTorch's formula, gate order r, z, n). gi (B, 3H) = W_ih·x + b_ih, gh (B, 3H) = W_hh·h + b_hh.
    /// r = σ(gi_r + gh_r), z = σ(gi_z + gh_z), n = tanh(fma(r, gh_n, gi_n)), h = fma(z, hPrev − n, n).
    /// act (B, 4H) keeps r, z, n, gh_n for the backward.
    public func gruForward(batch: Int, hidden: Int, gi: View, gh: View, hPrev: View, act: View, h: View) throws {
        try positive([batch, hidden, 4], "gru")
        let n = batch * hidden
        try check(gi, 3 * n, "gru gi"); try check(gh, 3 * n, "gru gh"); try check(hPrev, n, "gru hPrev")
        try check(act, 4 * n, "gru act"); try check(h, n, "gru h")
        try backend.gruForward(batch: batch, hidden: hidden, gi: gi, gh: gh, hPrev: hPrev, act: act, h: h)
    }

    /// GRU step backward: dgi, dgh (B, 3H) and the direct part of dhPrev = dh·z (B, H); the caller
    /// adds dgh·W_hh to dhPrev with an accumulating matmul.
    public func gruBackward(batch: Int, hidden: Int, act: View, hPrev: View, dh: View,
                            dgi: View, dgh: View, dhPrev: View) throws {
        try positive([batch, hidden, 4], "gru")
        let n = batch * hidden
        try check(act, 4 * n, "gru act"); try check(hPrev, n, "gru hPrev"); try check(dh, n, "gru dh")
        try check(dgi, 3 * n, "gru dgi"); try check(dgh, 3 * n, "gru dgh"); try check(dhPrev, n, "gru dhPrev")
        try backend.gruBackward(batch: batch, hidden: hidden, act: act, hPrev: hPrev, dh: dh, dgi: dgi, dgh: dgh, dhPrev: dhPrev)
    }

    /// Plain RNN cell: h = act(pre), pre (B·H) = W_ih·x + b_ih + W_hh·h + b_hh already summed.
    public func rnnForward(_ a: RNNActivation, pre: View, h: View) throws {
        try unary(a.unary, x: pre, y: h)
    }

    /// dPre = dh · act'(h), from the cell's output h.
    public func rnnBackward(_ a: RNNActivation, h: View, dh: View, dPre: View) throws {
        try unaryBackward(a.unary, saved: h, dy: dh, dx: dPre)
    }

    /// out (N, D) = table (V, D) rows at indices (Int32, N); an index outside [0, V) gives a NaN row.
    public func embeddingForward(vocab: Int, dim: Int, table: View, indices: View, out: View) throws {
        try positive([vocab, dim, indices.count], "embedding")
        try check(table, vocab * dim, "embedding table"); try check(indices, indices.count, "embedding indices")
        try check(out, indices.count * dim, "embedding out")
        try backend.embeddingForward(vocab: vocab, dim: dim, table: table, indices: indices, out: out)
    }

    /// dTable (V, D) = Σ over positions i with indices[i] = v, ascending i, of dOut[i]; overwrites. No atomics.
    public func embeddingBackward(vocab: Int, dim: Int, dOut: View, indices: View, dTable: View) throws {
        try positive([vocab, dim, indices.count], "embedding")
        try check(dOut, indices.count * dim, "embedding dOut"); try check(indices, indices.count, "embedding indices")
        try check(dTable, vocab * dim, "embedding dTable")
        try backend.embeddingBackward(vocab: vocab, dim: dim, dOut: dOut, indices: indices, dTable: dTable)
    }

    /// y (B, T_out, F) = bias + Σ_k table[tokens[b, t + k], k·F + o] over k ascending, from the bias:
    /// a width-K convolution of embedded tokens, given the (V, K·F) table of every token's product
    /// with every tap (E·Wᵀ). A token outside [0, V) gives NaN.
    public func tokenConvForward(_ s: TokenConvShape, table: View, bias: View, tokens: View, y: View) throws {
        try checkTokenConv(s)
        try check(table, s.tableCount, "token conv table"); try check(bias, s.filters, "token conv bias")
        try check(tokens, s.batch * s.length, "token conv tokens"); try check(y, s.yCount, "token conv y")
        try backend.tokenConvForward(s, table: table, bias: bias, tokens: tokens, y: y)
    }

    /// sums (V, K·F): sums[v, k·F + o] = Σ dy[b, t, o] over the positions b·T + t + k holding v
    /// (ascending, t in [0, T_out)), from +0; overwrites. dy is (B, T_out, F). No atomics.
    public func tokenConvBackward(_ s: TokenConvShape, dy: View, tokens: View, sums: View) throws {
        try checkTokenConv(s)
        try check(dy, s.yCount, "token conv dy"); try check(tokens, s.batch * s.length, "token conv tokens")
        try check(sums, s.tableCount, "token conv sums")
        try backend.tokenConvBackward(s, dy: dy, tokens: tokens, sums: sums)
    }

    func checkTokenConv(_ s: TokenConvShape) throws {
        try positive([s.batch, s.length, s.vocab, s.filters, s.kernel], "token conv")
        guard s.kernel <= s.length else { throw DeviceError.shape("token conv: kernel \(s.kernel) exceeds length \(s.length)") }
    }

    /// y = op(x) elementwise over x.count elements (y may alias x).
    public func unary(_ op: UnaryOp, alpha: Float = 1, x: View, y: View) throws {
        try positive([x.count], "unary"); try check(x, x.count, "unary x"); try check(y, x.count, "unary y")
        try backend.unary(op, alpha: alpha, x: x, y: y.slice(0, x.count))
    }

    /// dx = dy · op'(saved): saved is x for relu and log, y for tanh, sigmoid and exp; alpha·dy for scale.
    public func unaryBackward(_ op: UnaryOp, saved: View, dy: View, dx: View) throws {
        try positive([dy.count], "unary backward")
        try check(saved, dy.count, "unary saved"); try check(dy, dy.count, "unary dy"); try check(dx, dy.count, "unary dx")
        try backend.unaryBackward(op, saved: saved, dy: dy, dx: dx.slice(0, dy.count))
    }

    /// y = a ∘ b elementwise over a.count elements (y may alias a or b).
    public func binary(_ op: BinaryOp, alpha: Float = 1, a: View, b: View, y: View) throws {
        try positive([a.count], "binary")
        try check(a, a.count, "binary a"); try check(b, a.count, "binary b"); try check(y, a.count, "binary y")
        try backend.binary(op, alpha: alpha, a: a, b: b.slice(0, a.count), y: y.slice(0, a.count))
    }

    /// y = x · factor[0], with the factor read on the device (no host round trip).
    public func scaleBy(factor: View, x: View, y: View) throws {
        try positive([x.count], "scaleBy")
        try check(factor, 1, "scaleBy factor"); try check(x, x.count, "scaleBy x"); try check(y, x.count, "scaleBy y")
        try backend.scaleBy(factor: factor, x: x, y: y.slice(0, x.count))
    }

    /// Inverted dropout: y = x / (1 − p) where Philox(seed, stream, i) ≥ p, else +0. The backward is
    /// the same call on dy with the same seed and stream.
    public func dropout(seed: UInt64, stream: UInt64, p: Float, x: View, y: View) throws {
        guard p >= 0, p < 1 else { throw DeviceError.shape("dropout probability \(p) not in [0, 1)") }
        try positive([x.count], "dropout"); try check(x, x.count, "dropout x"); try check(y, x.count, "dropout y")
        let threshold = UInt32((Double(p) * 16_777_216).rounded(.up))
        try backend.dropout(seed: seed, stream: stream, threshold: threshold, scale: 1 / (1 - p), x: x, y: y.slice(0, x.count))
    }

    /// Fused softmax + cross-entropy. logits (R, C), targets (Int32, R). losses (R) = log Σ exp(x − m) − (x_t − m),
    /// stats (R, 2) = (m, Σ exp(x − m)) for the backward. A target outside [0, C) gives a NaN loss.
    public func softmaxCrossEntropy(rows: Int, cols: Int, logits: View, targets: View, losses: View, stats: View) throws {
        try positive([rows, cols], "softmax cross-entropy")
        try check(logits, rows * cols, "xent logits"); try check(targets, rows, "xent targets")
        try check(losses, rows, "xent losses"); try check(stats, 2 * rows, "xent stats")
        try backend.softmaxCrossEntropy(rows: rows, cols: cols, logits: logits, targets: targets, losses: losses, stats: stats)
    }

    /// dLogits = (softmax − onehot(target)) · scale; scale is usually 1/R for a mean loss.
    public func softmaxCrossEntropyBackward(rows: Int, cols: Int, scale: Float, logits: View, targets: View,
                                            stats: View, dLogits: View) throws {
        try positive([rows, cols], "softmax cross-entropy")
        try check(logits, rows * cols, "xent logits"); try check(targets, rows, "xent targets")
        try check(stats, 2 * rows, "xent stats"); try check(dLogits, rows * cols, "xent dLogits")
        try backend.softmaxCrossEntropyBackward(rows: rows, cols: cols, scale: scale, logits: logits, targets: targets,
                                                stats: stats, dLogits: dLogits)
    }

    /// out[0] = (Σ f(x_i)) / divisor with f = x, x² or (x − y)², summed in the fixed two-level order:
    /// chunks of 256 consecutive elements in order from +0, then the chunk sums in order from +0.
    public func reduce(_ mode: ReduceMode, x: View, y: View? = nil, divisor: Float = 1, out: View) throws {
        try positive([x.count], "reduce"); try check(x, x.count, "reduce x"); try check(out, 1, "reduce out")
        if mode == .squaredDifference {
            guard let y else { throw DeviceError.shape("reduce squaredDifference needs y") }
            try check(y, x.count, "reduce y")
        }
        try backend.reduce(mode, x: x, y: y?.slice(0, x.count), divisor: divisor, out: out.slice(0, 1))
    }

    /// Mean of softmax cross-entropy losses (R) into out[0], in the fixed reduction order.
    public func mean(_ x: View, out: View) throws { try reduce(.sum, x: x, divisor: Float(x.count), out: out) }

    /// y (R) = Σ_j x[r, j] in order (from +0, or from y when accumulating).
    public func rowSum(rows: Int, cols: Int, x: View, y: View, accumulate: Bool = false) throws {
        try positive([rows, cols], "rowSum"); try check(x, rows * cols, "rowSum x"); try check(y, rows, "rowSum y")
        try backend.rowSum(rows: rows, cols: cols, x: x, y: y, accumulate: accumulate)
    }

    /// y (C) = Σ_r x[r, j] in order (bias gradients; from +0, or from y when accumulating).
    public func colSum(rows: Int, cols: Int, x: View, y: View, accumulate: Bool = false) throws {
        try positive([rows, cols], "colSum"); try check(x, rows * cols, "colSum x"); try check(y, cols, "colSum y")
        try backend.colSum(rows: rows, cols: cols, x: x, y: y, accumulate: accumulate)
    }

    /// out (Int32, R): the first index of the maximum of each row (a NaN wins).
    public func argmaxRows(rows: Int, cols: Int, x: View, out: View) throws {
        try positive([rows, cols], "argmax"); try check(x, rows * cols, "argmax x"); try check(out, rows, "argmax out")
        try backend.argmaxRows(rows: rows, cols: cols, x: x, out: out)
    }

    /// Global-norm clipping, step 2: norms holds each gradient's Σ g² (from `reduce(.sumOfSquares)`);
    /// writes out[0] = min(1, maxNorm / (‖g‖ + 1e-6)) and out[1] = ‖g‖ = sqrt(Σ norms in order).
    /// Step 3 is `scaleBy(factor: out, ...)` on each gradient. Nothing returns to the host.
    public func clipCoefficient(norms: View, maxNorm: Float, out: View) throws {
        try positive([norms.count], "clip"); try check(norms, norms.count, "clip norms"); try check(out, 2, "clip out")
        try backend.clipCoefficient(norms: norms, maxNorm: maxNorm, out: out)
    }

    /// One SGD step in place (PyTorch semantics): g' = fma(wd, p, g); v = fma(μ, v, g');
    /// d = nesterov ? fma(μ, v, g') : v; p = fma(−lr, d, p). Without momentum d = g' and no velocity is needed.
    public func sgd(_ p: SGDParams, param: View, grad: View, velocity: View? = nil) throws {
        try positive([param.count], "sgd"); try check(grad, param.count, "sgd grad")
        try check(param, param.count, "sgd param")
        if p.momentum != 0 {
            guard let velocity else { throw DeviceError.shape("sgd with momentum needs a velocity buffer") }
            try check(velocity, param.count, "sgd velocity")
        }
        try backend.sgd(p, param: param, grad: grad, velocity: p.momentum != 0 ? velocity : nil)
    }

    /// One Adam / AdamW step in place at step t ≥ 1. Bias corrections 1 − β^t are computed once on the
    /// host by exact repeated squaring in Double, then rounded to Float, so every device gets the same.
    public func adam(_ p: AdamParams, step t: Int, param: View, grad: View, m: View, v: View) throws {
        guard t >= 1 else { throw DeviceError.shape("adam step must be ≥ 1, got \(t)") }
        try positive([param.count], "adam")
        for (view, name) in [(param, "param"), (grad, "grad"), (m, "m"), (v, "v")] { try check(view, param.count, "adam \(name)") }
        let c1 = Float(1 - Self.power(Double(p.beta1), t)), c2 = Float(1 - Self.power(Double(p.beta2), t))
        try backend.adam(p, corrections: (c1, c2), param: param, grad: grad, m: m, v: v)
    }

    /// x^n by repeated squaring in Double (Adam's bias corrections), identical on every platform.
    public static func power(_ x: Double, _ n: Int) -> Double {
        var result = 1.0, base = x, e = n
        while e > 0 {
            if e & 1 == 1 { result *= base }
            base *= base
            e >>= 1
        }
        return result
    }

    /// dst[r·dstStride + j] = src[r·srcStride + j] for r < rows, j < cols: slicing and concatenation.
    public func copy2D(rows: Int, cols: Int, src: View, srcStride: Int, dst: View, dstStride: Int) throws {
        try positive([rows, cols], "copy2D")
        guard srcStride >= cols, dstStride >= cols else { throw DeviceError.shape("copy2D strides smaller than cols") }
        try check(src, (rows - 1) * srcStride + cols, "copy2D src"); try check(dst, (rows - 1) * dstStride + cols, "copy2D dst")
        try backend.copy2D(rows: rows, cols: cols, src: src, srcStride: srcStride, dst: dst, dstStride: dstStride)
    }

    /// Copies a view's first src.count elements into dst.
    public func copy(_ src: View, to dst: View) throws {
        try copy2D(rows: 1, cols: src.count, src: src, srcStride: src.count, dst: dst, dstStride: src.count)
    }

    /// dst[b] (cols×rows) = src[b]ᵀ (rows×cols).
    public func transpose(batch: Int = 1, rows: Int, cols: Int, src: View, dst: View) throws {
        try positive([batch, rows, cols], "transpose")
        try check(src, batch * rows * cols, "transpose src"); try check(dst, batch * rows * cols, "transpose dst")
        try backend.transpose(batch: batch, rows: rows, cols: cols, src: src, dst: dst)
    }
}

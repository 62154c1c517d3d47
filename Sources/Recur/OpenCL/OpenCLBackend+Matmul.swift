import Foundation

/// Products: the portable, tiled and register-blocked matmul kernels; twin of CPUBackend+Matmul.swift.
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


    /// `copies` (rows × cols) matrices of `src` (row stride `ld`, `stride` apart) transposed into the
    /// transpose scratch, (cols × rows) each, back to back; 16 × 16 blocks per work-item.
    func transposed(rows: Int, cols: Int, ld: Int, stride: Int, copies: Int, _ src: View) throws -> View {
        let t = try transposeScratch(copies * rows * cols)
        try launch("transpose_strided", [(cols + 15) / 16, (rows + 15) / 16, copies],
                   [.int(rows), .int(cols), .int(ld), .int(stride), .view(src), .view(t.view)], local: [1, 1, 1])
        return t.view
    }

    /// Work-items of a `*_rb` kernel over a `rows` × `cols` product, `depth` deep.
    func blocks(rows: Int, cols: Int, depth: Int) -> [Int] {
        [(cols + 16 * tuning.rbV - 1) / (16 * tuning.rbV), (rows + tuning.rbM - 1) / tuning.rbM, depth]
    }
}

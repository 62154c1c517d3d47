import Foundation

/// Losses, reductions, clipping and optimizer steps; twin of CPUBackend+Loss.swift.
extension OpenCLBackend {
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
                   [.int(param.count), .float(k.b1), .float(k.b2), .float(k.oneMinusBeta1), .float(k.oneMinusBeta2), .float(k.c1), .float(k.c2),
                    .float(k.eps), .float(k.wd), .float(k.decayRate), .float(k.negativeRate), .int(k.decoupled ? 1 : 0),
                    .view(param), .view(grad), .view(m), .view(v)])
    }
}

/// Losses, reductions and optimizer steps, each in its documented order.
extension CPUBackend {
    static let reduceChunk = 256

    func softmaxCrossEntropy(rows: Int, cols: Int, logits: View, targets: View, losses: View, stats: View) throws {
        let X = logits.floats, T = targets.ints, L = losses.floats, S = stats.floats
        parallel(rows, cost: cols * 8) { range in
            for r in range {
                let x = X + r * cols, m = Self.maxValue(x, cols)
                var s: Float = 0, j = cols / 16 * 16
                withUnsafeTemporaryAllocation(of: Float.self, capacity: max(j, 1)) { e in
                    Self.exps(x, minus: m, j, into: e.baseAddress!)   // 16 at a time, then summed in column order
                    for l in 0..<j { s = s + e[l] }
                }
                while j < cols { s = s + PortableMath.exp(x[j] - m); j += 1 }
                let t = Int(T[r])
                L[r] = t >= 0 && t < cols ? PortableMath.log(s) - (x[t] - m) : recurNaN
                S[2 * r] = m; S[2 * r + 1] = s
            }
        }
    }

    /// exp(x[j] − m) for j < n (a multiple of 16), 16 lanes at a time. Not inlined: summing the
    /// lanes one by one where they are made leads LLVM to compute them one by one too.
    @inline(never) static func exps(_ x: UnsafeMutablePointer<Float>, minus m: Float, _ n: Int, into e: UnsafeMutablePointer<Float>) {
        for j in stride(from: 0, to: n, by: 16) {
            MatmulKernel.store(PortableMath.exp(MatmulKernel.load(x + j) - PortableMath.Lanes(repeating: m)), e + j)
        }
    }

    func softmaxCrossEntropyBackward(rows: Int, cols: Int, scale: Float, logits: View, targets: View,
                                            stats: View, dLogits: View) throws {
        let X = logits.floats, T = targets.ints, S = stats.floats, D = dLogits.floats
        parallel(rows, cost: cols * 8) { range in
            for r in range {
                let m = S[2 * r], s = S[2 * r + 1], t = Int(T[r]), valid = t >= 0 && t < cols
                typealias V = PortableMath.Lanes
                var j0 = 0
                while j0 + 16 <= cols {   // the scalar loop's operations, 16 columns at a time
                    var p = PortableMath.exp(MatmulKernel.load(X + r * cols + j0) - V(repeating: m)) / V(repeating: s)
                    if !valid { p = V(repeating: recurNaN) } else if t >= j0 && t < j0 + 16 { p[t - j0] = p[t - j0] - 1 }
                    MatmulKernel.store(p * V(repeating: scale), D + r * cols + j0)
                    j0 += 16
                }
                for j in j0..<cols {
                    let p = PortableMath.exp(X[r * cols + j] - m) / s
                    let q = valid ? (j == t ? p - 1 : p) : recurNaN
                    D[r * cols + j] = q * scale
                }
            }
        }
    }

    func reduce(_ mode: ReduceMode, x: View, y: View?, divisor: Float, out: View) throws {
        let X = x.floats, Y = y?.floats, n = x.count, chunks = (n + Self.reduceChunk - 1) / Self.reduceChunk
        var partial = [Float](repeating: 0, count: chunks)
        partial.withUnsafeMutableBufferPointer { P in
            parallel(chunks, cost: Self.reduceChunk) { range in
                for ch in range {
                    var acc: Float = 0
                    for e in (ch * Self.reduceChunk)..<min(n, (ch + 1) * Self.reduceChunk) {
                        switch mode {
                        case .sum: acc = acc + X[e]
                        case .sumOfSquares: acc = fusedMultiplyAdd(X[e], X[e], acc)
                        case .squaredDifference: let d = X[e] - Y![e]; acc = fusedMultiplyAdd(d, d, acc)
                        }
                    }
                    P[ch] = acc
                }
            }
        }
        var total: Float = 0
        for p in partial { total = total + p }
        out.floats[0] = total / divisor
    }

    func rowSum(rows: Int, cols: Int, x: View, y: View, accumulate: Bool) throws {
        let X = x.floats, Y = y.floats
        parallel(rows, cost: cols) { range in
            for r in range {
                var acc: Float = accumulate ? Y[r] : 0
                for j in 0..<cols { acc = acc + X[r * cols + j] }
                Y[r] = acc
            }
        }
    }

    func colSum(rows: Int, cols: Int, x: View, y: View, accumulate: Bool) throws {
        let X = x.floats, Y = y.floats
        typealias V = SIMD16<Float>
        // Blocks of 64 columns (4 vectors) swept down the rows: each column still adds rows 0, 1, 2, ... in order.
        let blocks = (cols + 63) / 64
        parallel(blocks, cost: rows * 64) { range in
            for blk in range {
                let j0 = blk * 64, width = min(64, cols - j0)
                if width == 64 {
                    var a0 = accumulate ? MatmulKernel.load(Y + j0) : V(), a1 = accumulate ? MatmulKernel.load(Y + j0 + 16) : V()
                    var a2 = accumulate ? MatmulKernel.load(Y + j0 + 32) : V(), a3 = accumulate ? MatmulKernel.load(Y + j0 + 48) : V()
                    var p = X + j0
                    for _ in 0..<rows {
                        a0 = a0 + MatmulKernel.load(p); a1 = a1 + MatmulKernel.load(p + 16); a2 = a2 + MatmulKernel.load(p + 32); a3 = a3 + MatmulKernel.load(p + 48)
                        p += cols
                    }
                    for (k, v) in [a0, a1, a2, a3].enumerated() { MatmulKernel.store(v, Y + j0 + 16 * k) }
                } else {
                    for j in j0..<(j0 + width) {
                        var acc: Float = accumulate ? Y[j] : 0
                        for r in 0..<rows { acc = acc + X[r * cols + j] }
                        Y[j] = acc
                    }
                }
            }
        }
    }

    func argmaxRows(rows: Int, cols: Int, x: View, out: View) throws {
        let X = x.floats, O = out.ints
        for r in 0..<rows {
            var best = X[r * cols], at = 0
            for j in 1..<max(1, cols) where takesMax(X[r * cols + j], best) { best = X[r * cols + j]; at = j }
            O[r] = Int32(at)
        }
    }

    func clipCoefficient(norms: View, maxNorm: Float, out: View) throws {
        let N = norms.floats
        var total: Float = 0
        for k in 0..<norms.count { total = total + N[k] }
        let norm = total.squareRoot()
        let coef = maxNorm / (norm + 1e-6)
        out.floats[0] = coef < 1 ? coef : 1
        out.floats[1] = norm
    }

    func sgd(_ p: SGDParams, param: View, grad: View, velocity: View?) throws {
        let P = param.floats, G = grad.floats, V = velocity?.floats, lr = -p.lr, mu = p.momentum, wd = p.weightDecay
        parallel(param.count, cost: 4) { range in
            for e in range {
                let g = fusedMultiplyAdd(wd, P[e], G[e])
                var d = g
                if let V {
                    let v = fusedMultiplyAdd(mu, V[e], g)
                    V[e] = v
                    d = p.nesterov ? fusedMultiplyAdd(mu, v, g) : v
                }
                P[e] = fusedMultiplyAdd(lr, d, P[e])
            }
        }
    }

    func adam(_ p: AdamParams, corrections: (Float, Float), param: View, grad: View, m: View, v: View) throws {
        let P = param.floats, G = grad.floats, M = m.floats, Vv = v.floats
        let k = AdamConstants(p, corrections)
        parallel((param.count + 15) / 16, cost: 8 * 16) { range in
            // 16 elements at a time, the scalar tail alike: the same operations per element.
            var e = range.lowerBound * 16
            let end = min(param.count, range.upperBound * 16)
            typealias L = SIMD16<Float>
            while e + 16 <= end {
                let io = MatmulKernel.self
                var g = io.load(G + e), w = io.load(P + e)
                if k.decoupled { w = w.addingProduct(L(repeating: k.decayRate), w) } else { g = g.addingProduct(L(repeating: k.wd), w) }
                let mt = (L(repeating: k.oneMinusBeta1) * g).addingProduct(L(repeating: k.b1), io.load(M + e))
                let vt = ((L(repeating: k.oneMinusBeta2) * g) * g).addingProduct(L(repeating: k.b2), io.load(Vv + e))
                io.store(mt, M + e); io.store(vt, Vv + e)
                let mhat = mt / L(repeating: k.c1), vhat = vt / L(repeating: k.c2)
                io.store(w.addingProduct(L(repeating: k.negativeRate), mhat / (vhat.squareRoot() + L(repeating: k.eps))), P + e)
                e += 16
            }
            for e in e..<end {
                var g = G[e], w = P[e]
                if k.decoupled { w = fusedMultiplyAdd(k.decayRate, w, w) } else { g = fusedMultiplyAdd(k.wd, w, g) }
                let mt = fusedMultiplyAdd(k.b1, M[e], k.oneMinusBeta1 * g)
                let vt = fusedMultiplyAdd(k.b2, Vv[e], (k.oneMinusBeta2 * g) * g)
                M[e] = mt; Vv[e] = vt
                let mhat = mt / k.c1, vhat = vt / k.c2
                P[e] = fusedMultiplyAdd(k.negativeRate, mhat / (vhat.squareRoot() + k.eps), w)
            }
        }
    }
}

/// The scalars of one Adam step, computed once on the host for every device alike.
struct AdamConstants {
    /// β1, β2 and 1 − β; the bias corrections; ε; the weight decay; −lr·decay (decoupled: w += that·w); −lr.
    let b1, b2, oneMinusBeta1, oneMinusBeta2, c1, c2, eps, wd, decayRate, negativeRate: Float
    let decoupled: Bool
    init(_ p: AdamParams, _ corrections: (Float, Float)) {
        b1 = p.beta1; b2 = p.beta2; oneMinusBeta1 = 1 - p.beta1; oneMinusBeta2 = 1 - p.beta2
        (c1, c2) = corrections
        eps = p.eps; wd = p.weightDecay; decayRate = -(p.lr * p.weightDecay); negativeRate = -p.lr
        decoupled = p.decoupled
    }
}

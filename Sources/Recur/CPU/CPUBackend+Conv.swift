/// conv1d and max-pool over time. Orders: y chains from bias over (c, k); dx over (o, k); dw over (b, t);
/// db sums over (b, t); padded positions are skipped, never fed into a chain (NUMERICS rule 3).
extension CPUBackend {
    func conv1dForward(_ s: Conv1DShape, x: View, w: View, bias: View, y: View) throws {
        let X = x.floats, W = w.floats, Bi = bias.floats, Y = y.floats, T = s.length, To = s.outLength, K = s.kernel
        // Stride 1: positions whose every tap is inside the input run as one packed product per batch
        // entry (CPUBackend+ConvProduct.swift, the same (c, k) chains); the rest one by one.
        let lo = s.stride == 1 ? min(To, max(0, s.padding)) : 0
        let hi = s.stride == 1 ? max(lo, min(To, T + s.padding - (K - 1) * s.dilation)) : 0
        func scalar(_ b: Int, _ o: Int, _ t: Int) {
            var acc = Bi[o]
            let base = t * s.stride - s.padding
            for c in 0..<s.inChannels {
                let xr = X + (b * s.inChannels + c) * T, wr = W + (o * s.inChannels + c) * K
                for k in 0..<K {
                    let idx = base + k * s.dilation
                    if idx >= 0 && idx < T { acc = fusedMultiplyAdd(wr[k], xr[idx], acc) }
                }
            }
            Y[(b * s.outChannels + o) * To + t] = acc
        }
        if To - (hi - lo) > 0 {
            parallel(s.batch * s.outChannels, cost: (To - (hi - lo)) * s.inChannels * K) { range in
                for bo in range {
                    for t in 0..<lo { scalar(bo / s.outChannels, bo % s.outChannels, t) }
                    for t in hi..<To { scalar(bo / s.outChannels, bo % s.outChannels, t) }
                }
            }
        }
        if hi > lo { convForwardProduct(s, X: X, W: W, bias: Bi, Y: Y, lo: lo, hi: hi) }
    }

    func conv1dBackwardData(_ s: Conv1DShape, dy: View, w: View, dx: View) throws {
        let DY = dy.floats, W = w.floats, DX = dx.floats, T = s.length, To = s.outLength, K = s.kernel
        // Stride 1: positions every tap of which reads an existing output (tt = i + p − k·d in
        // 0 ..< To for every k) run as packed products, the rest 16 channels per vector; other
        // strides one output at a time. Same (o, k) chains everywhere.
        let lo = s.stride == 1 ? min(T, max(0, (K - 1) * s.dilation - s.padding)) : 0
        let hi = s.stride == 1 ? max(lo, min(T, To - s.padding)) : 0
        func scalar(_ b: Int, _ c: Int, _ i: Int) {
            var acc: Float = 0
            for o in 0..<s.outChannels {
                let wr = W + (o * s.inChannels + c) * K, dyr = DY + (b * s.outChannels + o) * To
                for k in 0..<K {
                    let tt = i + s.padding - k * s.dilation
                    if tt >= 0 && tt % s.stride == 0 && tt / s.stride < To { acc = fusedMultiplyAdd(wr[k], dyr[tt / s.stride], acc) }
                }
            }
            DX[(b * s.inChannels + c) * T + i] = acc
        }
        if s.stride == 1 { return convDataProduct(s, DY: DY, W: W, DX: DX, lo: lo, hi: hi) }
        parallel(s.batch * s.inChannels, cost: T * s.outChannels * K) { range in
            for bc in range {
                for i in 0..<T { scalar(bc / s.inChannels, bc % s.inChannels, i) }
            }
        }
    }

    func conv1dBackwardWeight(_ s: Conv1DShape, x: View, dy: View, dw: View, db: View) throws {
        let X = x.floats, DY = dy.floats, DW = dw.floats, DB = db.floats, T = s.length, To = s.outLength, K = s.kernel
        let C = s.inChannels, vectors = C / 16
        let product = s.stride == 1 && s.padding == 0
        if product {
            convWeightProduct(s, X: X, DY: DY, DW: DW)
        } else if vectors > 0 && K <= 8 {
            // x transposed to [b][t][c] so 16 channels sit side by side; each lane keeps its (b, t) chain.
            convLock.lock()
            defer { convLock.unlock() }
            let xT = convScratch(s.batch * T * C)
            parallel(s.batch * C, cost: T) { range in
                for bc in range {
                    let b = bc / C, c = bc % C, src = X + bc * T, dst = xT + b * T * C + c
                    for t in 0..<T { dst[t * C] = src[t] }
                }
            }
            parallel(s.outChannels, cost: s.batch * To * C * K) { range in
                for o in range { ConvKernel.weightRow(s, xT: xT, DY: DY, DW: DW, o: o) }
            }
        }
        parallel(product ? 0 : s.outChannels * s.inChannels * K, cost: s.batch * To) { range in
            for ock in range {
                let o = ock / (s.inChannels * K), c = (ock / K) % s.inChannels, k = ock % K
                if c < vectors * 16 && K <= 8 { continue }   // done 16 channels at a time above
                var acc: Float = 0
                for b in 0..<s.batch {
                    let xr = X + (b * s.inChannels + c) * T, dyr = DY + (b * s.outChannels + o) * To
                    for t in 0..<To {
                        let idx = t * s.stride - s.padding + k * s.dilation
                        if idx >= 0 && idx < T { acc = fusedMultiplyAdd(dyr[t], xr[idx], acc) }
                    }
                }
                DW[ock] = acc
            }
        }
        // db[o]: one chain over (b, t) per channel; 8 channels side by side so the chains overlap.
        let O = s.outChannels
        parallel((O + 7) / 8, cost: 8 * s.batch * To) { range in
            for g in range {
                let o0 = g * 8, on = min(8, O - o0)
                var acc = SIMD8<Float>()
                for b in 0..<s.batch {
                    let base = DY + (b * O + o0) * To
                    for t in 0..<To {
                        var v = SIMD8<Float>()
                        for l in 0..<on { v[l] = base[l * To + t] }
                        acc = acc + v
                    }
                }
                for l in 0..<on { DB[o0 + l] = acc[l] }
            }
        }
    }

    func maxPoolForward(_ s: PoolShape, x: View, y: View, argmax: View) throws {
        let X = x.floats, Y = y.floats, AM = argmax.ints, To = s.outLength
        parallel(s.batch * s.channels, cost: s.length) { range in
            for bc in range {
                let xr = X + bc * s.length
                for t in 0..<To {
                    let start = t * s.stride
                    let at = s.window >= 32 ? Self.firstMax(xr + start, s.window) + start : Self.scanMax(xr + start, s.window) + start
                    Y[bc * To + t] = xr[at]
                    AM[bc * To + t] = Int32(at)
                }
            }
        }
    }

    /// Index of the window's maximum by NUMERICS rule 6, scanning in order: a candidate replaces the
    /// best if greater, or if it is NaN and the best is not (so the first NaN, else the first of the
    /// values equal to the maximum).
    @inline(__always) static func scanMax(_ x: UnsafeMutablePointer<Float>, _ n: Int) -> Int {
        var best = x[0], at = 0
        for j in 1..<max(1, n) where takesMax(x[j], best) { best = x[j]; at = j }
        return at
    }

    /// The largest of x[0 ..< n] ignoring NaNs, 16 lanes at a time, and whether any element is NaN
    /// or infinite (then the caller decides by scanning).
    @inline(never) static func laneMax(_ x: UnsafeMutablePointer<Float>, _ n: Int) -> (best: Float, special: Bool) {
        typealias V = SIMD16<Float>
        var m = V(repeating: -.infinity), poison = V()   // poison: NaN once any NaN or infinity was seen
        var j = 0
        while j + 16 <= n {
            let v = MatmulKernel.load(x + j)
            poison += v - v
            m = PortableMath.choose(PortableMath.bits(v .> m), v, m)
            j += 16
        }
        var best = -Float.infinity, special = poison.sum().isNaN
        for l in 0..<16 where m[l] > best { best = m[l] }
        for r in j..<n {
            if x[r] > best { best = x[r] }
            if !x[r].isFinite { special = true }
        }
        return (best, special)
    }

    /// `scanMax` in two passes, the first on vectors: the first NaN if any, else the first j with
    /// x[j] == max (−0 == +0, as in the scan, where neither replaces the other).
    static func firstMax(_ x: UnsafeMutablePointer<Float>, _ n: Int) -> Int {
        let (best, special) = laneMax(x, n)
        if special {
            for r in 0..<n where x[r].isNaN { return r }
        }
        for r in 0..<n where x[r] == best { return r }
        return 0
    }

    /// The value `scanMax` finds: `laneMax`'s where that decides the bits (all finite, maximum not
    /// zero: equal nonzero floats have equal bits), else the scan's.
    static func maxValue(_ x: UnsafeMutablePointer<Float>, _ n: Int) -> Float {
        if n >= 32 {
            let (best, special) = laneMax(x, n)
            if !special && best != 0 { return best }
        }
        return x[scanMax(x, n)]
    }

    func maxPoolBackward(_ s: PoolShape, dy: View, argmax: View, dx: View) throws {
        let DY = dy.floats, AM = argmax.ints, DX = dx.floats, To = s.outLength
        // dx[i] = +0, then dy[t] added for each window t whose argmax is i, in ascending t: the order
        // of "the windows covering i, ascending" with O(T + To) work per row.
        parallel(s.batch * s.channels, cost: s.length) { range in
            for bc in range {
                let row = DX + bc * s.length
                row.update(repeating: 0, count: s.length)
                for t in 0..<To {
                    let i = Int(AM[bc * To + t])
                    guard i >= t * s.stride && i < t * s.stride + s.window else { continue }   // never, from maxPoolForward
                    row[i] = row[i] + DY[bc * To + t]
                }
            }
        }
    }
}

/// The weight gradient with padding: 16 channels per vector from a transposed x.
enum ConvKernel {
    typealias V = SIMD16<Float>

    /// dw[o][c][k] for the first 16·⌊C/16⌋ channels c, from x transposed to [b][t][c]: 16 channels
    /// per vector, the chain over (b, t) in order, taps outside the input skipped.
    static func weightRow(_ s: Conv1DShape, xT: UnsafeMutablePointer<Float>, DY: UnsafeMutablePointer<Float>, DW: UnsafeMutablePointer<Float>, o: Int) {
        let T = s.length, To = s.outLength, K = s.kernel, C = s.inChannels, vectors = C / 16
        withUnsafeTemporaryAllocation(of: V.self, capacity: K * vectors) { acc in
            acc.initialize(repeating: V())
            for b in 0..<s.batch {
                let dyr = DY + (b * s.outChannels + o) * To, xb = xT + b * T * C
                for t in 0..<To {
                    let g = V(repeating: dyr[t])
                    for k in 0..<K {
                        let idx = t * s.stride - s.padding + k * s.dilation
                        guard idx >= 0 && idx < T else { continue }
                        let xr = xb + idx * C
                        for v in 0..<vectors { acc[k * vectors + v] = acc[k * vectors + v].addingProduct(g, MatmulKernel.load(xr + 16 * v)) }
                    }
                }
            }
            for k in 0..<K {
                for v in 0..<vectors {
                    let a = acc[k * vectors + v]
                    for l in 0..<16 { DW[(o * C + 16 * v + l) * K + k] = a[l] }
                }
            }
        }
    }

    /// dx[b][·][i] for one position whose taps are partly outside dy: 16 channels per vector from w
    /// laid out [o][k][c], each lane the (o, k) chain of the scalar loop, skipping missing taps.
    static func dataEdge(_ s: Conv1DShape, DY: UnsafeMutablePointer<Float>, wOKC: UnsafeMutablePointer<Float>,
                         DX: UnsafeMutablePointer<Float>, b: Int, i: Int) {
        let C = s.inChannels, K = s.kernel, O = s.outChannels, T = s.length, To = s.outLength, D = s.dilation
        // Taps k with tt = i + p − k·d inside 0 ..< To: kLo ... kHi (ascending k, as the scalar loop).
        let top = i + s.padding, kHi = min(K - 1, top / D), kLo = top - To + 1 <= 0 ? 0 : (top - To + D) / D
        guard kLo <= kHi else {
            for c in 0..<C { DX[(b * C + c) * T + i] = 0 }
            return
        }
        var c0 = 0
        while c0 < C {
            let lanes = min(16, C - c0)
            var acc = V()
            for o in 0..<O {
                let dyr = DY + (b * O + o) * To + top, w = wOKC + o * K * C + c0
                for k in kLo...kHi {
                    var wv = V()
                    if lanes == 16 { wv = MatmulKernel.load(w + k * C) } else { for l in 0..<lanes { wv[l] = w[k * C + l] } }
                    acc = acc.addingProduct(V(repeating: dyr[-k * D]), wv)
                }
            }
            for l in 0..<lanes { DX[(b * C + c0 + l) * T + i] = acc[l] }
            c0 += 16
        }
    }
}

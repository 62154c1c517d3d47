/// conv1d and max-pool over time. Orders: y chains from bias over (c, k); dx over (o, k); dw over (b, t);
/// db sums over (b, t); padded positions are skipped, never fed into a chain (NUMERICS rule 3).
extension CPUBackend {
    func conv1dForward(_ s: Conv1DShape, x: View, w: View, bias: View, y: View) throws {
        let X = x.f, W = w.f, Bi = bias.f, Y = y.f, T = s.length, To = s.outLength, K = s.kernel
        // Stride 1: 16 output positions × 4 output channels per pass, for positions whose every tap is
        // inside the input (each lane runs its own (c, k) chain, so the bits are the scalar loop's);
        // the last block overlaps the one before it instead of running past the end.
        let lo = s.stride == 1 ? max(0, s.padding) : 0
        let hi = s.stride == 1 ? min(To, T + s.padding - (K - 1) * s.dilation) : 0
        let vector = s.stride == 1 && hi - lo >= 16
        let groups = (s.outChannels + 3) / 4
        func scalar(_ b: Int, _ o: Int, _ t: Int) {
            var acc = Bi[o]
            let base = t * s.stride - s.padding
            for c in 0..<s.inChannels {
                let xr = X + (b * s.inChannels + c) * T, wr = W + (o * s.inChannels + c) * K
                for k in 0..<K {
                    let idx = base + k * s.dilation
                    if idx >= 0 && idx < T { acc = fused(wr[k], xr[idx], acc) }
                }
            }
            Y[(b * s.outChannels + o) * To + t] = acc
        }
        parallel(s.batch * groups, cost: 4 * To * s.inChannels * K) { range in
            for bg in range {
                let b = bg / groups, o0 = bg % groups * 4, on = min(4, s.outChannels - o0)
                for o in o0..<(o0 + on) {
                    for t in 0..<To where !vector || t < lo || t >= hi { scalar(b, o, t) }
                }
                guard vector else { continue }
                for t0 in stride(from: lo, to: hi, by: 16) {   // the last block overlaps its neighbour
                    ConvKernel.forwardBlock(s, X: X, W: W, bias: Bi, Y: Y, b: b, o0: o0, on: on, t: min(t0, hi - 16))
                }
            }
        }
    }

    func conv1dBackwardData(_ s: Conv1DShape, dy: View, w: View, dx: View) throws {
        let DY = dy.f, W = w.f, DX = dx.f, T = s.length, To = s.outLength, K = s.kernel
        // Stride 1: 16 input positions × 4 input channels per pass where every tap reads an existing
        // output (tt = i + p - k·d in 0 ..< To for every k); the rest one by one. Same (o, k) chains.
        let lo = s.stride == 1 ? max(0, (K - 1) * s.dilation - s.padding) : 0
        let hi = s.stride == 1 ? min(T, To - s.padding) : 0
        let vector = s.stride == 1 && hi - lo >= 16
        let groups = (s.inChannels + 3) / 4
        func scalar(_ b: Int, _ c: Int, _ i: Int) {
            var acc: Float = 0
            for o in 0..<s.outChannels {
                let wr = W + (o * s.inChannels + c) * K, dyr = DY + (b * s.outChannels + o) * To
                for k in 0..<K {
                    let tt = i + s.padding - k * s.dilation
                    if tt >= 0 && tt % s.stride == 0 && tt / s.stride < To { acc = fused(wr[k], dyr[tt / s.stride], acc) }
                }
            }
            DX[(b * s.inChannels + c) * T + i] = acc
        }
        parallel(s.batch * groups, cost: 4 * T * s.outChannels * K) { range in
            for bg in range {
                let b = bg / groups, c0 = bg % groups * 4, cn = min(4, s.inChannels - c0)
                for c in c0..<(c0 + cn) {
                    for i in 0..<T where !vector || i < lo || i >= hi { scalar(b, c, i) }
                }
                guard vector else { continue }
                for i0 in stride(from: lo, to: hi, by: 16) {
                    ConvKernel.dataBlock(s, DY: DY, W: W, DX: DX, b: b, c0: c0, cn: cn, i: min(i0, hi - 16))
                }
            }
        }
    }

    func conv1dBackwardWeight(_ s: Conv1DShape, x: View, dy: View, dw: View, db: View) throws {
        let X = x.f, DY = dy.f, DW = dw.f, DB = db.f, T = s.length, To = s.outLength, K = s.kernel
        let C = s.inChannels, vectors = C / 16
        if vectors > 0 && K <= 8 {
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
        parallel(s.outChannels * s.inChannels * K, cost: s.batch * To) { range in
            for ock in range {
                let o = ock / (s.inChannels * K), c = (ock / K) % s.inChannels, k = ock % K
                if c < vectors * 16 && K <= 8 { continue }   // done 16 channels at a time above
                var acc: Float = 0
                for b in 0..<s.batch {
                    let xr = X + (b * s.inChannels + c) * T, dyr = DY + (b * s.outChannels + o) * To
                    for t in 0..<To {
                        let idx = t * s.stride - s.padding + k * s.dilation
                        if idx >= 0 && idx < T { acc = fused(dyr[t], xr[idx], acc) }
                    }
                }
                DW[ock] = acc
            }
        }
        for o in 0..<s.outChannels {
            var acc: Float = 0
            for b in 0..<s.batch {
                let dyr = DY + (b * s.outChannels + o) * To
                for t in 0..<To { acc = acc + dyr[t] }
            }
            DB[o] = acc
        }
    }

    func maxPoolForward(_ s: PoolShape, x: View, y: View, argmax: View) throws {
        let X = x.f, Y = y.f, AM = argmax.i, To = s.outLength
        parallel(s.batch * s.channels, cost: s.length) { range in
            for bc in range {
                let xr = X + bc * s.length
                for t in 0..<To {
                    let start = t * s.stride
                    var best = xr[start], at = start
                    for j in (start + 1)..<(start + s.window) where takesMax(xr[j], best) { best = xr[j]; at = j }
                    Y[bc * To + t] = best
                    AM[bc * To + t] = Int32(at)
                }
            }
        }
    }

    func maxPoolBackward(_ s: PoolShape, dy: View, argmax: View, dx: View) throws {
        let DY = dy.f, AM = argmax.i, DX = dx.f, To = s.outLength
        parallel(s.batch * s.channels, cost: s.length) { range in
            for bc in range {
                for i in 0..<s.length {
                    var acc: Float = 0
                    let first = i - s.window + 1 <= 0 ? 0 : (i - s.window + s.stride) / s.stride
                    let last = min(i / s.stride, To - 1)
                    if first <= last {
                        for t in first...last where AM[bc * To + t] == Int32(i) { acc = acc + DY[bc * To + t] }
                    }
                    DX[bc * s.length + i] = acc
                }
            }
        }
    }
}

/// The 16-position blocks of the stride-1 convolutions: 16 lanes over time, up to 4 channels at once.
enum ConvKernel {
    typealias V = SIMD16<Float>
    @inline(__always) static func load(_ p: UnsafeMutablePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
    @inline(__always) static func store(_ v: V, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self) }

    /// y[b][o0 ..< o0+on][t ..< t+16], every tap inside the input.
    static func forwardBlock(_ s: Conv1DShape, X: UnsafeMutablePointer<Float>, W: UnsafeMutablePointer<Float>, bias: UnsafeMutablePointer<Float>,
                             Y: UnsafeMutablePointer<Float>, b: Int, o0: Int, on: Int, t: Int) {
        let T = s.length, To = s.outLength, K = s.kernel, C = s.inChannels
        let o1 = min(o0 + 1, o0 + on - 1), o2 = min(o0 + 2, o0 + on - 1), o3 = min(o0 + 3, o0 + on - 1)
        var a0 = V(repeating: bias[o0]), a1 = V(repeating: bias[o1]), a2 = V(repeating: bias[o2]), a3 = V(repeating: bias[o3])
        let base = t - s.padding
        for c in 0..<C {
            let xr = X + (b * C + c) * T + base
            let w0 = W + (o0 * C + c) * K, w1 = W + (o1 * C + c) * K, w2 = W + (o2 * C + c) * K, w3 = W + (o3 * C + c) * K
            for k in 0..<K {
                let xv = load(xr + k * s.dilation)
                a0 = a0.addingProduct(V(repeating: w0[k]), xv); a1 = a1.addingProduct(V(repeating: w1[k]), xv)
                a2 = a2.addingProduct(V(repeating: w2[k]), xv); a3 = a3.addingProduct(V(repeating: w3[k]), xv)
            }
        }
        let yr = Y + (b * s.outChannels + o0) * To + t
        store(a0, yr)
        if on > 1 { store(a1, yr + To) }
        if on > 2 { store(a2, yr + 2 * To) }
        if on > 3 { store(a3, yr + 3 * To) }
    }

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
                        for v in 0..<vectors { acc[k * vectors + v] = acc[k * vectors + v].addingProduct(g, load(xr + 16 * v)) }
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

    /// dx[b][c0 ..< c0+cn][i ..< i+16], every tap reading an existing output position.
    static func dataBlock(_ s: Conv1DShape, DY: UnsafeMutablePointer<Float>, W: UnsafeMutablePointer<Float>, DX: UnsafeMutablePointer<Float>,
                          b: Int, c0: Int, cn: Int, i: Int) {
        let T = s.length, To = s.outLength, K = s.kernel, C = s.inChannels
        let c1 = min(c0 + 1, c0 + cn - 1), c2 = min(c0 + 2, c0 + cn - 1), c3 = min(c0 + 3, c0 + cn - 1)
        var a0 = V(), a1 = V(), a2 = V(), a3 = V()
        for o in 0..<s.outChannels {
            let dyr = DY + (b * s.outChannels + o) * To + i + s.padding
            let w0 = W + (o * C + c0) * K, w1 = W + (o * C + c1) * K, w2 = W + (o * C + c2) * K, w3 = W + (o * C + c3) * K
            for k in 0..<K {
                let dv = load(dyr - k * s.dilation)
                a0 = a0.addingProduct(V(repeating: w0[k]), dv); a1 = a1.addingProduct(V(repeating: w1[k]), dv)
                a2 = a2.addingProduct(V(repeating: w2[k]), dv); a3 = a3.addingProduct(V(repeating: w3[k]), dv)
            }
        }
        let xr = DX + (b * C + c0) * T + i
        store(a0, xr)
        if cn > 1 { store(a1, xr + T) }
        if cn > 2 { store(a2, xr + 2 * T) }
        if cn > 3 { store(a3, xr + 3 * T) }
    }
}

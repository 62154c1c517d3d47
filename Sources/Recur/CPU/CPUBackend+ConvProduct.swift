/// Stride-1 conv1d as packed products, reading x, dy and w where they lie (no im2col copy):
/// - forward   y_b[o, t]   = bias[o] + Σ_(c,k) w[o, c, k] · x_b[c, t − p + k·d]   (A = w, B rows = slices of x)
/// - data      dx_b[c, i]  = Σ_(o,k) w[o, c, k] · dy_b[o, i + p − k·d]           (A = wᵀ per tap, B rows = slices of dy)
/// - weight    dwᵀ[(c,k), o] = Σ_(b,t) x_b[c, t + k·d] · dy_b[o, t]            (A rows = slices of x, B = dy_bᵀ)
/// Each output is the chain of the plain loops in CPUBackend+Conv.swift, in the same order, over
/// positions whose every tap exists (the callers run the rest one by one), so the bits are the same.
extension CPUBackend {
    /// y[b][o][lo ..< hi]: positions whose every tap is inside the input.
    func convForwardProduct(_ s: Conv1DShape, X: UnsafeMutablePointer<Float>, W: UnsafeMutablePointer<Float>,
                            bias: UnsafeMutablePointer<Float>, Y: UnsafeMutablePointer<Float>, lo: Int, hi: Int) {
        let C = s.inChannels, K = s.kernel, O = s.outChannels, T = s.length, To = s.outLength, D = s.dilation
        let n = hi - lo, chain = C * K, groups = (O + Self.mc - 1) / Self.mc, panels = (n + Self.panel - 1) / Self.panel
        convLock.lock()
        defer { convLock.unlock() }
        let wPacked = convScratch(GatheredProduct.prepackedCount(m: O, k: chain))   // w is A for every batch entry
        GatheredProduct.prepack(m: O, k: chain, into: wPacked) { o, q in W[o * chain + q] }
        matmulLock.lock()
        defer { matmulLock.unlock() }
        let packs = self.packs
        parallelWorkers(s.batch * groups, cost: Self.mc * n * chain) { worker, range in
            for idx in range {
                let b = idx / groups, r0 = idx % groups * Self.mc, r1 = min(O, r0 + Self.mc)
                let xb = X + b * C * T - s.padding + lo, yb = Y + b * O * To + lo
                for o in r0..<r1 { (yb + o * To).update(repeating: bias[o], count: n) }   // the chains start at bias[o]
                GatheredProduct.run(columns: tileColumns, rows: r0, r1, panels: 0..<panels, n: n, k: chain, c: yb, ldc: To, mode: 1,
                                    pack: packs + worker * Self.packFloats, blockEnd: { min(chain, $0 + Self.kc) },
                                    packA: { r0, r1, k0, _, _ in GatheredProduct.prepacked(wPacked, r0: r0, r1: r1, k0: k0, k: chain) },
                                    packB: { k0, k1, j0, width, into in
                                        GatheredProduct.packRows(k0, k1, width: width, into: into) { q in xb + (q / K) * T + (q % K) * D + j0 }
                                    })
            }
        }
    }

    /// dx[b][c][lo ..< hi] (positions every tap of which reads an existing output) as products, and
    /// the positions outside that range 16 channels per vector (each lane its own (o, k) chain).
    func convDataProduct(_ s: Conv1DShape, DY: UnsafeMutablePointer<Float>, W: UnsafeMutablePointer<Float>,
                         DX: UnsafeMutablePointer<Float>, lo: Int, hi: Int) {
        let C = s.inChannels, K = s.kernel, O = s.outChannels, T = s.length, To = s.outLength, D = s.dilation
        let n = hi - lo, chain = O * K, groups = (C + Self.mc - 1) / Self.mc, panels = (n + Self.panel - 1) / Self.panel
        convLock.lock()
        defer { convLock.unlock() }
        // wᵀ packed: row c holds w[o][c][k] in chain order (o, k); then w as [o][k][c] for the edges.
        let packedCount = GatheredProduct.prepackedCount(m: C, k: chain)
        let wPacked = convScratch(packedCount + chain * C), wOKC = wPacked + packedCount
        GatheredProduct.prepack(m: C, k: chain, into: wPacked) { c, q in W[((q / K) * C + c) * K + q % K] }
        for o in 0..<O {
            for c in 0..<C {
                for k in 0..<K { wOKC[(o * K + k) * C + c] = W[(o * C + c) * K + k] }
            }
        }
        let edges = T - n
        parallel(edges > 0 ? s.batch * edges : 0, cost: C * chain) { range in
            for be in range {
                let b = be / edges, e = be % edges, i = e < lo ? e : hi + (e - lo)
                ConvKernel.dataEdge(s, DY: DY, wOKC: wOKC, DX: DX, b: b, i: i)
            }
        }
        guard n > 0 else { return }
        matmulLock.lock()
        defer { matmulLock.unlock() }
        let packs = self.packs
        parallelWorkers(s.batch * groups, cost: Self.mc * n * chain) { worker, range in
            for idx in range {
                let b = idx / groups, r0 = idx % groups * Self.mc, r1 = min(C, r0 + Self.mc)
                let dyb = DY + b * O * To + lo + s.padding
                GatheredProduct.run(columns: tileColumns, rows: r0, r1, panels: 0..<panels, n: n, k: chain, c: DX + b * C * T + lo, ldc: T, mode: 0,
                                    pack: packs + worker * Self.packFloats, blockEnd: { min(chain, $0 + Self.kc) },
                                    packA: { r0, r1, k0, _, _ in GatheredProduct.prepacked(wPacked, r0: r0, r1: r1, k0: k0, k: chain) },
                                    packB: { k0, k1, j0, width, into in
                                        GatheredProduct.packRows(k0, k1, width: width, into: into) { q in dyb + (q / K) * To - (q % K) * D + j0 }
                                    })
            }
        }
    }

    /// dw for stride 1 without padding (every tap of every output inside the input): the chain of
    /// dw[o][c][k] runs over (b, t) in order; k-blocks end at batch boundaries. Computed as
    /// dw'[o][(k, c)] = Σ dy_b[o][t] · xᵀ_b[t + k·d][c] (B rows then copy contiguous runs of channels)
    /// and permuted to [o][c][k] at the end.
    func convWeightProduct(_ s: Conv1DShape, X: UnsafeMutablePointer<Float>, DY: UnsafeMutablePointer<Float>, DW: UnsafeMutablePointer<Float>) {
        let C = s.inChannels, K = s.kernel, O = s.outChannels, T = s.length, To = s.outLength, D = s.dilation
        let cols = K * C, chain = s.batch * To, groups = (O + Self.mc - 1) / Self.mc, panels = (cols + Self.panel - 1) / Self.panel
        convLock.lock()
        defer { convLock.unlock() }
        let xT = convScratch(s.batch * T * C + O * cols), dwP = xT + s.batch * T * C   // xᵀ [b][t][c], dw' [o][(k, c)]
        parallel(s.batch, cost: T * C) { range in
            for b in range { blockTranspose(rows: C, cols: T, src: X + b * C * T, srcStride: T, dst: xT + b * T * C, dstStride: C) }
        }
        let chunks = min(panels, (threads + groups - 1) / groups)
        matmulLock.lock()
        defer { matmulLock.unlock() }
        let packs = self.packs
        parallelWorkers(groups * chunks, cost: Self.mc * cols * chain / chunks) { worker, range in
            for idx in range {
                let r0 = idx / chunks * Self.mc, r1 = min(O, r0 + Self.mc), ch = idx % chunks
                GatheredProduct.run(columns: tileColumns, rows: r0, r1, panels: (panels * ch / chunks)..<(panels * (ch + 1) / chunks), n: cols, k: chain,
                                    c: dwP, ldc: cols, mode: 0,
                                    pack: packs + worker * Self.packFloats, blockEnd: { min($0 + Self.kc, ($0 / To + 1) * To) },
                                    packA: { r0, r1, k0, k1, into in
                                        let b = k0 / To, t0 = k0 % To
                                        GatheredProduct.packTiles(r0, r1, kn: k1 - k0, into: into) { o in DY + (b * O + o) * To + t0 }
                                        return into
                                    },
                                    packB: { k0, k1, j0, width, into in
                                        let xb = xT + (k0 / To * T + k0 % To) * C
                                        var dst = into
                                        for t in 0..<(k1 - k0) {
                                            var j = j0
                                            while j < j0 + width {
                                                let k = j / C, c = j % C, run = min(C - c, j0 + width - j)
                                                let src = xb + (t + k * D) * C + c, to = dst + (j - j0)
                                                if run == Self.panel {
                                                    MatmulKernel.store(MatmulKernel.load(src), to); MatmulKernel.store(MatmulKernel.load(src + 16), to + 16)
                                                    MatmulKernel.store(MatmulKernel.load(src + 32), to + 32); MatmulKernel.store(MatmulKernel.load(src + 48), to + 48)
                                                } else {
                                                    to.update(from: src, count: run)
                                                }
                                                j += run
                                            }
                                            if width < Self.panel { (dst + width).update(repeating: 0, count: Self.panel - width) }
                                            dst += Self.panel
                                        }
                                    })
            }
        }
        for o in 0..<O {
            for c in 0..<C {
                for k in 0..<K { DW[(o * C + c) * K + k] = dwP[o * cols + k * C + c] }
            }
        }
    }
}

/// The packed-product driver behind the convolutions: the matmul's blocking (k-blocks, 64-column
/// panels, `MatmulKernel.panel`'s register tiles) with operands packed by closures from any layout.
enum GatheredProduct {
    /// C[r0 ..< r1, columns of `panels` (64 each, < n)] continued over chain terms 0 ..< k; the first
    /// k-block starts per `mode` (0: +0, 1: C's value), later ones continue from C (same chain, same
    /// bits). `packA(r0, r1, k0, k1, scratch)` returns `MatmulKernel.mr`-row tiles [k][mr] (packed into
    /// scratch, or packed once beforehand by `prepack`); `packB(k0, k1, j0, width, into)` writes rows
    /// of 64; `blockEnd(k0)` ends a k-block at most `CPUBackend.kc` terms on; `columns`: the register
    /// tile's columns (the backend's `tileColumns`).
    static func run(columns: Int, rows r0: Int, _ r1: Int, panels: Range<Int>, n: Int, k: Int, c: UnsafeMutablePointer<Float>, ldc: Int, mode: Int32,
                    pack: UnsafeMutablePointer<Float>, blockEnd: (Int) -> Int,
                    packA: (Int, Int, Int, Int, UnsafeMutablePointer<Float>) -> UnsafeMutablePointer<Float>,
                    packB: (Int, Int, Int, Int, UnsafeMutablePointer<Float>) -> Void) {
        let scratch = pack + CPUBackend.kc * CPUBackend.panel
        var k0 = 0
        while k0 < k {
            let k1 = blockEnd(k0), kn = k1 - k0
            let m: Int32 = k0 == 0 ? mode : 1
            let apack = packA(r0, r1, k0, k1, scratch)
            for p in panels {
                let j0 = p * CPUBackend.panel, width = min(CPUBackend.panel, n - j0)
                packB(k0, k1, j0, width, pack)
                MatmulKernel.panel(rows: r1 - r0, kn: kn, width: width, a: apack, b: pack, c: c + r0 * ldc + j0, ldc: ldc, mode: m, bias: nil, columns: columns)
            }
            k0 = k1
        }
    }

    /// Rows of a row group rounded up to whole tiles.
    @inline(__always) static func padded(_ rows: Int) -> Int { (rows + MatmulKernel.mr - 1) / MatmulKernel.mr * MatmulKernel.mr }

    /// Floats `prepack` writes for an m × k A operand.
    static func prepackedCount(m: Int, k: Int) -> Int {
        m / CPUBackend.mc * padded(CPUBackend.mc) * k + padded(m % CPUBackend.mc) * k
    }

    /// Packs an m × k A operand once, as `run`'s packA would pack each (row group, k-block) of k-blocks
    /// of `CPUBackend.kc`: group g at g·padded(mc)·k, its block at k0 × padded(rows of the group).
    static func prepack(m: Int, k: Int, into: UnsafeMutablePointer<Float>, element: (Int, Int) -> Float) {
        let mr = MatmulKernel.mr
        var r0 = 0
        while r0 < m {
            let r1 = min(m, r0 + CPUBackend.mc), rows = padded(r1 - r0)
            var k0 = 0
            while k0 < k {
                let k1 = min(k, k0 + CPUBackend.kc), kn = k1 - k0
                let block = prepacked(into, r0: r0, r1: r1, k0: k0, k: k)
                for r in 0..<rows {
                    let dst = block + r / mr * mr * kn + r % mr
                    for q in 0..<kn { dst[q * mr] = r0 + r < r1 ? element(r0 + r, k0 + q) : 0 }
                }
                k0 = k1
            }
            r0 = r1
        }
    }

    /// Where `prepack` put the tiles of rows r0 ..< r1 (one row group) for the k-block at k0.
    @inline(__always) static func prepacked(_ p: UnsafeMutablePointer<Float>, r0: Int, r1: Int, k0: Int, k: Int) -> UnsafeMutablePointer<Float> {
        p + r0 / CPUBackend.mc * padded(CPUBackend.mc) * k + k0 * padded(r1 - r0)
    }

    /// B rows k0 ..< k1, each `width` contiguous floats from `row(q)`, as rows of 64 (zero past width).
    @inline(__always) static func packRows(_ k0: Int, _ k1: Int, width: Int, into: UnsafeMutablePointer<Float>,
                                           row: (Int) -> UnsafeMutablePointer<Float>) {
        var dst = into
        for q in k0..<k1 {
            let src = row(q)
            if width == CPUBackend.panel {
                MatmulKernel.store(MatmulKernel.load(src), dst); MatmulKernel.store(MatmulKernel.load(src + 16), dst + 16)
                MatmulKernel.store(MatmulKernel.load(src + 32), dst + 32); MatmulKernel.store(MatmulKernel.load(src + 48), dst + 48)
            } else {
                dst.update(from: src, count: width)
                (dst + width).update(repeating: 0, count: CPUBackend.panel - width)
            }
            dst += CPUBackend.panel
        }
    }

    /// A rows r0 ..< r1 over `kn` chain terms, row q read contiguously from `row(q)`, as tiles of
    /// `MatmulKernel.mr` rows [k][mr] (tile t at t·mr·kn; rows past r1 repeat the last row — computed
    /// by the kernel and dropped).
    @inline(__always) static func packTiles(_ r0: Int, _ r1: Int, kn: Int, into: UnsafeMutablePointer<Float>,
                                            row: (Int) -> UnsafeMutablePointer<Float>) {
        var i = r0, tile = into
        while i < r1 {
            let a0 = row(i), a1 = row(min(i + 1, r1 - 1)), a2 = row(min(i + 2, r1 - 1))
            let a3 = row(min(i + 3, r1 - 1)), a4 = row(min(i + 4, r1 - 1)), a5 = row(min(i + 5, r1 - 1))
            var dst = tile
            for t in 0..<kn { dst[0] = a0[t]; dst[1] = a1[t]; dst[2] = a2[t]; dst[3] = a3[t]; dst[4] = a4[t]; dst[5] = a5[t]; dst += 6 }
            i += 6; tile += 6 * kn
        }
    }
}

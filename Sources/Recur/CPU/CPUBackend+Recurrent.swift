/// Fused LSTM and GRU cells and the embedding. Each output element is computed by the same
/// scalar formula as Kernels/recurrent.cl; see the doc comments on `Device` for the equations.
extension CPUBackend {
    func lstmForward(batch: Int, hidden H: Int, gates: View, cPrev: View, act: View, c: View, h: View) throws {
        let G = gates.floats, CP = cPrev.floats, A = act.floats, C = c.floats, Hh = h.floats
        typealias V = PortableMath.Lanes
        let vectors = H / 16   // per row: 16 units at a time, the rest one by one; same operations per unit
        parallel(batch * (vectors + H % 16), cost: 64 * 16) { range in
            for item in range {
                let b = item / (vectors + H % 16), slot = item % (vectors + H % 16)
                if slot < vectors {
                    let j = slot * 16, e = b * H + j, g0 = b * 4 * H + j
                    let i = PortableMath.sigmoid(MatmulKernel.load(G + g0)), f = PortableMath.sigmoid(MatmulKernel.load(G + g0 + H))
                    let g = PortableMath.tanh(MatmulKernel.load(G + g0 + 2 * H)), o = PortableMath.sigmoid(MatmulKernel.load(G + g0 + 3 * H))
                    let cn = (i * g).addingProduct(f, MatmulKernel.load(CP + e))
                    MatmulKernel.store(i, A + g0); MatmulKernel.store(f, A + g0 + H); MatmulKernel.store(g, A + g0 + 2 * H); MatmulKernel.store(o, A + g0 + 3 * H)
                    MatmulKernel.store(cn, C + e)
                    MatmulKernel.store(o * PortableMath.tanh(cn), Hh + e)
                } else {
                    let j = vectors * 16 + slot - vectors, e = b * H + j, g0 = b * 4 * H + j
                    let i = PortableMath.sigmoid(G[g0]), f = PortableMath.sigmoid(G[g0 + H])
                    let g = PortableMath.tanh(G[g0 + 2 * H]), o = PortableMath.sigmoid(G[g0 + 3 * H])
                    let cn = fusedMultiplyAdd(f, CP[e], i * g)
                    A[g0] = i; A[g0 + H] = f; A[g0 + 2 * H] = g; A[g0 + 3 * H] = o
                    C[e] = cn
                    Hh[e] = o * PortableMath.tanh(cn)
                }
            }
        }
    }

    func lstmBackward(batch: Int, hidden H: Int, act: View, cPrev: View, c: View, dh: View, dcNext: View?,
                             dGates: View, dcPrev: View) throws {
        let A = act.floats, CP = cPrev.floats, C = c.floats, DH = dh.floats, DCN = dcNext?.floats, DG = dGates.floats, DCP = dcPrev.floats
        typealias V = PortableMath.Lanes
        let vectors = H / 16   // 16 units at a time per row, the rest one by one; the same operations per unit
        parallel(batch * vectors, cost: 64 * 16) { range in
            for item in range {
                let b = item / vectors, j = item % vectors * 16, e = b * H + j, g0 = b * 4 * H + j
                let i = MatmulKernel.load(A + g0), f = MatmulKernel.load(A + g0 + H), g = MatmulKernel.load(A + g0 + 2 * H), o = MatmulKernel.load(A + g0 + 3 * H)
                let tc = PortableMath.tanh(MatmulKernel.load(C + e)), d = MatmulKernel.load(DH + e)
                let one = V(repeating: 1)
                let dc = (DCN.map { MatmulKernel.load($0 + e) } ?? V()).addingProduct(d * o, one.addingProduct(-tc, tc))
                MatmulKernel.store((dc * g) * i.addingProduct(-i, i), DG + g0)
                MatmulKernel.store((dc * MatmulKernel.load(CP + e)) * f.addingProduct(-f, f), DG + g0 + H)
                MatmulKernel.store((dc * i) * one.addingProduct(-g, g), DG + g0 + 2 * H)
                MatmulKernel.store((d * tc) * o.addingProduct(-o, o), DG + g0 + 3 * H)
                MatmulKernel.store(dc * f, DCP + e)
            }
        }
        let rest = H - vectors * 16
        parallel(batch * rest, cost: 64) { range in
            for item in range {
                let b = item / max(rest, 1), j = vectors * 16 + item % max(rest, 1), e = b * H + j, g0 = b * 4 * H + j
                let i = A[g0], f = A[g0 + H], g = A[g0 + 2 * H], o = A[g0 + 3 * H]
                let tc = PortableMath.tanh(C[e]), d = DH[e]
                let dc = fusedMultiplyAdd(d * o, fusedMultiplyAdd(-tc, tc, 1), DCN?[e] ?? 0)
                DG[g0] = (dc * g) * fusedMultiplyAdd(-i, i, i)
                DG[g0 + H] = (dc * CP[e]) * fusedMultiplyAdd(-f, f, f)
                DG[g0 + 2 * H] = (dc * i) * fusedMultiplyAdd(-g, g, 1)
                DG[g0 + 3 * H] = (d * tc) * fusedMultiplyAdd(-o, o, o)
                DCP[e] = dc * f
            }
        }
    }

    func gruForward(batch: Int, hidden H: Int, gi: View, gh: View, hPrev: View, act: View, h: View) throws {
        let GI = gi.floats, GH = gh.floats, HP = hPrev.floats, A = act.floats, Hh = h.floats
        parallel(batch * H, cost: 64) { range in
            for e in range {
                let b = e / H, j = e % H, g0 = b * 3 * H + j, a0 = b * 4 * H + j
                let r = PortableMath.sigmoid(GI[g0] + GH[g0])
                let z = PortableMath.sigmoid(GI[g0 + H] + GH[g0 + H])
                let ghn = GH[g0 + 2 * H]
                let n = PortableMath.tanh(fusedMultiplyAdd(r, ghn, GI[g0 + 2 * H]))
                A[a0] = r; A[a0 + H] = z; A[a0 + 2 * H] = n; A[a0 + 3 * H] = ghn
                Hh[e] = fusedMultiplyAdd(z, HP[e] - n, n)
            }
        }
    }

    func gruBackward(batch: Int, hidden H: Int, act: View, hPrev: View, dh: View,
                            dgi: View, dgh: View, dhPrev: View) throws {
        let A = act.floats, HP = hPrev.floats, DH = dh.floats, DGI = dgi.floats, DGH = dgh.floats, DHP = dhPrev.floats
        parallel(batch * H, cost: 64) { range in
            for e in range {
                let b = e / H, j = e % H, g0 = b * 3 * H + j, a0 = b * 4 * H + j
                let r = A[a0], z = A[a0 + H], n = A[a0 + 2 * H], ghn = A[a0 + 3 * H], d = DH[e]
                let dnPre = (d * (1 - z)) * fusedMultiplyAdd(-n, n, 1)
                let dzPre = (d * (HP[e] - n)) * fusedMultiplyAdd(-z, z, z)
                let drPre = (dnPre * ghn) * fusedMultiplyAdd(-r, r, r)
                DGI[g0] = drPre; DGI[g0 + H] = dzPre; DGI[g0 + 2 * H] = dnPre
                DGH[g0] = drPre; DGH[g0 + H] = dzPre; DGH[g0 + 2 * H] = dnPre * r
                DHP[e] = d * z
            }
        }
    }

    func embeddingForward(vocab: Int, dim: Int, table: View, indices: View, out: View) throws {
        let T = table.floats, I = indices.ints, O = out.floats, n = indices.count
        parallel(n, cost: dim) { range in
            for p in range {
                let v = Int(I[p]), row = O + p * dim
                if v >= 0 && v < vocab { row.update(from: T + v * dim, count: dim) } else { row.update(repeating: recurNaN, count: dim) }
            }
        }
    }

    func embeddingBackward(vocab: Int, dim: Int, dOut: View, indices: View, dTable: View) throws {
        let D = dOut.floats, DT = dTable.floats
        let (order, starts) = Self.tokenOrder(indices.ints, count: indices.count, vocab: vocab)
        order.withUnsafeBufferPointer { ord in
            starts.withUnsafeBufferPointer { st in
                parallel(vocab, cost: dim * max(1, indices.count / vocab)) { range in
                    for v in range {
                        let row = DT + v * dim
                        row.update(repeating: 0, count: dim)
                        for q in st[v]..<st[v + 1] {
                            let src = D + ord[q] * dim
                            for d in 0..<dim { row[d] = row[d] + src[d] }
                        }
                    }
                }
            }
        }
    }

    /// The positions holding each token in [0, vocab), ascending: token v's at order[starts[v] ..< starts[v + 1]]
    /// (a counting sort; other values are left out).
    static func tokenOrder(_ I: UnsafeMutablePointer<Int32>, count n: Int, vocab: Int) -> (order: [Int], starts: [Int]) {
        var starts = [Int](repeating: 0, count: vocab + 1)
        for p in 0..<n { let v = Int(I[p]); if v >= 0 && v < vocab { starts[v + 1] += 1 } }
        for v in 0..<vocab { starts[v + 1] += starts[v] }
        var order = [Int](repeating: 0, count: starts[vocab]), fillAt = starts
        for p in 0..<n { let v = Int(I[p]); if v >= 0 && v < vocab { order[fillAt[v]] = p; fillAt[v] += 1 } }
        return (order, starts)
    }
}

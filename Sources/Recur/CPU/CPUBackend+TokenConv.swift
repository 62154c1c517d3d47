/// A convolution over embedded tokens from the tokens themselves; twin of the token convolution in Kernels/embedding.cl.
/// Every output column is one chain (bias, then tap 0, 1, …), computed 16 columns at a time.
extension CPUBackend {
    // table (V, K·F), tokens (B, T) → y (B, T_out, F)
    func tokenConvForward(_ s: TokenConvShape, table: View, bias: View, tokens: View, y: View) throws {
        let P = table.floats, Bias = bias.floats, I = tokens.ints, Y = y.floats
        let F = s.filters, K = s.kernel, T = s.length, To = s.outLength, V = s.vocab, KF = K * F
        parallel(s.batch * To, cost: K * F) { range in
            for r in range {
                let b = r / To, t = r % To, out = Y + r * F, ids = I + b * T + t
                var valid = true
                for k in 0..<K where ids[k] < 0 || Int(ids[k]) >= V { valid = false }
                guard valid else { out.update(repeating: recurNaN, count: F); continue }
                var o = 0
                while o + 16 <= F {
                    var acc = MatmulKernel.load(Bias + o)
                    for k in 0..<K { acc = acc + MatmulKernel.load(P + Int(ids[k]) * KF + k * F + o) }
                    MatmulKernel.store(acc, out + o)
                    o += 16
                }
                for o in o..<F {
                    var acc = Bias[o]
                    for k in 0..<K { acc = acc + P[Int(ids[k]) * KF + k * F + o] }
                    out[o] = acc
                }
            }
        }
    }

    // dy (B, T_out, F), tokens (B, T) → sums (V, K·F)
    func tokenConvBackward(_ s: TokenConvShape, dy: View, tokens: View, sums: View) throws {
        let D = dy.floats, S = sums.floats
        let F = s.filters, K = s.kernel, T = s.length, To = s.outLength, KF = K * F
        let (order, starts) = Self.tokenOrder(tokens.ints, count: s.batch * T, vocab: s.vocab)
        order.withUnsafeBufferPointer { ord in
            starts.withUnsafeBufferPointer { st in
                parallel(s.vocab, cost: KF * max(1, s.batch * T / s.vocab)) { range in
                    for v in range {
                        let row = S + v * KF
                        row.update(repeating: 0, count: KF)
                        for q in st[v]..<st[v + 1] {
                            let p = ord[q], b = p / T, tp = p % T
                            for k in 0..<K where tp - k >= 0 && tp - k < To {
                                let src = D + (b * To + tp - k) * F, dst = row + k * F
                                var o = 0
                                while o + 16 <= F {
                                    MatmulKernel.store(MatmulKernel.load(dst + o) + MatmulKernel.load(src + o), dst + o)
                                    o += 16
                                }
                                for o in o..<F { dst[o] = dst[o] + src[o] }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// conv1d and max-pool over time. Orders: y chains from bias over (c, k); dx over (o, k); dw over (b, t);
/// db sums over (b, t); padded positions are skipped, never fed into a chain (NUMERICS rule 3).
extension CPUBackend {
    func conv1dForward(_ s: Conv1DShape, x: View, w: View, bias: View, y: View) throws {
        let X = x.f, W = w.f, Bi = bias.f, Y = y.f, T = s.length, To = s.outLength, K = s.kernel
        parallel(s.batch * s.outChannels, cost: To * s.inChannels * K) { range in
            for bo in range {
                let b = bo / s.outChannels, o = bo % s.outChannels
                for t in 0..<To {
                    var acc = Bi[o]
                    let base = t * s.stride - s.padding
                    for c in 0..<s.inChannels {
                        let xr = X + (b * s.inChannels + c) * T, wr = W + (o * s.inChannels + c) * K
                        for k in 0..<K {
                            let idx = base + k * s.dilation
                            if idx >= 0 && idx < T { acc = fused(wr[k], xr[idx], acc) }
                        }
                    }
                    Y[bo * To + t] = acc
                }
            }
        }
    }

    func conv1dBackwardData(_ s: Conv1DShape, dy: View, w: View, dx: View) throws {
        let DY = dy.f, W = w.f, DX = dx.f, T = s.length, To = s.outLength, K = s.kernel
        parallel(s.batch * s.inChannels, cost: T * s.outChannels * K) { range in
            for bc in range {
                let b = bc / s.inChannels, c = bc % s.inChannels
                for i in 0..<T {
                    var acc: Float = 0
                    for o in 0..<s.outChannels {
                        let wr = W + (o * s.inChannels + c) * K, dyr = DY + (b * s.outChannels + o) * To
                        for k in 0..<K {
                            let tt = i + s.padding - k * s.dilation
                            if tt >= 0 && tt % s.stride == 0 && tt / s.stride < To { acc = fused(wr[k], dyr[tt / s.stride], acc) }
                        }
                    }
                    DX[bc * T + i] = acc
                }
            }
        }
    }

    func conv1dBackwardWeight(_ s: Conv1DShape, x: View, dy: View, dw: View, db: View) throws {
        let X = x.f, DY = dy.f, DW = dw.f, DB = db.f, T = s.length, To = s.outLength, K = s.kernel
        parallel(s.outChannels * s.inChannels * K, cost: s.batch * To) { range in
            for ock in range {
                let o = ock / (s.inChannels * K), c = (ock / K) % s.inChannels, k = ock % K
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

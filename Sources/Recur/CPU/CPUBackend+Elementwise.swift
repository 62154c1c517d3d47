import CRecurSIMD
/// Elementwise ops, dropout and data movement.
extension CPUBackend {
    @inline(__always) static func unaryValue(_ op: UnaryOp, _ alpha: Float, _ x: Float) -> Float {
        switch op {
        case .scale: return alpha * x
        case .relu: return x > 0 ? x : (x.isNaN ? x : 0)
        case .tanh: return PortableMath.tanh(x)
        case .sigmoid: return PortableMath.sigmoid(x)
        case .exp: return PortableMath.exp(x)
        case .log: return PortableMath.log(x)
        }
    }

    @inline(__always) static func unaryGradient(_ op: UnaryOp, _ s: Float, _ dy: Float) -> Float {
        switch op {
        case .scale: return dy
        case .relu: return s > 0 ? dy : 0
        case .tanh: return dy * fusedMultiplyAdd(-s, s, 1)
        case .sigmoid: return dy * fusedMultiplyAdd(-s, s, s)
        case .exp: return dy * s
        case .log: return dy / s
        }
    }

    typealias Lanes = SIMD16<Float>

    /// The lanes form of `unaryValue`: the same operations per lane (PortableMath's 16-lane functions
    /// are bit-identical to the scalar ones).
    @inline(__always) static func unaryLanes(_ op: UnaryOp, _ alpha: Float, _ x: Lanes) -> Lanes {
        switch op {
        case .scale: return Lanes(repeating: alpha) * x
        case .relu: return PortableMath.choose(PortableMath.bits(x .> 0) | PortableMath.bits(x .!= x), x, Lanes())   // x > 0 or NaN: x, else +0
        case .tanh: return PortableMath.tanh(x)
        case .sigmoid: return PortableMath.sigmoid(x)
        case .exp: return PortableMath.exp(x)
        case .log: var y = x; for l in 0..<16 { y[l] = PortableMath.log(x[l]) }; return y
        }
    }

    /// The lanes form of `unaryGradient`.
    @inline(__always) static func gradientLanes(_ op: UnaryOp, _ s: Lanes, _ dy: Lanes) -> Lanes {
        switch op {
        case .scale: return dy
        case .relu: return PortableMath.choose(PortableMath.bits(s .> 0), dy, Lanes())
        case .tanh: return dy * Lanes(repeating: 1).addingProduct(-s, s)
        case .sigmoid: return dy * s.addingProduct(-s, s)
        case .exp: return dy * s
        case .log: return dy / s
        }
    }

    /// Runs `lanes` over 16 elements at a time and `scalar` over the tail; the op is chosen outside
    /// the loops.
    @inline(__always) func elementwise(_ n: Int, cost: Int, lanes: (Int) -> Void, scalar: (Int) -> Void) {
        parallel((n + 15) / 16, cost: 16 * cost) { range in
            for v in range {
                if v * 16 + 16 <= n { lanes(v * 16) } else { for e in (v * 16)..<n { scalar(e) } }
            }
        }
    }

    func unary(_ op: UnaryOp, alpha: Float, x: View, y: View) throws {
        let X = x.floats, Y = y.floats
        func run(_ op: UnaryOp) {
            elementwise(x.count, cost: op == .relu || op == .scale ? 1 : 16,
                        lanes: { e in MatmulKernel.store(Self.unaryLanes(op, alpha, MatmulKernel.load(X + e)), Y + e) },
                        scalar: { e in Y[e] = Self.unaryValue(op, alpha, X[e]) })
        }
        Self.specialised(op, run)
    }

    func unaryBackward(_ op: UnaryOp, saved: View, dy: View, dx: View) throws {
        let S = saved.floats, DY = dy.floats, DX = dx.floats
        func run(_ op: UnaryOp) {
            elementwise(dy.count, cost: 1,
                        lanes: { e in MatmulKernel.store(Self.gradientLanes(op, MatmulKernel.load(S + e), MatmulKernel.load(DY + e)), DX + e) },
                        scalar: { e in DX[e] = Self.unaryGradient(op, S[e], DY[e]) })
        }
        Self.specialised(op, run)
    }

    /// Calls `body` with `op` as a constant, so each op gets its own inlined loop.
    @inline(__always) static func specialised(_ op: UnaryOp, _ body: (UnaryOp) -> Void) {
        switch op {
        case .scale: body(.scale)
        case .relu: body(.relu)
        case .tanh: body(.tanh)
        case .sigmoid: body(.sigmoid)
        case .exp: body(.exp)
        case .log: body(.log)
        }
    }

    func binary(_ op: BinaryOp, alpha: Float, a: View, b: View, y: View) throws {
        let A = a.floats, B = b.floats, Y = y.floats
        parallel(a.count) { range in
            switch op {
            case .add: for e in range { Y[e] = A[e] + B[e] }
            case .sub: for e in range { Y[e] = A[e] - B[e] }
            case .mul: for e in range { Y[e] = A[e] * B[e] }
            case .axpy: for e in range { Y[e] = fusedMultiplyAdd(alpha, A[e], B[e]) }
            }
        }
    }

    func scaleBy(factor: View, x: View, y: View) throws {
        let s = factor.floats[0], X = x.floats, Y = y.floats
        parallel(x.count) { range in for e in range { Y[e] = X[e] * s } }
    }

    func dropout(seed: UInt64, stream: UInt64, threshold: UInt32, scale: Float, x: View, y: View) throws {
        let X = x.floats, Y = y.floats
        parallel(x.count, cost: 32) { range in
            for e in range {
                let keep = Philox.bits(seed: seed, stream: stream, position: UInt32(e)) >> 8 >= threshold
                Y[e] = keep ? X[e] * scale : 0
            }
        }
    }

    func copy2D(rows: Int, cols: Int, src: View, srcStride: Int, dst: View, dstStride: Int) throws {
        let S = src.floats, D = dst.floats
        parallel(rows, cost: cols) { range in
            for r in range { (D + r * dstStride).update(from: S + r * srcStride, count: cols) }
        }
    }

    func transpose(batch: Int, rows: Int, cols: Int, src: View, dst: View) throws {
        let S = src.floats, D = dst.floats
        parallel(batch, cost: rows * cols) { range in
            for b in range { blockTranspose(rows: rows, cols: cols, src: S + b * rows * cols, srcStride: cols, dst: D + b * rows * cols, dstStride: rows) }
        }
    }
}

/// dst[c][r] = src[r][c] for r < rows, c < cols (row strides as given), in 16 × 16 blocks so that
/// reads and writes both stay within a few cache lines; whole 8 × 8 pieces by vector shuffles
/// (`recur_transpose8`), the edges one float at a time. A copy: no bits change.
func blockTranspose(rows: Int, cols: Int, src: UnsafeMutablePointer<Float>, srcStride: Int,
                    dst: UnsafeMutablePointer<Float>, dstStride: Int) {
    var r0 = 0
    while r0 < rows {
        let r1 = min(rows, r0 + 16)
        var c0 = 0
        while c0 < cols {
            let c1 = min(cols, c0 + 16)
            var r = r0
            while r + 8 <= r1 {
                var c = c0
                while c + 8 <= c1 {
                    recur_transpose8(src + (r &* srcStride &+ c), srcStride, dst + (c &* dstStride &+ r), dstStride)
                    c += 8
                }
                for cc in c..<c1 {   // columns past the last whole piece
                    let to = dst + cc &* dstStride
                    for rr in r..<(r + 8) { to[rr] = src[rr &* srcStride &+ cc] }
                }
                r += 8
            }
            for c in c0..<c1 {   // rows past the last whole piece
                let to = dst + c &* dstStride
                for rr in r..<r1 { to[rr] = src[rr &* srcStride &+ c] }
            }
            c0 = c1
        }
        r0 = r1
    }
}

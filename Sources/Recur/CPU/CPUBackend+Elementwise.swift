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
        case .tanh: return dy * fused(-s, s, 1)
        case .sigmoid: return dy * fused(-s, s, s)
        case .exp: return dy * s
        case .log: return dy / s
        }
    }

    func unary(_ op: UnaryOp, alpha: Float, x: View, y: View) throws {
        let X = x.f, Y = y.f
        parallel(x.count, cost: 16) { range in for e in range { Y[e] = Self.unaryValue(op, alpha, X[e]) } }
    }

    func unaryBackward(_ op: UnaryOp, saved: View, dy: View, dx: View) throws {
        let S = saved.f, DY = dy.f, DX = dx.f
        parallel(dy.count, cost: 4) { range in for e in range { DX[e] = Self.unaryGradient(op, S[e], DY[e]) } }
    }

    func binary(_ op: BinaryOp, alpha: Float, a: View, b: View, y: View) throws {
        let A = a.f, B = b.f, Y = y.f
        parallel(a.count) { range in
            switch op {
            case .add: for e in range { Y[e] = A[e] + B[e] }
            case .sub: for e in range { Y[e] = A[e] - B[e] }
            case .mul: for e in range { Y[e] = A[e] * B[e] }
            case .axpy: for e in range { Y[e] = fused(alpha, A[e], B[e]) }
            }
        }
    }

    func scaleBy(factor: View, x: View, y: View) throws {
        let s = factor.f[0], X = x.f, Y = y.f
        parallel(x.count) { range in for e in range { Y[e] = X[e] * s } }
    }

    func dropout(seed: UInt64, stream: UInt64, threshold: UInt32, scale: Float, x: View, y: View) throws {
        let X = x.f, Y = y.f
        parallel(x.count, cost: 32) { range in
            for e in range {
                let keep = Philox.bits(seed: seed, stream: stream, position: UInt32(e)) >> 8 >= threshold
                Y[e] = keep ? X[e] * scale : 0
            }
        }
    }

    func copy2D(rows: Int, cols: Int, src: View, srcStride: Int, dst: View, dstStride: Int) throws {
        let S = src.f, D = dst.f
        parallel(rows, cost: cols) { range in
            for r in range { (D + r * dstStride).update(from: S + r * srcStride, count: cols) }
        }
    }

    func transpose(batch: Int, rows: Int, cols: Int, src: View, dst: View) throws {
        let S = src.f, D = dst.f
        parallel(batch * cols, cost: rows) { range in
            for bc in range {
                let b = bc / cols, j = bc % cols
                let from = S + b * rows * cols + j, to = D + b * rows * cols + j * rows
                for r in 0..<rows { to[r] = from[r * cols] }
            }
        }
    }
}

/// Batched matmul: every C element is one fma chain over k = 0..<K from its starting value.
/// Vectorised over 16 columns and blocked over 4 rows; the chain of each output is untouched.
extension CPUBackend {
    public func matmul(_ s: MatmulShape, a: View, b: View, c: View, start: MatmulStart) throws {
        let A = a.f, C = c.f
        var B = b.f, ldb = s.ldb, strideB = s.strideB
        var packed: UnsafeMutablePointer<Float>? = nil
        if s.transB {   // pack Bᵀ (n×k) into k×n so the column loop is contiguous; copying changes no bits
            let copies = s.strideB == 0 ? 1 : s.batch
            let p = UnsafeMutablePointer<Float>.allocate(capacity: copies * s.k * s.n)
            let src = b.f
            parallel(copies * s.n, cost: s.k) { range in
                for idx in range {
                    let bi = idx / s.n, j = idx % s.n
                    let from = src + bi * s.strideB + j * s.ldb, to = p + bi * s.k * s.n + j
                    for kk in 0..<s.k { to[kk * s.n] = from[kk] }
                }
            }
            packed = p; B = p; ldb = s.n; strideB = s.strideB == 0 ? 0 : s.k * s.n
        }
        defer { packed?.deallocate() }
        let bias: UnsafeMutablePointer<Float>? = if case .bias(let v) = start { v.f } else { nil }
        let mode = start.mode
        let blocks = (s.m + 3) / 4
        parallel(s.batch * blocks, cost: 4 * s.n * s.k) { range in
            for idx in range {
                let bi = idx / blocks, i0 = (idx % blocks) * 4
                let rows = min(4, s.m - i0)
                let ap = A + bi * s.strideA, bp = B + bi * strideB, cp = C + bi * s.strideC
                MatmulKernel.rows(s, rows: rows, i0: i0, a: ap, b: bp, ldb: ldb, c: cp, mode: mode, bias: bias)
            }
        }
    }
}

enum MatmulKernel {
    typealias V = SIMD16<Float>

    @inline(__always) static func load(_ p: UnsafeMutablePointer<Float>) -> V {
        UnsafeRawPointer(p).loadUnaligned(as: V.self)
    }
    @inline(__always) static func store(_ v: V, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self)
    }

    /// C rows i0 ..< i0+rows (rows ≤ 4) of one batch entry.
    static func rows(_ s: MatmulShape, rows: Int, i0: Int, a: UnsafeMutablePointer<Float>, b: UnsafeMutablePointer<Float>,
                     ldb: Int, c: UnsafeMutablePointer<Float>, mode: Int32, bias: UnsafeMutablePointer<Float>?) {
        // a(i, kk): element (i, kk) of op(A)
        let rowStep = s.transA ? 1 : s.lda, kStep = s.transA ? s.lda : 1
        let a0 = a + i0 * rowStep
        func startVector(_ r: Int, _ j: Int) -> V {
            switch mode {
            case 0: return V(repeating: 0)
            case 1: return load(c + (i0 + r) * s.ldc + j)
            default: return load(bias! + j)
            }
        }
        func startScalar(_ r: Int, _ j: Int) -> Float {
            switch mode {
            case 0: return 0
            case 1: return c[(i0 + r) * s.ldc + j]
            default: return bias![j]
            }
        }
        var j = 0
        if rows == 4 {
            let r1 = a0 + rowStep, r2 = a0 + 2 * rowStep, r3 = a0 + 3 * rowStep
            while j + 16 <= s.n {
                var c0 = startVector(0, j), c1 = startVector(1, j), c2 = startVector(2, j), c3 = startVector(3, j)
                var bp = b + j
                var ka = 0
                for _ in 0..<s.k {
                    let bv = load(bp)
                    c0 = c0.addingProduct(V(repeating: a0[ka]), bv)
                    c1 = c1.addingProduct(V(repeating: r1[ka]), bv)
                    c2 = c2.addingProduct(V(repeating: r2[ka]), bv)
                    c3 = c3.addingProduct(V(repeating: r3[ka]), bv)
                    bp += ldb
                    ka += kStep
                }
                store(c0, c + i0 * s.ldc + j); store(c1, c + (i0 + 1) * s.ldc + j)
                store(c2, c + (i0 + 2) * s.ldc + j); store(c3, c + (i0 + 3) * s.ldc + j)
                j += 16
            }
        } else {
            while j + 16 <= s.n {
                for r in 0..<rows {
                    var acc = startVector(r, j)
                    let ar = a0 + r * rowStep
                    var bp = b + j
                    var ka = 0
                    for _ in 0..<s.k {
                        acc = acc.addingProduct(V(repeating: ar[ka]), load(bp))
                        bp += ldb
                        ka += kStep
                    }
                    store(acc, c + (i0 + r) * s.ldc + j)
                }
                j += 16
            }
        }
        // Remaining columns, one chain each.
        while j < s.n {
            for r in 0..<rows {
                var acc = startScalar(r, j)
                let ar = a0 + r * rowStep
                for kk in 0..<s.k { acc = fused(ar[kk * kStep], b[kk * ldb + j], acc) }
                c[(i0 + r) * s.ldc + j] = acc
            }
            j += 1
        }
    }
}

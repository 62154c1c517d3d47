import Foundation

/// Batched matmul: every C element is one fma chain over k = 0..<K from its starting value.
/// Blocking: column panels of 64 (B panel stays in L2 across all rows), 4×64 register tiles of 16
/// SIMD16 accumulators, row groups of `mc` whose A block stays in L2 across the panels, and k-blocks of
/// `kc` whose partial chains are parked in C between blocks —
/// storing a Float and loading it back continues the same chain, so no bits change.
extension CPUBackend {
    static let panel = 64
    static let kc = 256
    static let mc = 128

    public func matmul(_ s: MatmulShape, a: View, b: View, c: View, start: MatmulStart) throws {
        let A = a.f, C = c.f
        var B = b.f, ldb = s.ldb, strideB = s.strideB
        if s.transB {   // Bᵀ (n×k) packed as k×n in 32×32 blocks; copying changes no bits
            let copies = s.strideB == 0 ? 1 : s.batch
            let p = scratch(copies * s.k * s.n)
            let src = b.f, blocksK = (s.k + 31) / 32, blocksN = (s.n + 31) / 32
            parallel(copies * blocksN * blocksK, cost: 1024) { range in
                for idx in range {
                    let bi = idx / (blocksN * blocksK), jb = (idx / blocksK) % blocksN * 32, kb = idx % blocksK * 32
                    let from = src + bi * s.strideB, to = p + bi * s.k * s.n
                    for j in jb..<min(jb + 32, s.n) { for kk in kb..<min(kb + 32, s.k) { to[kk * s.n + j] = from[j * s.ldb + kk] } }
                }
            }
            B = p; ldb = s.n; strideB = s.strideB == 0 ? 0 : s.k * s.n
        }
        let bias: UnsafeMutablePointer<Float>? = if case .bias(let v) = start { v.f } else { nil }
        let panels = (s.n + Self.panel - 1) / Self.panel
        let groups = (s.m + Self.mc - 1) / Self.mc
        // Work items: (batch, group of mc rows, chunk of panels). Inside an item the k-blocks are outermost,
        // so the A block (mc × kc) stays in L2 while every B panel (kc × 64) of the chunk passes by.
        let chunks = s.batch * groups >= threads ? 1 : min(panels, (threads + s.batch * groups - 1) / (s.batch * groups))
        parallel(s.batch * groups * chunks, cost: Self.mc * s.n * s.k / chunks) { range in
            for idx in range {
                let bi = idx / (groups * chunks), g = (idx / chunks) % groups, ch = idx % chunks
                let r0 = g * Self.mc, r1 = min(s.m, r0 + Self.mc)
                let p0 = panels * ch / chunks, p1 = panels * (ch + 1) / chunks
                let ap = A + bi * s.strideA, bp = B + bi * strideB, cp = C + bi * s.strideC
                var k0 = 0
                repeat {
                    let k1 = min(s.k, k0 + Self.kc)
                    let mode: Int32 = k0 == 0 ? start.mode : 1
                    for jp in p0..<p1 {
                        let j0 = jp * Self.panel, width = min(Self.panel, s.n - j0)
                        var i = r0
                        while i < r1 {
                            let rows = min(4, r1 - i)
                            MatmulKernel.tile(s, rows: rows, i0: i, k0: k0, k1: k1, width: width, a: ap, b: bp + j0, ldb: ldb, c: cp + j0,
                                              mode: mode, bias: bias.map { $0 + j0 })
                            i += rows
                        }
                    }
                    k0 = k1
                } while k0 < s.k
            }
        }
    }

    /// A grow-only scratch area for packing (one op runs at a time on a device).
    func scratch(_ count: Int) -> UnsafeMutablePointer<Float> {
        scratchLock.lock(); defer { scratchLock.unlock() }
        if scratchCapacity < count {
            scratchPointer?.deallocate()
            scratchPointer = UnsafeMutablePointer<Float>.allocate(capacity: count)
            scratchCapacity = count
        }
        return scratchPointer!
    }
}

enum MatmulKernel {
    typealias V = SIMD16<Float>

    @inline(__always) static func load(_ p: UnsafeMutablePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
    @inline(__always) static func store(_ v: V, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self) }

    /// C[i0 ..< i0+rows, 0 ..< width] (rows ≤ 4, width ≤ 64) continued over k0 ..< k1.
    /// mode: 0 start at +0, 1 continue from C, 2 start at bias (pointers already offset to the panel).
    static func tile(_ s: MatmulShape, rows: Int, i0: Int, k0: Int, k1: Int, width: Int, a: UnsafeMutablePointer<Float>,
                     b: UnsafeMutablePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, mode: Int32, bias: UnsafeMutablePointer<Float>?) {
        let rowStep = s.transA ? 1 : s.lda, kStep = s.transA ? s.lda : 1
        let ldc = s.ldc
        @inline(__always) func startV(_ r: Int, _ j: Int) -> V {
            mode == 0 ? V(repeating: 0) : mode == 1 ? load(c + (i0 + r) * ldc + j) : load(bias! + j)
        }
        @inline(__always) func startS(_ r: Int, _ j: Int) -> Float {
            mode == 0 ? 0 : mode == 1 ? c[(i0 + r) * ldc + j] : bias![j]
        }
        let a0 = a + i0 * rowStep + k0 * kStep
        var j = 0
        if rows == 4 {
            let a1 = a0 + rowStep, a2 = a1 + rowStep, a3 = a2 + rowStep
            if width == 64 {
                var c00 = startV(0, 0), c01 = startV(0, 16), c02 = startV(0, 32), c03 = startV(0, 48)
                var c10 = startV(1, 0), c11 = startV(1, 16), c12 = startV(1, 32), c13 = startV(1, 48)
                var c20 = startV(2, 0), c21 = startV(2, 16), c22 = startV(2, 32), c23 = startV(2, 48)
                var c30 = startV(3, 0), c31 = startV(3, 16), c32 = startV(3, 32), c33 = startV(3, 48)
                var bp = b + k0 * ldb, ka = 0
                for _ in k0..<k1 {
                    let b0 = load(bp), b1 = load(bp + 16), b2 = load(bp + 32), b3 = load(bp + 48)
                    let x0 = V(repeating: a0[ka]), x1 = V(repeating: a1[ka]), x2 = V(repeating: a2[ka]), x3 = V(repeating: a3[ka])
                    c00 = c00.addingProduct(x0, b0); c01 = c01.addingProduct(x0, b1); c02 = c02.addingProduct(x0, b2); c03 = c03.addingProduct(x0, b3)
                    c10 = c10.addingProduct(x1, b0); c11 = c11.addingProduct(x1, b1); c12 = c12.addingProduct(x1, b2); c13 = c13.addingProduct(x1, b3)
                    c20 = c20.addingProduct(x2, b0); c21 = c21.addingProduct(x2, b1); c22 = c22.addingProduct(x2, b2); c23 = c23.addingProduct(x2, b3)
                    c30 = c30.addingProduct(x3, b0); c31 = c31.addingProduct(x3, b1); c32 = c32.addingProduct(x3, b2); c33 = c33.addingProduct(x3, b3)
                    bp += ldb; ka += kStep
                }
                let r0 = c + i0 * ldc, r1 = r0 + ldc, r2 = r1 + ldc, r3 = r2 + ldc
                store(c00, r0); store(c01, r0 + 16); store(c02, r0 + 32); store(c03, r0 + 48)
                store(c10, r1); store(c11, r1 + 16); store(c12, r1 + 32); store(c13, r1 + 48)
                store(c20, r2); store(c21, r2 + 16); store(c22, r2 + 32); store(c23, r2 + 48)
                store(c30, r3); store(c31, r3 + 16); store(c32, r3 + 32); store(c33, r3 + 48)
                return
            }
            while j + 16 <= width {
                var c0 = startV(0, j), c1 = startV(1, j), c2 = startV(2, j), c3 = startV(3, j)
                var bp = b + k0 * ldb + j, ka = 0
                for _ in k0..<k1 {
                    let bv = load(bp)
                    c0 = c0.addingProduct(V(repeating: a0[ka]), bv); c1 = c1.addingProduct(V(repeating: a1[ka]), bv)
                    c2 = c2.addingProduct(V(repeating: a2[ka]), bv); c3 = c3.addingProduct(V(repeating: a3[ka]), bv)
                    bp += ldb; ka += kStep
                }
                store(c0, c + i0 * ldc + j); store(c1, c + (i0 + 1) * ldc + j)
                store(c2, c + (i0 + 2) * ldc + j); store(c3, c + (i0 + 3) * ldc + j)
                j += 16
            }
        } else {
            while j + 16 <= width {
                for r in 0..<rows {
                    var acc = startV(r, j)
                    let ar = a0 + r * rowStep
                    var bp = b + k0 * ldb + j, ka = 0
                    for _ in k0..<k1 {
                        acc = acc.addingProduct(V(repeating: ar[ka]), load(bp))
                        bp += ldb; ka += kStep
                    }
                    store(acc, c + (i0 + r) * ldc + j)
                }
                j += 16
            }
        }
        while j < width {   // remaining columns, one chain each
            for r in 0..<rows {
                var acc = startS(r, j)
                let ar = a0 + r * rowStep
                var ka = 0
                for kk in k0..<k1 { acc = fused(ar[ka], b[kk * ldb + j], acc); ka += kStep }
                c[(i0 + r) * ldc + j] = acc
            }
            j += 1
        }
    }
}

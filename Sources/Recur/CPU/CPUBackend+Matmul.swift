import Foundation
import CRecurSIMD

/// Batched matmul: every C element is one fma chain over k = 0..<K from its starting value.
/// Blocking: register tiles of SIMD16 accumulators, up to 6×64 (AVX-512 builds) or 6×16 (others; see
/// `MatmulKernel.tileColumns`), over packed operands (A as 6-row tiles
/// [k][6], B as 64-column panels [k][64]), k-blocks of `kc` whose partial chains are parked in C
/// between blocks — storing a Float and loading it back continues the same chain, so no bits change —
/// and row groups of whole tiles, about `mc` rows each (`rowGroups`).
extension CPUBackend {
    static let panel = 64
    static let kc = 128
    static let mc = 128
    /// k-blocks of products with a large C (`sharedPanels`): C is read and written once per k-block,
    /// and at 6400 × 2048 that traffic, not the arithmetic, set the speed with blocks of `kc`.
    static let kcLargeC = 512, largeC = 2 << 20
    /// Per worker: a B panel (kc × panel) and an A block (mc rounded up to whole tiles × kcLargeC).
    static let packFloats = kc * panel + (mc + MatmulKernel.mr - 1) / MatmulKernel.mr * MatmulKernel.mr * kcLargeC

    func matmul(_ s: MatmulShape, a: View, b: View, c: View, start: MatmulStart) throws {
        multiply(s, A: a.floats, B: b.floats, C: c.floats, start: start, packed: nil)
    }

    func matmul(_ s: MatmulShape, a: View, b: View, packedB: View, c: View, start: MatmulStart) throws {
        multiply(s, A: a.floats, B: b.floats, C: c.floats, start: start, packed: packedB.floats)
    }

    /// B packed whole: for each k-block (of `kc`) at k0, its panels side by side, panel p of the
    /// block at k0·panels·64 + p·kn·64, laid out [kn][64] as `MatmulKernel.pack` writes it.
    var packPanel: Int { Self.panel }
    /// B is packed for every product, transposed or not.
    var readsTransposedB: Bool { true }
    /// One product over every step's rows runs at the tile's peak; step by step in bands of rows the
    /// big LSTM trained at 0.89x (2 threads), and this device's memory is well within its targets.
    var stepwiseGradients: Bool { false }

    @inline(__always) static func packedPanel(_ p: UnsafeMutablePointer<Float>, n: Int, k0: Int, kn: Int, panel: Int) -> UnsafeMutablePointer<Float> {
        p + k0 * ((n + Self.panel - 1) / Self.panel * Self.panel) + panel * kn * Self.panel
    }

    func packB(_ s: MatmulShape, b: View, into: View) throws {
        let B = b.floats, P = into.floats, panels = (s.n + Self.panel - 1) / Self.panel
        var k0 = 0
        repeat {
            let k1 = min(s.k, k0 + Self.kc)
            parallel(panels, cost: (k1 - k0) * Self.panel / 8) { range in
                for p in range {
                    MatmulKernel.pack(s, b: B, ldb: s.ldb, k0: k0, k1: k1, j0: p * Self.panel, width: min(Self.panel, s.n - p * Self.panel),
                                      into: Self.packedPanel(P, n: s.n, k0: k0, kn: k1 - k0, panel: p))
                }
            }
            k0 = k1
        } while k0 < s.k
    }

    /// Row groups of a product with m rows: whole `mr`-row tiles, at most 22 tiles (132 rows, what a
    /// worker's A pack holds) each, as even as tiles allow, and as many as a multiple of the thread
    /// count when there is more than one, so that the threads finish together. Which rows are packed
    /// together changes no bits: every output is its own chain.
    struct RowGroups {
        let count: Int, tiles: Int, m: Int
        /// Rows of group g.
        func rows(_ g: Int) -> (Int, Int) {
            (min(m, MatmulKernel.mr * (tiles * g / count)), min(m, MatmulKernel.mr * (tiles * (g + 1) / count)))
        }
    }

    func rowGroups(_ m: Int) -> RowGroups {
        let tiles = (m + MatmulKernel.mr - 1) / MatmulKernel.mr
        var count = (m + Self.mc - 1) / Self.mc
        if count > 1 { count = (count + threads - 1) / threads * threads }
        return RowGroups(count: max(1, min(count, tiles)), tiles: tiles, m: m)
    }

    /// The product; with `packed` (B packed by `packB`), B's panels are read from there instead of
    /// being copied per call.
    func multiply(_ s: MatmulShape, A: UnsafeMutablePointer<Float>, B: UnsafeMutablePointer<Float>, C: UnsafeMutablePointer<Float>,
                  start: MatmulStart, packed: UnsafeMutablePointer<Float>?) {
        // The pack buffers belong to the device: callers on several threads take turns, but for the
        // parts of a `rowParts` job, each of which has its own thread's pack buffers.
        let part = RowPartThread.index
        if part == nil { matmulLock.lock() }
        defer { if part == nil { matmulLock.unlock() } }
        let bias: UnsafeMutablePointer<Float>? = if case .bias(let v) = start { v.floats } else { nil }
        let panels = (s.n + Self.panel - 1) / Self.panel
        let rg = rowGroups(s.m), groups = rg.count
        // Work items: (batch, row group, chunk of panels). Inside an item the k-blocks are outermost;
        // each B panel (kc × 64, transposed or not) is copied into the worker's contiguous pack buffer and
        // then serves every tile of the group; the A block stays in L2 meanwhile.
        if groups > 1 && (s.batch == 1 || s.strideB == 0) && part == nil {
            sharedPanels(s, A: A, B: B, C: C, start: start, bias: bias, packed: packed, groups: rg)
            return
        }
        // Several threads: up to 4 items per thread where each still has ~4 MFLOP, so that a thread slowed
        // by other load does fewer. A thread packs a group's A over all of K once (K ≤ kcLargeC) and
        // keeps it for the group's next chunk.
        let items = s.batch * groups
        let want = threads == 1 || part != nil ? 1 : max(threads, min(4 * threads, (2 * s.batch * s.m * s.n * s.k) >> 22))
        let chunks = items >= want ? 1 : min(panels, (want + items - 1) / items)
        let whole = s.k <= Self.kcLargeC, packs = self.packs, keys = packKeys
        if let part { keys[part] = -1 } else { keys.update(repeating: -1, count: threads) }
        parallelWorkers(items * chunks, cost: Self.mc * s.n * s.k / chunks) { worker, range in
            let pack = packs + worker * Self.packFloats, apack = pack + Self.kc * Self.panel
            for idx in range {
                let bi = idx / (groups * chunks), g = (idx / chunks) % groups, ch = idx % chunks
                let (r0, r1) = rg.rows(g), padded = (r1 - r0 + MatmulKernel.mr - 1) / MatmulKernel.mr * MatmulKernel.mr
                let p0 = panels * ch / chunks, p1 = panels * (ch + 1) / chunks
                let ap = A + bi * s.strideA, bp = B + bi * s.strideB, cp = C + bi * s.strideC
                let fresh = !whole || keys[worker] != idx / chunks
                keys[worker] = whole ? idx / chunks : -1
                var k0 = 0
                repeat {
                    let k1 = min(s.k, k0 + Self.kc), kn = k1 - k0
                    let mode: Int32 = k0 == 0 ? start.mode : 1
                    let ablock = whole ? apack + padded * k0 : apack   // [k-block][tile][kn][mr]
                    if fresh { MatmulKernel.packA(s, a: ap, r0: r0, r1: r1, k0: k0, k1: k1, into: ablock) }
                    for jp in p0..<p1 {
                        let j0 = jp * Self.panel, width = min(Self.panel, s.n - j0)
                        var panel = pack
                        if let packed {
                            panel = Self.packedPanel(packed, n: s.n, k0: k0, kn: kn, panel: jp)
                        } else {
                            MatmulKernel.pack(s, b: bp, ldb: s.ldb, k0: k0, k1: k1, j0: j0, width: width, into: pack)
                        }
                        // the next panel of a packed B, a quarter per tile of the first four, into L2 meanwhile
                        let next: UnsafeMutablePointer<Float>? = if let packed {
                            jp + 1 < p1 ? Self.packedPanel(packed, n: s.n, k0: k0, kn: kn, panel: jp + 1)
                                : k1 < s.k ? Self.packedPanel(packed, n: s.n, k0: k1, kn: min(s.k, k1 + Self.kc) - k1, panel: p0) : nil
                        } else { nil }
                        MatmulKernel.panel(rows: r1 - r0, kn: kn, width: width, a: ablock, b: panel, c: cp + r0 * s.ldc + j0, ldc: s.ldc,
                                           mode: mode, bias: bias.map { $0 + j0 }, columns: tileColumns, next: next)
                    }
                    k0 = k1
                } while k0 < s.k
            }
        }
    }

    /// Columns of B packed together in `sharedPanels`.
    static let nc = 4096

    /// Many row groups sharing one B: each k-block of up to `nc` columns of B is packed once (workers
    /// split the panels), then every row group runs over those packs (workers split the groups).
    /// The order of k-blocks per output is unchanged, so the bits are those of the per-group path.
    func sharedPanels(_ s: MatmulShape, A: UnsafeMutablePointer<Float>, B: UnsafeMutablePointer<Float>, C: UnsafeMutablePointer<Float>,
                      start: MatmulStart, bias: UnsafeMutablePointer<Float>?, packed: UnsafeMutablePointer<Float>?, groups rg: RowGroups) {
        let groups = rg.count
        let shared = sharedPack()
        let packs = self.packs
        // A prepacked B is laid out in blocks of kc; else a large C takes longer k-blocks over fewer
        // columns (the shared pack holds kc × nc floats either way).
        let kb = packed == nil && s.m * s.n >= Self.largeC ? Self.kcLargeC : Self.kc, nb = Self.nc * Self.kc / kb
        var jc = 0
        while jc < s.n {
            let ncw = min(nb, s.n - jc), panels = (ncw + Self.panel - 1) / Self.panel
            var k0 = 0
            repeat {
                let k1 = min(s.k, k0 + kb), kn = k1 - k0
                let mode: Int32 = k0 == 0 ? start.mode : 1
                if packed == nil {   // else every panel is packed already
                    parallel(panels, cost: kn * Self.panel / 8) { range in
                        for p in range {
                            let j0 = jc + p * Self.panel
                            MatmulKernel.pack(s, b: B, ldb: s.ldb, k0: k0, k1: k1, j0: j0, width: min(Self.panel, s.n - j0),
                                              into: shared + p * kn * Self.panel)
                        }
                    }
                }
                parallelWorkers(s.batch * groups, cost: Self.mc * ncw * kn) { worker, range in
                    let apack = packs + worker * Self.packFloats + Self.kc * Self.panel
                    for idx in range {
                        let bi = idx / groups, (r0, r1) = rg.rows(idx % groups)
                        let ap = A + bi * s.strideA, cp = C + bi * s.strideC
                        MatmulKernel.packA(s, a: ap, r0: r0, r1: r1, k0: k0, k1: k1, into: apack)
                        func panel(_ p: Int) -> UnsafeMutablePointer<Float> {
                            packed.map { Self.packedPanel($0, n: s.n, k0: k0, kn: kn, panel: jc / Self.panel + p) } ?? shared + p * kn * Self.panel
                        }
                        for p in 0..<panels {
                            let j0 = jc + p * Self.panel, width = min(Self.panel, s.n - j0), next = p + 1 < panels ? panel(p + 1) : nil
                            MatmulKernel.panel(rows: r1 - r0, kn: kn, width: width, a: apack, b: panel(p), c: cp + r0 * s.ldc + j0, ldc: s.ldc,
                                               mode: mode, bias: bias.map { $0 + j0 }, columns: tileColumns, next: next)
                        }
                    }
                }
                k0 = k1
            } while k0 < s.k
            jc += ncw
        }
    }

    /// The B packs shared by all workers (kc × nc floats), allocated on the first product that needs
    /// them; `matmulLock` is held.
    func sharedPack() -> UnsafeMutablePointer<Float> {
        if let p = sharedPointer { return p }
        let p = Self.floats(Self.kc * Self.nc)
        sharedPointer = p
        return p
    }

}

enum MatmulKernel {
    typealias V = SIMD16<Float>
    /// Rows per register tile.
    static let mr = 6
    /// The build's columns per register tile: 64 (6 × 64 outputs in 24 accumulators of AVX-512's 32
    /// vector registers) where the code is compiled for 512-bit vectors; else 16 (6 × 16 in 12 of
    /// AVX2's 16 registers, BLIS's Haswell shape: a 6 × 64 tile there spilled its accumulators every k).
    static let tileColumns = recur_wide_vectors() != 0 ? 64 : 16

    /// `rows` rows of packed A (`mr`-row tiles at `a`, tile t at t·mr·kn) times one packed B panel
    /// (kn × 64 at `b`, `width` columns used) into C at `c`, in register tiles of `mr` × `columns`
    /// (16 or 64).
    /// With 16-column tiles the panel is done one 16-column slice at a time over every row tile, so
    /// that the slice (kn × 16 floats, one cache line per k) stays in L1 while A streams from L2.
    /// `next` (another packed panel, or nil) is fetched into L2 by the first four tiles of the first slice.
    /// Every output is its own chain, so the tiling changes no bits.
    static func panel(rows: Int, kn: Int, width: Int, a: UnsafeMutablePointer<Float>, b: UnsafeMutablePointer<Float>,
                      c: UnsafeMutablePointer<Float>, ldc: Int, mode: Int32, bias: UnsafeMutablePointer<Float>?,
                      columns: Int, next: UnsafeMutablePointer<Float>? = nil) {
        var j = 0
        repeat {
            var i = 0, q = 0
            while i < rows {
                tile(rows: min(mr, rows - i), kn: kn, width: min(columns, width - j), a: a + i * kn, b: b + j, c: c + i * ldc + j,
                     ldc: ldc, mode: mode, bias: bias.map { $0 + j }, prefetch: j == 0 ? fetchSlice(of: next, tile: q, kn: kn) : nil)
                i += mr; q += 1
            }
            j += columns
        } while j < width
    }

    /// Copies B[k0 ..< k1, j0 ..< j0+width] (read through Bᵀ when transposed) to `into` as rows of
    /// `CPUBackend.panel` floats. Copying changes no bits.
    static func pack(_ s: MatmulShape, b: UnsafeMutablePointer<Float>, ldb: Int, k0: Int, k1: Int, j0: Int, width: Int,
                     into: UnsafeMutablePointer<Float>) {
        let stride = CPUBackend.panel
        if !s.transB {
            var src = b + k0 * ldb + j0, dst = into
            if width == stride {
                for _ in k0..<k1 {
                    store(load(src), dst); store(load(src + 16), dst + 16); store(load(src + 32), dst + 32); store(load(src + 48), dst + 48)
                    src += ldb; dst += stride
                }
            } else {
                for _ in k0..<k1 {
                    dst.update(from: src, count: width)
                    (dst + width).update(repeating: 0, count: stride - width)
                    src += ldb; dst += stride
                }
            }
        } else {   // B is n × k: column j of the panel is row j0 + j of B, contiguous over k
            // Blocked (16 × 16) so that reading 64 rows 4–8 KiB apart for every k does not thrash L1's sets.
            blockTranspose(rows: width, cols: k1 - k0, src: b + j0 * ldb + k0, srcStride: ldb, dst: into, dstStride: stride)
            if width < stride {
                for kk in 0..<(k1 - k0) { (into + kk * stride + width).update(repeating: 0, count: stride - width) }
            }
        }
    }

    /// 16 floats at `p` (any alignment), and back: the one vector load/store every CPU kernel uses.
    @inline(__always) static func load(_ p: UnsafeMutablePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
    @inline(__always) static func store(_ v: V, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self) }

    /// Copies rows r0 ..< r1 of A over k0 ..< k1 to `into` as `mr`-row tiles, tile t at t·mr·kn laid
    /// out [k][mr] (rows past r1 in the last tile are zero; a kernel may compute them and drop them).
    /// A transposed A is copied tile by tile, six contiguous floats of each stored row at a time.
    static func packA(_ s: MatmulShape, a: UnsafeMutablePointer<Float>, r0: Int, r1: Int, k0: Int, k1: Int,
                      into: UnsafeMutablePointer<Float>) {
        let kn = k1 - k0
        if s.transA {   // A is k × m: row kk of the stored matrix holds every row of the group at that k
            var t = 0, i = r0
            while i < r1 {   // tile by tile: the six rows at each k are contiguous in the stored matrix
                let rows = min(mr, r1 - i)
                var dst = into + t * mr * kn, src = a + k0 * s.lda + i
                if rows == mr {
                    for _ in k0..<k1 {
                        let (d, s4) = (UnsafeMutableRawPointer(dst), UnsafeRawPointer(src))   // 4 + 2 floats as two moves
                        d.storeBytes(of: s4.loadUnaligned(as: SIMD4<Float>.self), as: SIMD4<Float>.self)
                        d.storeBytes(of: s4.loadUnaligned(fromByteOffset: 16, as: SIMD2<Float>.self), toByteOffset: 16, as: SIMD2<Float>.self)
                        dst += mr; src += s.lda
                    }
                } else {
                    for _ in k0..<k1 {
                        for r in 0..<mr { dst[r] = r < rows ? src[r] : 0 }
                        dst += mr; src += s.lda
                    }
                }
                i += mr; t += 1
            }
        } else {
            var t = 0, i = r0
            while i < r1 {
                let rows = min(mr, r1 - i)
                var dst = into + t * mr * kn
                let a0 = a + i * s.lda
                if rows == mr {
                    let a1 = a0 + s.lda, a2 = a1 + s.lda, a3 = a2 + s.lda, a4 = a3 + s.lda, a5 = a4 + s.lda
                    for kk in k0..<k1 {
                        dst[0] = a0[kk]; dst[1] = a1[kk]; dst[2] = a2[kk]; dst[3] = a3[kk]; dst[4] = a4[kk]; dst[5] = a5[kk]
                        dst += mr
                    }
                } else {
                    for kk in k0..<k1 {
                        for r in 0..<mr { dst[r] = r < rows ? a0[r * s.lda + kk] : 0 }
                        dst += mr
                    }
                }
                i += mr; t += 1
            }
        }
    }

    /// C[0 ..< rows, 0 ..< width] (rows ≤ 6, width ≤ 64) continued over `kn` values of k, with A packed
    /// as [k][6] and B packed as [k][64] (columns past `width` zero). The register tile is the
    /// smallest of 2, 4 or 6 rows × 16, 32 or 64 columns that covers the block: rows and columns past
    /// `rows` and `width` inside it are computed and dropped, never loaded from or stored to C; each
    /// lane is its own chain, so the tile size changes no bits.
    /// mode: 0 start at +0, 1 continue from C, 2 start at bias (pointers already offset to the tile).
    static func tile(rows: Int, kn: Int, width: Int, a: UnsafeMutablePointer<Float>, b: UnsafeMutablePointer<Float>,
                     c: UnsafeMutablePointer<Float>, ldc: Int, mode: Int32, bias: UnsafeMutablePointer<Float>?, prefetch: UnsafeMutablePointer<Float>? = nil) {
        switch (rows > 4 ? 6 : rows > 2 ? 4 : 2, width > 32 ? 4 : width > 16 ? 2 : 1) {
        case (6, 4) where prefetch != nil: sized(Tile6x4Prefetching.self, rows: rows, kn: kn, width: width, a: a, b: b, c: c, ldc: ldc, mode: mode, bias: bias, prefetch: prefetch)
        case (6, 4): sized(Tile6x4.self, rows: rows, kn: kn, width: width, a: a, b: b, c: c, ldc: ldc, mode: mode, bias: bias)
        case (6, 2): sized(Tile6x2.self, rows: rows, kn: kn, width: width, a: a, b: b, c: c, ldc: ldc, mode: mode, bias: bias)
        case (6, 1) where prefetch != nil: sized(Tile6x1Prefetching.self, rows: rows, kn: kn, width: width, a: a, b: b, c: c, ldc: ldc, mode: mode, bias: bias, prefetch: prefetch)
        case (6, _): sized(Tile6x1.self, rows: rows, kn: kn, width: width, a: a, b: b, c: c, ldc: ldc, mode: mode, bias: bias)
        case (4, 4): sized(Tile4x4.self, rows: rows, kn: kn, width: width, a: a, b: b, c: c, ldc: ldc, mode: mode, bias: bias)
        case (4, 2): sized(Tile4x2.self, rows: rows, kn: kn, width: width, a: a, b: b, c: c, ldc: ldc, mode: mode, bias: bias)
        case (4, _): sized(Tile4x1.self, rows: rows, kn: kn, width: width, a: a, b: b, c: c, ldc: ldc, mode: mode, bias: bias)
        case (_, 4): sized(Tile2x4.self, rows: rows, kn: kn, width: width, a: a, b: b, c: c, ldc: ldc, mode: mode, bias: bias)
        case (_, 2): sized(Tile2x2.self, rows: rows, kn: kn, width: width, a: a, b: b, c: c, ldc: ldc, mode: mode, bias: bias)
        default: sized(Tile2x1.self, rows: rows, kn: kn, width: width, a: a, b: b, c: c, ldc: ldc, mode: mode, bias: bias)
        }
    }

    /// What tile q over a panel fetches of the next panel (`next`, kn × 64 floats): a quarter each for
    /// the first four tiles, one cache line per k of the tile's kn; nothing after them or without `next`.
    @inline(__always)
    static func fetchSlice(of next: UnsafeMutablePointer<Float>?, tile q: Int, kn: Int) -> UnsafeMutablePointer<Float>? {
        q < 4 ? next.map { $0 + q * kn * 16 } : nil
    }

    /// A register tile's size as a type, so that each size gets its own specialised copy of `tile`
    /// with R and W constant. Left to itself the optimiser inlined only the 6 × 4 body and ran every
    /// other size through one copy taking R and W at run time, with branches and a spill in its inner
    /// loop.
    /// `P`: the tile also prefetches one cache line per k from `prefetch` into L2.
    protocol TileSize { static var R: Int { get }; static var W: Int { get }; static var P: Bool { get } }
    enum Tile6x4Prefetching: TileSize { static var R: Int { 6 }; static var W: Int { 4 }; static var P: Bool { true } }
    enum Tile6x1Prefetching: TileSize { static var R: Int { 6 }; static var W: Int { 1 }; static var P: Bool { true } }
    enum Tile6x4: TileSize { static var R: Int { 6 }; static var W: Int { 4 } }
    enum Tile6x2: TileSize { static var R: Int { 6 }; static var W: Int { 2 } }
    enum Tile6x1: TileSize { static var R: Int { 6 }; static var W: Int { 1 } }
    enum Tile4x4: TileSize { static var R: Int { 4 }; static var W: Int { 4 } }
    enum Tile4x2: TileSize { static var R: Int { 4 }; static var W: Int { 2 } }
    enum Tile4x1: TileSize { static var R: Int { 4 }; static var W: Int { 1 } }
    enum Tile2x4: TileSize { static var R: Int { 2 }; static var W: Int { 4 } }
    enum Tile2x2: TileSize { static var R: Int { 2 }; static var W: Int { 2 } }
    enum Tile2x1: TileSize { static var R: Int { 2 }; static var W: Int { 1 } }

    @inline(never)
    static func sized<S: TileSize>(_: S.Type, rows: Int, kn: Int, width: Int, a: UnsafeMutablePointer<Float>, b: UnsafeMutablePointer<Float>,
                                   c: UnsafeMutablePointer<Float>, ldc: Int, mode: Int32, bias: UnsafeMutablePointer<Float>?, prefetch: UnsafeMutablePointer<Float>? = nil) {
        tile(S.R, S.W, S.P, rows: rows, kn: kn, width: width, a: a, b: b, c: c, ldc: ldc, mode: mode, bias: bias, prefetch: prefetch)
    }

    /// One register tile of R rows × 16·W columns (R in 2, 4, 6; W in 1, 2, 4), specialised at each call.
    @inline(__always)
    static func tile(_ R: Int, _ W: Int, _ P: Bool, rows: Int, kn: Int, width: Int, a: UnsafeMutablePointer<Float>, b: UnsafeMutablePointer<Float>,
                     c: UnsafeMutablePointer<Float>, ldc: Int, mode: Int32, bias: UnsafeMutablePointer<Float>?, prefetch: UnsafeMutablePointer<Float>?) {
        let ldb = CPUBackend.panel
        @inline(__always) func startV(_ r: Int, _ j: Int) -> V {
            if mode == 0 || r >= rows || r >= R || j >= 16 * W { return V(repeating: 0) }
            if j + 16 <= width { return mode == 1 ? load(c + r * ldc + j) : load(bias! + j) }
            var v = V(repeating: 0)
            for l in 0..<max(0, width - j) { v[l] = mode == 1 ? c[r * ldc + j + l] : bias![j + l] }
            return v
        }
        @inline(__always) func put(_ v: V, _ r: Int, _ j: Int) {
            guard r < rows, r < R, j < 16 * W else { return }
            if j + 16 <= width { store(v, c + r * ldc + j) } else { for l in 0..<max(0, width - j) { c[r * ldc + j + l] = v[l] } }
        }
        var c00 = startV(0, 0), c01 = startV(0, 16), c02 = startV(0, 32), c03 = startV(0, 48)
        var c10 = startV(1, 0), c11 = startV(1, 16), c12 = startV(1, 32), c13 = startV(1, 48)
        var c20 = startV(2, 0), c21 = startV(2, 16), c22 = startV(2, 32), c23 = startV(2, 48)
        var c30 = startV(3, 0), c31 = startV(3, 16), c32 = startV(3, 32), c33 = startV(3, 48)
        var c40 = startV(4, 0), c41 = startV(4, 16), c42 = startV(4, 32), c43 = startV(4, 48)
        var c50 = startV(5, 0), c51 = startV(5, 16), c52 = startV(5, 32), c53 = startV(5, 48)
        var bp = b, ap = a, pf = prefetch ?? b
        for _ in 0..<kn {
            if P { recur_prefetch_l2(pf); pf += 16 }
            let b0 = load(bp)
            let b1 = W > 1 ? load(bp + 16) : b0, b2 = W > 2 ? load(bp + 32) : b0, b3 = W > 2 ? load(bp + 48) : b0
            @inline(__always) func row(_ x: V, _ v0: inout V, _ v1: inout V, _ v2: inout V, _ v3: inout V) {
                v0 = v0.addingProduct(x, b0)
                if W > 1 { v1 = v1.addingProduct(x, b1) }
                if W > 2 { v2 = v2.addingProduct(x, b2); v3 = v3.addingProduct(x, b3) }
            }
            row(V(repeating: ap[0]), &c00, &c01, &c02, &c03)
            row(V(repeating: ap[1]), &c10, &c11, &c12, &c13)
            if R > 2 {
                row(V(repeating: ap[2]), &c20, &c21, &c22, &c23)
                row(V(repeating: ap[3]), &c30, &c31, &c32, &c33)
            }
            if R > 4 {
                row(V(repeating: ap[4]), &c40, &c41, &c42, &c43)
                row(V(repeating: ap[5]), &c50, &c51, &c52, &c53)
            }
            bp += ldb; ap += mr
        }
        put(c00, 0, 0); put(c01, 0, 16); put(c02, 0, 32); put(c03, 0, 48)
        put(c10, 1, 0); put(c11, 1, 16); put(c12, 1, 32); put(c13, 1, 48)
        put(c20, 2, 0); put(c21, 2, 16); put(c22, 2, 32); put(c23, 2, 48)
        put(c30, 3, 0); put(c31, 3, 16); put(c32, 3, 32); put(c33, 3, 48)
        put(c40, 4, 0); put(c41, 4, 16); put(c42, 4, 32); put(c43, 4, 48)
        put(c50, 5, 0); put(c51, 5, 16); put(c52, 5, 32); put(c53, 5, 48)
    }
}

extension MatmulKernel.TileSize { static var P: Bool { false } }

/// The one catalogue of op cases (ggml's test-backend-ops in Swift): a fixed sweep over shapes —
/// 1, primes, sizes that are no multiple of any tile, large K, batch 1 and many, subnormal and
/// special inputs — and any number of extra cases with shapes drawn from a seed. `recur verify`
/// and the test suite both run it on the CPU and on another device and compare bits.
public enum OpCatalogue {
    /// Every op name the catalogue covers (`recur verify` reports each).
    public static var ops: [String] {
        var seen: [String] = []
        for c in fixed where !seen.contains(c.op) { seen.append(c.op) }
        return seen
    }

    /// The fixed sweep.
    public static let fixed: [OpCase] = {
        var cases: [OpCase] = []
        let shapes: [(Int, Int, Int)] = [(1, 1, 1), (1, 17, 5), (7, 13, 31), (16, 16, 16), (33, 47, 129), (64, 65, 300), (5, 3, 1031)]
        for (m, n, k) in shapes {
            cases.append(matmul(MatmulShape(m: m, n: n, k: k), start: 0))
        }
        cases += [
            matmul(MatmulShape(m: 19, n: 37, k: 23, transA: true), start: 1),
            matmul(MatmulShape(m: 19, n: 37, k: 23, transB: true), start: 2),
            matmul(MatmulShape(m: 11, n: 18, k: 29, transA: true, transB: true), start: 0),
            matmul(MatmulShape(batch: 6, m: 9, n: 21, k: 17), start: 2),
            matmul(MatmulShape(batch: 5, m: 8, n: 40, k: 12, strideB: 0), start: 1),
            matmul(MatmulShape(batch: 3, m: 4, n: 20, k: 7, transB: true, strideA: 0), start: 0),
            matmul(MatmulShape(m: 6, n: 10, k: 9, lda: 12, ldb: 11, ldc: 13), start: 1),
            matmul(MatmulShape(m: 23, n: 33, k: 41), start: 0, special: true),
            // B packed once (the recurrent step products): per-group and shared-panel paths, partial panels, k-blocks.
            matmul(MatmulShape(m: 13, n: 200, k: 300), start: 1, packed: true),
            matmul(MatmulShape(m: 140, n: 70, k: 130, transB: true), start: 2, packed: true),
            matmul(MatmulShape(batch: 3, m: 5, n: 65, k: 129, strideB: 0), start: 0, special: true, packed: true),
            // Bᵀ read as stored on CPU-type OpenCL devices (matmul_rb_bt): blocks shifted inside C, A transposed or as stored.
            matmul(MatmulShape(batch: 2, m: 33, n: 45, k: 30, transB: true), start: 2),
            matmul(MatmulShape(m: 70, n: 9, k: 17, transA: true, transB: true), start: 1, special: true),
        ]
        cases += conv(Conv1DShape(batch: 1, inChannels: 1, outChannels: 1, length: 1, kernel: 1))
        cases += conv(Conv1DShape(batch: 3, inChannels: 5, outChannels: 7, length: 29, kernel: 3, padding: 1))
        cases += conv(Conv1DShape(batch: 2, inChannels: 4, outChannels: 6, length: 31, kernel: 5, stride: 2, padding: 3, dilation: 2))
        cases += conv(Conv1DShape(batch: 4, inChannels: 16, outChannels: 9, length: 50, kernel: 4, stride: 3), special: true)
        // Stride 1 (packed products on the CPU): several row groups, panels, k-blocks and batch boundaries.
        // (Kept small: the whole catalogue also runs under oclgrind.)
        cases += conv(Conv1DShape(batch: 1, inChannels: 27, outChannels: 130, length: 70, kernel: 5))
        cases += conv(Conv1DShape(batch: 2, inChannels: 9, outChannels: 70, length: 80, kernel: 4, padding: 2, dilation: 2), special: true)
        // OpenCL blocked kernels: blocks shifted inside rows/columns (33 = 32 + 1), edge columns, x transposed for dW.
        cases += conv(Conv1DShape(batch: 2, inChannels: 33, outChannels: 10, length: 45, kernel: 3, padding: 2))
        cases += pool(PoolShape(batch: 1, channels: 1, length: 1, window: 1))
        cases += pool(PoolShape(batch: 3, channels: 5, length: 23, window: 23))
        cases += pool(PoolShape(batch: 2, channels: 7, length: 30, window: 4, stride: 3))
        cases += pool(PoolShape(batch: 2, channels: 3, length: 17, window: 3, stride: 3))
        cases += pool(PoolShape(batch: 2, channels: 5, length: 300, window: 100, stride: 40), special: true)
        cases += pool(PoolShape(batch: 4, channels: 3, length: 64, window: 64), special: true)
        cases += cells(batch: 1, hidden: 1)
        cases += cells(batch: 3, hidden: 37)
        cases += cells(batch: 8, hidden: 64, special: true)
        cases += edgeCases()
        cases += embedding(vocab: 1, dim: 1, count: 1)
        cases += embedding(vocab: 11, dim: 13, count: 97)
        cases += tokenConv(TokenConvShape(batch: 1, length: 1, vocab: 1, filters: 1, kernel: 1))
        cases += tokenConv(TokenConvShape(batch: 3, length: 29, vocab: 11, filters: 37, kernel: 4), invalid: true)
        cases += tokenConv(TokenConvShape(batch: 2, length: 40, vocab: 7, filters: 64, kernel: 5))
        cases += elementwise(1)
        cases += elementwise(1000, special: true)
        cases += elementwise(4099)
        cases += loss(rows: 1, cols: 1)
        cases += loss(rows: 13, cols: 65, special: true)
        cases += loss(rows: 300, cols: 7)
        cases += optimizers(1)
        cases += optimizers(1031)
        return cases
    }()

    /// Products large enough for the CPU device to split them finely over threads (chunks of panels
    /// whose A a thread packs once for all of K ≤ 512 and reuses, K past that packed per k-block, row
    /// groups evened out over the threads, batches with their own B). Too slow for a simulator; the
    /// tests run them on the CPU at several thread counts and on the OpenCL device.
    public static let splits: [OpCase] = [
        matmul(MatmulShape(m: 64, n: 520, k: 400), start: 1, packed: true),
        matmul(MatmulShape(m: 20, n: 300, k: 700, transB: true), start: 2),
        matmul(MatmulShape(m: 1000, n: 150, k: 70), start: 0, special: true),
        matmul(MatmulShape(m: 700, n: 80, k: 600, transA: true), start: 2, packed: true),
        matmul(MatmulShape(batch: 3, m: 150, n: 100, k: 50), start: 1),
    ]

    /// The cases a cell kernel variant (`KernelTuning.Cells`) must pass: the fixed cell, elementwise and
    /// math-edge cases, and one more cell shape with special inputs.
    public static let cellVariants: [OpCase] =
        fixed.filter { ["lstm_forward", "lstm_backward", "gru_forward", "gru_backward", "unary"].contains($0.op) }
        + cells(batch: 4, hidden: 48, special: true)

    /// `count` matmul cases with shapes, transposes, batch strides and start modes drawn from `seed`
    /// (kernel variants and tuning candidates are checked on these).
    public static func randomMatmul(seed: UInt64, count: Int) -> [OpCase] {
        var rng = PhiloxStream(seed: seed, stream: 0x3A7)
        func dim(_ hi: Int) -> Int { [1, 2, 3, 5, 7, 13, 16, 17, 31, 32, 33, 64, 97, 127, 128, 129].filter { $0 <= hi }.randomElement(&rng) }
        return (0..<count).map { _ in
            let tA = rng.next() % 2 == 0, tB = rng.next() % 2 == 0
            let batch = dim(5), m = dim(129), n = dim(129), k = dim(129) + rng.int(in: 0...300)
            var s = MatmulShape(batch: batch, m: m, n: n, k: k, transA: tA, transB: tB)
            if batch > 1, rng.next() % 4 == 0 { s.strideB = 0 }   // one B for every batch entry
            return matmul(s, start: rng.int(in: 0...2), special: rng.next() % 3 == 0)
        }
    }

    /// `count` extra cases with shapes drawn from `seed`, cycling through the op families.
    public static func random(seed: UInt64, count: Int) -> [OpCase] {
        var rng = PhiloxStream(seed: seed, stream: 0x5A9E)
        func dim(_ hi: Int) -> Int { [1, 2, 3, 5, 7, 13, 16, 17, 31, 32, 33, 64, 97, 127, 128, 129].filter { $0 <= hi }.randomElement(&rng) }
        var cases: [OpCase] = []
        var family = 0
        while cases.count < count {
            switch family % 8 {
            case 0:
                let tA = rng.next() % 2 == 0, tB = rng.next() % 2 == 0
                cases.append(matmul(MatmulShape(batch: dim(5), m: dim(129), n: dim(129), k: dim(129) + rng.int(in: 0...300), transA: tA, transB: tB),
                                    start: rng.int(in: 0...2), special: rng.next() % 3 == 0))
            case 1:
                let k = dim(7), d = rng.int(in: 1...3), p = rng.int(in: 0...3)
                let t = max(dim(97), d * (k - 1) + 1)
                cases += conv(Conv1DShape(batch: dim(5), inChannels: dim(40), outChannels: dim(40), length: t, kernel: k,
                                          stride: max(1, rng.int(in: -1...3)), padding: p, dilation: d), special: rng.next() % 3 == 0)
            case 2:
                let t = dim(97), w = rng.int(in: 1...t)
                cases += pool(PoolShape(batch: dim(5), channels: dim(17), length: t, window: w, stride: rng.int(in: 1...max(1, w))))
            case 3: cases += cells(batch: dim(33), hidden: dim(129), special: rng.next() % 2 == 0)
            case 4:
                cases += embedding(vocab: dim(97), dim: dim(64), count: dim(129) * dim(5))
                let t = dim(97)
                cases += tokenConv(TokenConvShape(batch: dim(5), length: t, vocab: dim(97), filters: dim(129), kernel: rng.int(in: 1...min(7, t))),
                                   invalid: rng.next() % 4 == 0)
            case 5: cases += elementwise(dim(129) * dim(129), special: rng.next() % 2 == 0)
            case 6: cases += loss(rows: dim(129), cols: dim(129), special: rng.next() % 2 == 0)
            default: cases += optimizers(dim(129) * dim(33))
            }
            family += 1
        }
        return Array(cases.prefix(count))
    }
}

extension Array {
    func randomElement(_ rng: inout PhiloxStream) -> Element { self[Int(rng.next() % UInt32(count))] }
}

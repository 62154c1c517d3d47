import Foundation
import Recur
import Testing

/// Forward results against the Double references: the fp32 ops must be accurate, not only identical.
@Suite struct ReferenceTests {
    let host = Host()

    func close(_ got: [Float], _ want: [Double], tolerance: Double, _ what: String) {
        #expect(got.count == want.count)
        var worst = 0.0
        for (g, w) in zip(got, want) { worst = max(worst, abs(Double(g) - w) / max(1, abs(w))) }
        #expect(worst <= tolerance, "\(what): worst relative error \(worst)")
    }

    @Test func matmulForward() throws {
        let (m, n, k) = (17, 29, 300)
        let a = randoms(m * k, seed: 1), b = randoms(k * n, seed: 2)
        let c = try host.zeros(m * n)
        try host.d.matmul(MatmulShape(m: m, n: n, k: k), a: try host.up(a), b: try host.up(b), c: c)
        close(try host.down(c), Ref.matmul(m: m, n: n, k: k, a: a.map(Double.init), b: b.map(Double.init)), tolerance: 1e-5, "matmul")
    }

    @Test(arguments: [Conv1DShape(batch: 2, inChannels: 3, outChannels: 4, length: 20, kernel: 3, padding: 1),
                      Conv1DShape(batch: 1, inChannels: 5, outChannels: 2, length: 33, kernel: 4, stride: 2, padding: 2, dilation: 3)])
    func conv1dForward(_ s: Conv1DShape) throws {
        let x = randoms(s.batch * s.inChannels * s.length, seed: 3), w = randoms(s.outChannels * s.inChannels * s.kernel, seed: 4)
        let b = randoms(s.outChannels, seed: 5), y = try host.zeros(s.batch * s.outChannels * s.outLength)
        try host.d.conv1dForward(s, x: try host.up(x), w: try host.up(w), bias: try host.up(b), y: y)
        close(try host.down(y), Ref.conv(s, x: x.map(Double.init), w: w.map(Double.init), b: b.map(Double.init)), tolerance: 1e-6, "conv1d")
    }

    /// The softmax's row maximum is NUMERICS rule 6's (the first NaN, else the first of the values
    /// equal to the maximum, so −0 before +0 stays −0): rows of 33, 48 and 65 columns with ±0 maxima,
    /// NaNs early and late, infinities, and plain rows; the stats' maximum against a scalar scan,
    /// bit for bit, on the CPU device (16 lanes at a time where that decides) and OpenCL when present.
    @Test(arguments: [33, 48, 65])
    func softmaxRowMaximum(_ cols: Int) throws {
        let nan = Float(bitPattern: 0x7fc0_1234)
        var rows: [[Float]] = []
        let plain = randoms(cols, -8, 8, seed: 11)
        rows.append(plain)
        rows.append(plain.map { -abs($0) - 1 } .enumerated().map { $0.offset == 3 ? -0.0 : $0.offset == 40 % cols ? 0 : $0.element })
        rows.append(plain.map { -abs($0) - 1 } .enumerated().map { $0.offset == 5 ? 0 : $0.offset == cols - 1 ? -0.0 : $0.element })
        rows.append(plain.map { -abs($0) - 1 } .enumerated().map { $0.offset == 7 ? -0.0 : $0.offset == 18 ? 0 : $0.element })   // +0 in an earlier lane
        rows.append(plain.enumerated().map { $0.offset == cols - 1 ? nan : $0.element })
        rows.append(plain.enumerated().map { $0.offset == 20 ? -nan : $0.offset == 30 ? nan : $0.element })
        rows.append(plain.enumerated().map { $0.offset == 17 ? .infinity : $0.element })
        rows.append(plain.enumerated().map { $0.offset == 2 ? -.infinity : $0.element })
        rows.append([Float](repeating: -.infinity, count: cols))
        rows.append(plain.enumerated().map { $0.offset == cols - 1 ? 9 : $0.element })   // the maximum in the scalar tail
        var devices = [Device.cpu(threads: 1)]
        if let ocl = TestDevices.openCL() { devices.append(ocl) }
        for d in devices {
            let logits = try d.buffer(rows.flatMap { $0 }).view, targets = try d.buffer([Int32](repeating: 1, count: rows.count)).view
            let losses = try d.allocate(rows.count).view, stats = try d.allocate(2 * rows.count).view
            try d.softmaxCrossEntropy(rows: rows.count, cols: cols, logits: logits, targets: targets, losses: losses, stats: stats)
            let got = try d.download(stats)
            for (r, row) in rows.enumerated() {
                var want = row[0]
                for x in row.dropFirst() where x > want || (x.isNaN && !want.isNaN) { want = x }
                #expect(got[2 * r].bitPattern == want.bitPattern, "\(d.info.selector) row \(r) of \(cols): \(got[2 * r]) vs \(want)")
            }
        }
    }

    @Test func maxPoolForward() throws {
        let s = PoolShape(batch: 2, channels: 3, length: 17, window: 4, stride: 3), x = randoms(2 * 3 * 17, seed: 6)
        let y = try host.zeros(6 * s.outLength), am = try host.zeros(6 * s.outLength)
        try host.d.maxPoolForward(s, x: try host.up(x), y: y, argmax: am)
        close(try host.down(y), Ref.pool(s, x: x.map(Double.init)), tolerance: 0, "maxpool")
    }

    @Test func lstmForward() throws {
        let (b, h) = (3, 23), g = randoms(4 * b * h, -4, 4, seed: 7), cp = randoms(b * h, -2, 2, seed: 8)
        let act = try host.zeros(4 * b * h), c = try host.zeros(b * h), hv = try host.zeros(b * h)
        try host.d.lstmForward(batch: b, hidden: h, gates: try host.up(g), cPrev: try host.up(cp), act: act, c: c, h: hv)
        let (rc, rh) = Ref.lstm(batch: b, hidden: h, gates: g.map(Double.init), cPrev: cp.map(Double.init))
        close(try host.down(c), rc, tolerance: 3e-7, "lstm c")
        close(try host.down(hv), rh, tolerance: 3e-7, "lstm h")
    }

    @Test func gruForward() throws {
        let (b, h) = (4, 19), gi = randoms(3 * b * h, -3, 3, seed: 9), gh = randoms(3 * b * h, -3, 3, seed: 10), hp = randoms(b * h, seed: 11)
        let act = try host.zeros(4 * b * h), out = try host.zeros(b * h)
        try host.d.gruForward(batch: b, hidden: h, gi: try host.up(gi), gh: try host.up(gh), hPrev: try host.up(hp), act: act, h: out)
        close(try host.down(out), Ref.gru(batch: b, hidden: h, gi: gi.map(Double.init), gh: gh.map(Double.init), hPrev: hp.map(Double.init)),
              tolerance: 3e-7, "gru h")
    }

    @Test func rnnForward() throws {
        let pre = randoms(200, -4, 4, seed: 12), h = try host.zeros(200), r = try host.zeros(200)
        try host.d.rnnForward(.tanh, pre: try host.up(pre), h: h)
        try host.d.rnnForward(.relu, pre: try host.up(pre), h: r)
        close(try host.down(h), pre.map { Foundation.tanh(Double($0)) }, tolerance: 2e-7, "rnn tanh")
        close(try host.down(r), pre.map { max(0, Double($0)) }, tolerance: 0, "rnn relu")
    }

    @Test func softmaxCrossEntropyForward() throws {
        let (rows, cols) = (37, 65), x = randoms(rows * cols, -6, 6, seed: 13)
        let t = (0..<rows).map { Int32(($0 * 7) % cols) }
        let l = try host.zeros(rows), st = try host.zeros(2 * rows), mean = try host.zeros(1)
        try host.d.softmaxCrossEntropy(rows: rows, cols: cols, logits: try host.up(x), targets: try host.up(t), losses: l, stats: st)
        try host.d.mean(l, out: mean)
        let want = Ref.xent(rows: rows, cols: cols, logits: x.map(Double.init), targets: t.map(Int.init))
        close(try host.down(mean), [want], tolerance: 1e-6, "xent mean")
    }

    /// The folded text-CNN path: table = E·W_catᵀ (one matmul), then the token convolution, against
    /// conv1d of the embedded tokens in Double; and the backward's per-token sums against a brute-force sum.
    @Test func tokenConv() throws {
        let s = TokenConvShape(batch: 3, length: 23, vocab: 9, filters: 20, kernel: 4), C = 6, KF = s.kernel * s.filters
        let e = randoms(s.vocab * C, seed: 14), w = randoms(s.filters * C * s.kernel, seed: 15), bias = randoms(s.filters, seed: 16)
        let ids = (0..<(s.batch * s.length)).map { Int32(($0 * 5 + $0 / 7) % s.vocab) }
        // W_cat (K·F, C): tap k of filter o at row k·F + o
        let wcat = (0..<(KF * C)).map { i in w[((i / C) % s.filters) * C * s.kernel + (i % C) * s.kernel + i / C / s.filters] }
        let table = try host.zeros(s.vocab * KF), y = try host.zeros(s.batch * s.outLength * s.filters)
        try host.d.matmul(MatmulShape(m: s.vocab, n: KF, k: C, transB: true), a: try host.up(e), b: try host.up(wcat), c: table)
        try host.d.tokenConvForward(s, table: table, bias: try host.up(bias), tokens: try host.up(ids), y: y)
        let x = (0..<(s.batch * C * s.length)).map { i in Double(e[Int(ids[(i / (C * s.length)) * s.length + i % s.length]) * C + (i / s.length) % C]) }
        let conv = Ref.conv(Conv1DShape(batch: s.batch, inChannels: C, outChannels: s.filters, length: s.length, kernel: s.kernel),
                            x: x, w: w.map(Double.init), b: bias.map(Double.init))   // (B, F, T_out)
        let want = (0..<(s.batch * s.outLength * s.filters)).map { i in
            conv[(i / (s.outLength * s.filters)) * s.filters * s.outLength + (i % s.filters) * s.outLength + (i / s.filters) % s.outLength]
        }
        close(try host.down(y), want, tolerance: 1e-5, "token conv forward")

        let dy = randoms(s.batch * s.outLength * s.filters, seed: 17), sums = try host.zeros(s.vocab * KF)
        try host.d.tokenConvBackward(s, dy: try host.up(dy), tokens: try host.up(ids), sums: sums)
        var brute = [Double](repeating: 0, count: s.vocab * KF)
        for b in 0..<s.batch { for t in 0..<s.outLength { for k in 0..<s.kernel { for o in 0..<s.filters {
            brute[Int(ids[b * s.length + t + k]) * KF + k * s.filters + o] += Double(dy[(b * s.outLength + t) * s.filters + o])
        } } } }
        close(try host.down(sums), brute, tolerance: 1e-5, "token conv backward")
    }
}

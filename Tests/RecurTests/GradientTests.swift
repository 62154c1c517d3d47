import Foundation
import Recur
import Testing

/// Every backward op on the CPU device against central finite differences of the Double
/// references. Each loss is L = Σ w ⊙ y with random weights w fed to the backward as dy.
@Suite struct GradientTests {
    let host = Host()

    /// Compares `analytic` with (L(x + h) − L(x − h)) / 2h at up to 60 spread indices.
    func check(_ name: String, _ x: [Float], _ analytic: [Float], h: Double = 1e-4, tolerance: Double = 2e-3,
               _ loss: ([Double]) -> Double) {
        #expect(x.count == analytic.count, "\(name): gradient has \(analytic.count) elements for \(x.count) inputs")
        var xd = x.map(Double.init)
        let step = max(1, x.count / 60)
        for i in stride(from: 0, to: x.count, by: step) {
            let o = xd[i]
            xd[i] = o + h; let up = loss(xd)
            xd[i] = o - h; let down = loss(xd)
            xd[i] = o
            let fd = (up - down) / (2 * h)
            #expect(abs(fd - Double(analytic[i])) <= tolerance * max(1, abs(fd)), "\(name)[\(i)]: analytic \(analytic[i]), finite difference \(fd)")
        }
    }

    func dot(_ w: [Float], _ y: [Double]) -> Double { zip(w, y).reduce(0) { $0 + Double($1.0) * $1.1 } }

    @Test func matmul() throws {
        let (m, n, k) = (7, 9, 11)
        let a = randoms(m * k, seed: 1), b = randoms(k * n, seed: 2), w = randoms(m * n, seed: 3)
        let da = try host.zeros(m * k), db = try host.zeros(k * n)
        // dA = W·Bᵀ, dB = Aᵀ·W: the matmul backward is matmul with transposes.
        try host.d.matmul(MatmulShape(m: m, n: k, k: n, transB: true), a: try host.up(w), b: try host.up(b), c: da)
        try host.d.matmul(MatmulShape(m: k, n: n, k: m, transA: true), a: try host.up(a), b: try host.up(w), c: db)
        let ad = a.map(Double.init), bd = b.map(Double.init)
        check("matmul dA", a, try host.down(da)) { dot(w, Ref.matmul(m: m, n: n, k: k, a: $0, b: bd)) }
        check("matmul dB", b, try host.down(db)) { dot(w, Ref.matmul(m: m, n: n, k: k, a: ad, b: $0)) }
    }

    @Test(arguments: [Conv1DShape(batch: 2, inChannels: 3, outChannels: 4, length: 13, kernel: 3, padding: 1),
                      Conv1DShape(batch: 2, inChannels: 2, outChannels: 3, length: 17, kernel: 4, stride: 2, padding: 3, dilation: 2)])
    func conv1d(_ s: Conv1DShape) throws {
        let x = randoms(s.batch * s.inChannels * s.length, seed: 4), wt = randoms(s.outChannels * s.inChannels * s.kernel, seed: 5)
        let b = randoms(s.outChannels, seed: 6), w = randoms(s.batch * s.outChannels * s.outLength, seed: 7)
        let dx = try host.zeros(x.count), dw = try host.zeros(wt.count), db = try host.zeros(b.count)
        try host.d.conv1dBackwardData(s, dy: try host.up(w), w: try host.up(wt), dx: dx)
        try host.d.conv1dBackwardWeight(s, x: try host.up(x), dy: try host.up(w), dw: dw, db: db)
        let (xd, wd, bd) = (x.map(Double.init), wt.map(Double.init), b.map(Double.init))
        check("conv dx", x, try host.down(dx)) { dot(w, Ref.conv(s, x: $0, w: wd, b: bd)) }
        check("conv dw", wt, try host.down(dw)) { dot(w, Ref.conv(s, x: xd, w: $0, b: bd)) }
        check("conv db", b, try host.down(db)) { dot(w, Ref.conv(s, x: xd, w: wd, b: $0)) }
    }

    @Test(arguments: [PoolShape(batch: 2, channels: 3, length: 11, window: 11), PoolShape(batch: 1, channels: 4, length: 14, window: 4, stride: 2)])
    func maxPool(_ s: PoolShape) throws {
        let n = s.batch * s.channels, x = randoms(n * s.length, seed: 8), w = randoms(n * s.outLength, seed: 9)
        let y = try host.zeros(n * s.outLength), am = try host.zeros(n * s.outLength), dx = try host.zeros(x.count)
        let xv = try host.up(x)
        try host.d.maxPoolForward(s, x: xv, y: y, argmax: am)
        try host.d.maxPoolBackward(s, dy: try host.up(w), argmax: am, dx: dx)
        check("maxpool dx", x, try host.down(dx), h: 1e-6) { dot(w, Ref.pool(s, x: $0)) }
    }

    @Test func lstmCell() throws {
        let (b, h) = (3, 5), n = b * h
        let g = randoms(4 * n, -2, 2, seed: 10), cp = randoms(n, seed: 11), wh = randoms(n, seed: 12), wc = randoms(n, seed: 13)
        let act = try host.zeros(4 * n), c = try host.zeros(n), hv = try host.zeros(n), dg = try host.zeros(4 * n), dcp = try host.zeros(n)
        let cpv = try host.up(cp)
        try host.d.lstmForward(batch: b, hidden: h, gates: try host.up(g), cPrev: cpv, act: act, c: c, h: hv)
        try host.d.lstmBackward(batch: b, hidden: h, act: act, cPrev: cpv, c: c, dh: try host.up(wh), dcNext: try host.up(wc), dGates: dg, dcPrev: dcp)
        let gd = g.map(Double.init), cpd = cp.map(Double.init)
        func loss(_ gates: [Double], _ cPrev: [Double]) -> Double {
            let (cc, hh) = Ref.lstm(batch: b, hidden: h, gates: gates, cPrev: cPrev)
            return dot(wh, hh) + dot(wc, cc)
        }
        check("lstm dGates", g, try host.down(dg)) { loss($0, cpd) }
        check("lstm dcPrev", cp, try host.down(dcp)) { loss(gd, $0) }
    }

    @Test func gruCell() throws {
        let (b, h) = (2, 6), n = b * h
        let gi = randoms(3 * n, -2, 2, seed: 14), gh = randoms(3 * n, -2, 2, seed: 15), hp = randoms(n, seed: 16), w = randoms(n, seed: 17)
        let act = try host.zeros(4 * n), out = try host.zeros(n), dgi = try host.zeros(3 * n), dgh = try host.zeros(3 * n), dhp = try host.zeros(n)
        let hpv = try host.up(hp)
        try host.d.gruForward(batch: b, hidden: h, gi: try host.up(gi), gh: try host.up(gh), hPrev: hpv, act: act, h: out)
        try host.d.gruBackward(batch: b, hidden: h, act: act, hPrev: hpv, dh: try host.up(w), dgi: dgi, dgh: dgh, dhPrev: dhp)
        let (gid, ghd, hpd) = (gi.map(Double.init), gh.map(Double.init), hp.map(Double.init))
        check("gru dgi", gi, try host.down(dgi)) { dot(w, Ref.gru(batch: b, hidden: h, gi: $0, gh: ghd, hPrev: hpd)) }
        check("gru dgh", gh, try host.down(dgh)) { dot(w, Ref.gru(batch: b, hidden: h, gi: gid, gh: $0, hPrev: hpd)) }
        check("gru dhPrev", hp, try host.down(dhp)) { dot(w, Ref.gru(batch: b, hidden: h, gi: gid, gh: ghd, hPrev: $0)) }
    }

    @Test(arguments: [RNNActivation.tanh, .relu])
    func rnnCell(_ a: RNNActivation) throws {
        let pre = randoms(40, -2, 2, seed: 18), w = randoms(40, seed: 19)
        let hv = try host.zeros(40), dp = try host.zeros(40)
        try host.d.rnnForward(a, pre: try host.up(pre), h: hv)
        try host.d.rnnBackward(a, h: hv, dh: try host.up(w), dPre: dp)
        check("rnn \(a)", pre, try host.down(dp), h: 1e-6) { dot(w, $0.map { a == .tanh ? Foundation.tanh($0) : max(0, $0) }) }
    }

    @Test(arguments: [UnaryOp.tanh, .sigmoid, .exp, .log, .relu])
    func unary(_ op: UnaryOp) throws {
        let x = randoms(50, 0.05, 2, seed: 20).enumerated().map { op == .relu && $0.offset % 2 == 0 ? -$0.element : $0.element }
        let w = randoms(50, seed: 21), y = try host.zeros(50), dx = try host.zeros(50)
        try host.d.unary(op, x: try host.up(x), y: y)
        try host.d.unaryBackward(op, saved: op == .relu || op == .log ? try host.up(x) : y, dy: try host.up(w), dx: dx)
        let f: (Double) -> Double = switch op {
        case .tanh: Foundation.tanh
        case .sigmoid: Ref.sigmoid
        case .exp: Foundation.exp
        case .log: Foundation.log
        default: { max(0, $0) }
        }
        check("unary \(op)", x, try host.down(dx), h: 1e-6) { dot(w, $0.map(f)) }
    }

    @Test func embedding() throws {
        let (v, d) = (7, 4), idx: [Int32] = [3, 0, 3, 6, 3, 1, 0], table = randoms(v * d, seed: 22), w = randoms(idx.count * d, seed: 23)
        let dt = try host.zeros(v * d)
        try host.d.embeddingBackward(vocab: v, dim: d, dOut: try host.up(w), indices: try host.up(idx), dTable: dt)
        check("embedding dTable", table, try host.down(dt)) { t in
            dot(w, idx.flatMap { i in (0..<d).map { t[Int(i) * d + $0] } })
        }
    }

    @Test func softmaxCrossEntropy() throws {
        let (rows, cols) = (5, 9), x = randoms(rows * cols, -3, 3, seed: 24), t: [Int32] = [0, 8, 3, 3, 5]
        let xv = try host.up(x), tv = try host.up(t), l = try host.zeros(rows), st = try host.zeros(2 * rows), dx = try host.zeros(x.count)
        try host.d.softmaxCrossEntropy(rows: rows, cols: cols, logits: xv, targets: tv, losses: l, stats: st)
        try host.d.softmaxCrossEntropyBackward(rows: rows, cols: cols, scale: 1 / Float(rows), logits: xv, targets: tv, stats: st, dLogits: dx)
        check("xent dLogits", x, try host.down(dx)) { Ref.xent(rows: rows, cols: cols, logits: $0, targets: t.map(Int.init)) }
    }

    @Test func meanSquaredError() throws {
        let p = randoms(30, seed: 25), t = randoms(30, seed: 26), pv = try host.up(p), tv = try host.up(t)
        let loss = try host.zeros(1), d = try host.zeros(30)
        try host.d.reduce(.squaredDifference, x: pv, y: tv, divisor: 30, out: loss)
        try host.d.binary(.sub, a: pv, b: tv, y: d)
        try host.d.unary(.scale, alpha: 2 / 30, x: d, y: d)
        func mse(_ x: [Double]) -> Double {
            var total = 0.0
            for i in 0..<30 { let e = x[i] - Double(t[i]); total += e * e }
            return total / 30
        }
        let got = Double(try host.down(loss)[0])
        #expect(abs(got - mse(p.map(Double.init))) < 1e-6)
        check("mse dPred", p, try host.down(d), mse)
    }

    @Test func dropout() throws {
        let x = randoms(64, seed: 27), w = randoms(64, seed: 28), dx = try host.zeros(64)
        try host.d.dropout(seed: 9, stream: 3, p: 0.4, x: try host.up(w), y: dx)   // the backward is the same call on dy
        let threshold = UInt32((0.4 * 16_777_216.0).rounded(.up))
        let scale: [Double] = (0..<64).map { i -> Double in
            Philox.bits(seed: 9, stream: 3, position: UInt32(i)) >> 8 >= threshold ? 1 / 0.6 : 0
        }
        check("dropout dx", x, try host.down(dx)) { xs -> Double in
            var total = 0.0
            for i in 0..<64 { total += Double(w[i]) * xs[i] * scale[i] }
            return total
        }
    }

    @Test("SGD and Adam steps follow PyTorch's update rules")
    func optimizerSteps() throws {
        let p = randoms(20, seed: 29), g = randoms(20, seed: 30)
        let pv = try host.up(p), vel = try host.zeros(20)
        try host.d.sgd(SGDParams(lr: 0.1, momentum: 0.9, weightDecay: 0.01, nesterov: true), param: pv, grad: try host.up(g), velocity: vel)
        let sgdWant = zip(p, g).map { pp, gg -> Double in
            let gr = Double(gg) + 0.01 * Double(pp); let v = gr; return Double(pp) - 0.1 * (gr + 0.9 * v)
        }
        for (got, want) in zip(try host.down(pv), sgdWant) { #expect(abs(Double(got) - want) < 1e-6) }

        let pa = try host.up(p), m = try host.zeros(20), v = try host.zeros(20), ga = try host.up(g)
        for step in 1...3 { try host.d.adam(AdamParams(lr: 0.01, weightDecay: 0.1, decoupled: true), step: step, param: pa, grad: ga, m: m, v: v) }
        var want = p.map(Double.init), mm = [Double](repeating: 0, count: 20), vv = mm
        for step in 1...3 {
            for i in 0..<20 {
                want[i] *= 1 - 0.01 * 0.1
                mm[i] = 0.9 * mm[i] + 0.1 * Double(g[i]); vv[i] = 0.999 * vv[i] + 0.001 * Double(g[i]) * Double(g[i])
                let mh = mm[i] / (1 - pow(0.9, Double(step))), vh = vv[i] / (1 - pow(0.999, Double(step)))
                want[i] -= 0.01 * mh / (vh.squareRoot() + 1e-8)
            }
        }
        for (got, w) in zip(try host.down(pa), want) { #expect(abs(Double(got) - w) < 1e-5) }
    }
}

import Foundation
import Recur

/// Independent Double-precision references of the forward ops, written from the textbook formulas
/// (not from Recur's code): used for forward accuracy and as the function finite differences probe.
enum Ref {
    static func sigmoid(_ x: Double) -> Double { 1 / (1 + Foundation.exp(-x)) }

    static func conv(_ s: Conv1DShape, x: [Double], w: [Double], b: [Double]) -> [Double] {
        var y = [Double](repeating: 0, count: s.batch * s.outChannels * s.outLength)
        for bi in 0..<s.batch { for o in 0..<s.outChannels { for t in 0..<s.outLength {
            var acc = b[o]
            for c in 0..<s.inChannels { for k in 0..<s.kernel {
                let i = t * s.stride - s.padding + k * s.dilation
                if i >= 0 && i < s.length { acc += w[(o * s.inChannels + c) * s.kernel + k] * x[(bi * s.inChannels + c) * s.length + i] }
            } }
            y[(bi * s.outChannels + o) * s.outLength + t] = acc
        } } }
        return y
    }

    static func pool(_ s: PoolShape, x: [Double]) -> [Double] {
        var y: [Double] = []
        for bc in 0..<(s.batch * s.channels) { for t in 0..<s.outLength {
            y.append((0..<s.window).map { x[bc * s.length + t * s.stride + $0] }.max()!)
        } }
        return y
    }

    /// LSTM cell, PyTorch gate order i, f, g, o. Returns (c, h).
    static func lstm(batch: Int, hidden h: Int, gates: [Double], cPrev: [Double]) -> ([Double], [Double]) {
        var c = [Double](), hs = [Double]()
        for b in 0..<batch { for j in 0..<h {
            let g = { (k: Int) in gates[b * 4 * h + k * h + j] }
            let cn = sigmoid(g(1)) * cPrev[b * h + j] + sigmoid(g(0)) * Foundation.tanh(g(2))
            c.append(cn); hs.append(sigmoid(g(3)) * Foundation.tanh(cn))
        } }
        return (c, hs)
    }

    /// GRU cell, PyTorch's formula: n = tanh(gi_n + r ⊙ gh_n), h' = (1 − z) ⊙ n + z ⊙ h.
    static func gru(batch: Int, hidden h: Int, gi: [Double], gh: [Double], hPrev: [Double]) -> [Double] {
        var out = [Double]()
        for b in 0..<batch { for j in 0..<h {
            let i = { (k: Int) in gi[b * 3 * h + k * h + j] }, r0 = { (k: Int) in gh[b * 3 * h + k * h + j] }
            let r = sigmoid(i(0) + r0(0)), z = sigmoid(i(1) + r0(1)), n = Foundation.tanh(i(2) + r * r0(2))
            out.append((1 - z) * n + z * hPrev[b * h + j])
        } }
        return out
    }

    /// Mean softmax cross-entropy over rows.
    static func xent(rows: Int, cols: Int, logits: [Double], targets: [Int]) -> Double {
        var total = 0.0
        for r in 0..<rows {
            let row = Array(logits[(r * cols)..<((r + 1) * cols)]), m = row.max()!
            total += Foundation.log(row.map { Foundation.exp($0 - m) }.reduce(0, +)) + m - row[targets[r]]
        }
        return total / Double(rows)
    }

    static func matmul(m: Int, n: Int, k: Int, a: [Double], b: [Double]) -> [Double] {
        (0..<(m * n)).map { e in (0..<k).reduce(0.0) { $0 + a[(e / n) * k + $1] * b[$1 * n + e % n] } }
    }
}

/// Runs `body` on a fresh CPU device with uploaded inputs and returns the downloaded outputs.
struct Host {
    let d = Device.cpu()
    func up(_ x: [Float]) throws -> View { try d.buffer(x).view }
    func up(_ x: [Int32]) throws -> View { try d.buffer(x).view }
    func zeros(_ n: Int) throws -> View { let v = try d.allocate(n).view; try d.fill(v, 0); return v }
    func down(_ v: View) throws -> [Float] { try d.download(v) }
}

/// Deterministic random floats for tests.
func randoms(_ n: Int, _ lo: Float = -1, _ hi: Float = 1, seed: UInt64) -> [Float] {
    var rng = PhiloxStream(seed: seed, stream: 42)
    return (0..<n).map { _ in rng.float(lo, hi) }
}

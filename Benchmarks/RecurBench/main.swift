import Dispatch
import Foundation
import Recur

// Benchmarks and long measurements that do not belong in the test suite.
//   RecurBench math-sweep   max error of the portable math against Double over all 2^32 inputs
//   RecurBench cells [D]    the LSTM cell's time next to its step's matmul (CPU device with one thread,
//                           or device D: opencl, opencl:N, cpu)
let args = CommandLine.arguments.dropFirst()
switch args.first {
case "math-sweep":
    MathSweep.run()
case "cells":
    try CellTiming.run(device: args.dropFirst().first)
default:
    print("usage: RecurBench math-sweep | cells")
}

enum MathSweep {
    static func ulpError(_ got: Float, _ exact: Double) -> Double {
        if exact.isNaN { return got.isNaN ? 0 : .infinity }
        let rounded = Float(exact)
        if rounded.isInfinite { return got == rounded ? 0 : .infinity }
        return abs(Double(got) - exact) / Double(rounded.magnitude.ulp)
    }

    static func run() {
        let functions: [(String, @Sendable (Float) -> Float, @Sendable (Double) -> Double)] = [
            ("exp", PortableMath.exp, { Foundation.exp($0) }),
            ("log", PortableMath.log, { $0 < 0 ? .nan : Foundation.log($0) }),
            ("sigmoid", PortableMath.sigmoid, { 1 / (1 + Foundation.exp(-$0)) }),
            ("tanh", PortableMath.tanh, { Foundation.tanh($0) }),
        ]
        for (name, f, ref) in functions {
            let parts = 64
            nonisolated(unsafe) let worst = UnsafeMutablePointer<(Double, UInt32)>.allocate(capacity: parts)
            worst.initialize(repeating: (0, 0), count: parts)
            DispatchQueue.concurrentPerform(iterations: parts) { p in
                let lo = UInt64(p) << 26, hi = UInt64(p + 1) << 26
                var w = (0.0, UInt32(0))
                for b in lo..<hi {
                    let x = Float(bitPattern: UInt32(b))
                    if x.isNaN { continue }
                    let e = ulpError(f(x), ref(Double(x)))
                    if e > w.0 { w = (e, UInt32(b)) }
                }
                worst[p] = w
            }
            let m = (0..<parts).map { worst[$0] }.max { $0.0 < $1.0 }!
            print("\(name): max error \(String(format: "%.3f", m.0)) ulp at \(Float(bitPattern: m.1)) over all 2^32 inputs")
            worst.deallocate()
        }
    }
}

/// The LSTM cell alone next to its step's matmul (CPU device with one thread, or the device named;
/// b 64 × h 512: the big char model's step), best of many calls, five rounds: how much of a step the
/// portable exp/sigmoid/tanh cost, and the whole step as the recurrent layer runs it (product accumulating
/// into the gates, cell in place). Gate inputs spread over [-4, 4), so both sides of every branch occur.
enum CellTiming {
    /// The best and the median of n timed calls of f on d, in ms (a bimodal device shows in the median).
    static func time(_ d: Device, _ n: Int, _ f: () throws -> Void) throws -> (best: Double, median: Double) {
        var times: [Double] = []
        for _ in 0..<n {
            let t0 = DispatchTime.now().uptimeNanoseconds
            try f()
            try d.synchronize()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
        }
        times.sort()
        return (times[0], times[times.count / 2])
    }

    static func run(device name: String?) throws {
        let d = try name.map { try Devices.select($0).device } ?? Device.cpu(threads: 1)
        print("device: \(d.info.selector) \(d.info.name)")
        let (b, h) = (64, 512)
        let step = MatmulShape(m: b, n: 4 * h, k: h)
        let g = try d.allocate(b * 4 * h), act = try d.allocate(b * 4 * h), w = try d.allocate(4 * h * h)
        let cPrev = try d.allocate(b * h), c = try d.allocate(b * h), hOut = try d.allocate(b * h), dcPrev = try d.allocate(b * h)
        for v in [g, cPrev] { try d.upload((0..<v.count).map { Float($0 % 97) / 12 - 4 }, to: v.view) }
        // |w| ≤ 1/16: h·W stays O(1) over repeated steps (large gates saturate exp into subnormals, which slow every op)
        try d.upload((0..<w.count).map { (Float($0 % 89) / 11 - 4) / 64 }, to: w.view)
        let gates = try d.download(g.view)
        print("ms, best of 200 (cells) / 50 (matmul) calls, then the medians:")
        for _ in 0..<5 {
            try d.upload(gates, to: g.view)   // the backward and the product below overwrite g
            let forward = try time(d, 200) { try d.lstmForward(batch: b, hidden: h, gates: g.view, cPrev: cPrev.view, act: act.view, c: c.view, h: hOut.view) }
            let backward = try time(d, 200) {
                try d.lstmBackward(batch: b, hidden: h, act: act.view, cPrev: cPrev.view, c: c.view, dh: hOut.view, dcNext: nil, dGates: g.view, dcPrev: dcPrev.view)
            }
            let product = try time(d, 50) { try d.matmul(step, a: hOut.view, b: w.view, c: g.view) }
            let accumulating = try time(d, 50) { try d.matmul(step, a: hOut.view, b: w.view, c: act.view, start: .accumulate) }
            let inPlace = try time(d, 50) { try d.lstmForward(batch: b, hidden: h, gates: act.view, cPrev: cPrev.view, act: act.view, c: c.view, h: hOut.view) }
            let whole = try time(d, 50) {
                try d.matmul(step, a: hOut.view, b: w.view, c: act.view, start: .accumulate)
                try d.lstmForward(batch: b, hidden: h, gates: act.view, cPrev: cPrev.view, act: act.view, c: c.view, h: hOut.view)
            }
            for (label, pick) in [("best  ", \(best: Double, median: Double).best), ("median", \(best: Double, median: Double).median)] {
                let (f, i, bw, p, a, s) = (forward[keyPath: pick], inPlace[keyPath: pick], backward[keyPath: pick], product[keyPath: pick],
                                           accumulating[keyPath: pick], whole[keyPath: pick])
                print(String(format: "%@ cell forward %.3f (in place %.3f)  cell backward %.3f  matmul %dx%dx%d %.3f, accumulating %.3f  "
                             + "(cell forward ÷ matmul %.2f)  step (accumulate, cell) %.3f (matmul ÷ step %.2f)",
                             label, f, i, bw, b, 4 * h, h, p, a, f / p, s, p / s))
            }
        }
    }
}

import Dispatch
import Foundation
import Recur

// Benchmarks and long measurements that do not belong in the test suite.
//   recur-bench math-sweep   max error of the portable math against Double over all 2^32 inputs
let args = CommandLine.arguments.dropFirst()
switch args.first {
case "math-sweep":
    MathSweep.run()
default:
    print("usage: RecurBench math-sweep")
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

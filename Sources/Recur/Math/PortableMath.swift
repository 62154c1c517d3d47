// The portable transcendental functions of NUMERICS.md rule 4. Kernels/common.cl holds the same
// operations in the same order in OpenCL C; `Tests/RecurTests/PortableMathTests.swift` asserts that
// both give the same bits and measures the error against Double.

/// `fma(a, b, c)`: one rounding of `a*b + c` (NUMERICS rule 1).
@inline(__always) @usableFromInline
func fusedMultiplyAdd(_ a: Float, _ b: Float, _ c: Float) -> Float { c.addingProduct(a, b) }

/// The portable math of Recur: exp, log, sigmoid and tanh that give identical bits on every device.
///
/// Contract (asserted by the tests): NaN in, NaN out; `exp` overflows to +inf above ~88.72 and
/// flushes to +0 below ~-103.97 with gradual underflow in between; `tanh(±0) = ±0`, `tanh(±inf) = ±1`;
/// `log(x < 0) = NaN`, `log(±0) = -inf`, `log(+inf) = +inf`. Maximum error against Double,
/// measured over all 2^32 inputs: see `PortableMath.documentedMaxUlp`.
public enum PortableMath {
    /// Upper bounds on the error in ulp asserted by the tests. Measured over all 2^32 inputs
    /// (`RecurBench math-sweep`, docs/NUMERICS.md): exp 0.939, log 1.968, sigmoid 2.402, tanh 1.432.
    public static let documentedMaxUlp: [String: Double] = ["exp": 1.0, "log": 2.0, "sigmoid": 2.5, "tanh": 1.5]

    /// e^x: Cody–Waite reduction, round-to-integer via 1.5·2^23, degree-7 Horner polynomial with fma,
    /// scaling by 2^k as two exact power-of-two multiplies.
    @inlinable
    public static func exp(_ x: Float) -> Float {
        if x.isNaN { return x }
        if x > 0x1.62e42ep+6 { return .infinity }
        if x < -0x1.9fe368p+6 { return 0 }
        let t = fusedMultiplyAdd(x, 0x1.715476p+0, 0x1.8p23)
        let kf = t - 0x1.8p23
        var r = fusedMultiplyAdd(-kf, 0x1.62e400p-1, x)
        r = fusedMultiplyAdd(-kf, 0x1.7f7d1cp-20, r)
        var p: Float = 0x1.a01a02p-13
        p = fusedMultiplyAdd(p, r, 0x1.6c16c2p-10)
        p = fusedMultiplyAdd(p, r, 0x1.111112p-7)
        p = fusedMultiplyAdd(p, r, 0x1.555556p-5)
        p = fusedMultiplyAdd(p, r, 0x1.555556p-3)
        p = fusedMultiplyAdd(p, r, 0x1.000000p-1)
        p = fusedMultiplyAdd(p, r, 0x1.000000p+0)
        p = fusedMultiplyAdd(p, r, 0x1.000000p+0)
        let k = Int32(kf)
        let k1 = k >> 1
        let k2 = k - k1
        let s1 = Float(bitPattern: UInt32(bitPattern: (k1 + 127) << 23))
        let s2 = Float(bitPattern: UInt32(bitPattern: (k2 + 127) << 23))
        return (p * s1) * s2
    }

    /// Natural logarithm: x = 2^e·m with m in [√½, √2), log(m) = 2·atanh(f/(2+f)) by an odd series.
    @inlinable
    public static func log(_ x: Float) -> Float {
        if x.isNaN { return x }
        if x < 0 { return Float(bitPattern: 0x7fc0_0000) }
        if x == 0 { return -.infinity }
        if x == .infinity { return x }
        var bits = x.bitPattern
        var e: Int32 = 0
        if bits < 0x0080_0000 {
            bits = (x * 0x1p23).bitPattern
            e = -23
        }
        e += Int32(bitPattern: bits >> 23) - 127
        var m = Float(bitPattern: (bits & 0x007f_ffff) | 0x3f80_0000)
        if m > 0x1.6a09e6p+0 {
            m = m * 0.5
            e += 1
        }
        let f = m - 1
        let s = f / (2 + f)
        let z = s * s
        var p: Float = 0x1.745d18p-4
        p = fusedMultiplyAdd(p, z, 0x1.c71c72p-4)
        p = fusedMultiplyAdd(p, z, 0x1.24924ap-3)
        p = fusedMultiplyAdd(p, z, 0x1.99999ap-3)
        p = fusedMultiplyAdd(p, z, 0x1.555556p-2)
        let s2 = s + s
        let r = fusedMultiplyAdd(s2, z * p, s2)
        let ef = Float(e)
        return fusedMultiplyAdd(ef, 0x1.62e400p-1, fusedMultiplyAdd(ef, 0x1.7f7d1cp-20, r))
    }

    /// 1 / (1 + exp(−x)) for x ≥ 0, and e / (1 + e) with e = exp(x) below, so that tiny results keep
    /// their relative accuracy instead of flushing to 0 when exp(−x) overflows.
    @inlinable
    public static func sigmoid(_ x: Float) -> Float {
        if x >= 0 { return 1 / (1 + exp(-x)) }
        let e = exp(x)
        return e / (1 + e)
    }

    /// tanh of |x| — odd Taylor polynomial (to x^19) below 0.6, else 1 − 2/(exp(2|x|)+1) — with the sign of x restored.
    @inlinable
    public static func tanh(_ x: Float) -> Float {
        let a = Float(bitPattern: x.bitPattern & 0x7fff_ffff)
        let r: Float
        if a < 0.6 {
            let x2 = a * a
            var p: Float = -0x1.f57d78p-13
            p = fusedMultiplyAdd(p, x2, 0x1.355824p-11)
            p = fusedMultiplyAdd(p, x2, -0x1.7da364p-10)
            p = fusedMultiplyAdd(p, x2, 0x1.d6d3d0p-9)
            p = fusedMultiplyAdd(p, x2, -0x1.226e36p-7)
            p = fusedMultiplyAdd(p, x2, 0x1.664f48p-6)
            p = fusedMultiplyAdd(p, x2, -0x1.ba1ba2p-5)
            p = fusedMultiplyAdd(p, x2, 0x1.111112p-3)
            p = fusedMultiplyAdd(p, x2, -0x1.555556p-2)
            r = fusedMultiplyAdd(a * x2, p, a)
        } else {
            let e = exp(a + a)
            r = 1 - 2 / (e + 1)
        }
        return Float(bitPattern: r.bitPattern | (x.bitPattern & 0x8000_0000))
    }
}

/// The portable math on 16 lanes at once: the same operations in the same order as the scalar
/// functions, lane by lane, with the scalar branches turned into selects (both sides are computed,
/// the scalar's choice is kept). Every lane's bits equal the scalar function's for that input
/// (asserted by `PortableMathTests` over specials and a million random inputs).
extension PortableMath {
    /// 16 floats.
    public typealias Lanes = SIMD16<Float>
    /// 16 integers.
    public typealias IntLanes = SIMD16<Int32>

    @inlinable @inline(__always)
    static func fma(_ a: Lanes, _ b: Lanes, _ c: Lanes) -> Lanes { c.addingProduct(a, b) }

    /// `exp` of every lane; each lane's bits equal the scalar `exp`'s.
    @inlinable
    public static func exp(_ x: Lanes) -> Lanes {
        let nan = x .!= x, big = x .> 0x1.62e42ep+6, small = x .< -0x1.9fe368p+6
        let xs = x.replacing(with: 0, where: nan .| big .| small)   // in range for the integer conversion
        let t = fma(xs, Lanes(repeating: 0x1.715476p+0), Lanes(repeating: 0x1.8p23))
        let kf = t - 0x1.8p23
        var r = fma(-kf, Lanes(repeating: 0x1.62e400p-1), xs)
        r = fma(-kf, Lanes(repeating: 0x1.7f7d1cp-20), r)
        var p = Lanes(repeating: 0x1.a01a02p-13)
        p = fma(p, r, Lanes(repeating: 0x1.6c16c2p-10))
        p = fma(p, r, Lanes(repeating: 0x1.111112p-7))
        p = fma(p, r, Lanes(repeating: 0x1.555556p-5))
        p = fma(p, r, Lanes(repeating: 0x1.555556p-3))
        p = fma(p, r, Lanes(repeating: 0x1.000000p-1))
        p = fma(p, r, Lanes(repeating: 0x1.000000p+0))
        p = fma(p, r, Lanes(repeating: 0x1.000000p+0))
        // t = 1.5·2^23 + k exactly, so k sits in t's low mantissa bits: the same integer as Int32(kf),
        // without the (slow, generic) vector float-to-int conversion.
        let k = unsafeBitCast(t, to: IntLanes.self) &- IntLanes(repeating: Int32(bitPattern: Float(0x1.8p23).bitPattern))
        let k1 = k &>> 1, k2 = k &- k1
        let s1 = unsafeBitCast((k1 &+ 127) &<< 23, to: Lanes.self), s2 = unsafeBitCast((k2 &+ 127) &<< 23, to: Lanes.self)
        var y = (p * s1) * s2
        y.replace(with: .infinity, where: big)
        y.replace(with: 0, where: small)
        y.replace(with: x, where: nan)
        return y
    }

    /// `sigmoid` of every lane; each lane's bits equal the scalar `sigmoid`'s.
    @inlinable
    public static func sigmoid(_ x: Lanes) -> Lanes {
        let positive = x .>= 0
        let e = exp(x.replacing(with: -x, where: positive))   // exp(-x) where x ≥ 0, exp(x) elsewhere (NaN too)
        let one = Lanes(repeating: 1)
        return e.replacing(with: one, where: positive) / (one + e)   // 1 / (1 + e) or e / (1 + e): one division
    }

    /// `tanh` of every lane; each lane's bits equal the scalar `tanh`'s.
    @inlinable
    public static func tanh(_ x: Lanes) -> Lanes {
        let bits = unsafeBitCast(x, to: SIMD16<UInt32>.self)
        let a = unsafeBitCast(bits & 0x7fff_ffff, to: Lanes.self)
        let x2 = a * a
        var p = Lanes(repeating: -0x1.f57d78p-13)
        p = fma(p, x2, Lanes(repeating: 0x1.355824p-11))
        p = fma(p, x2, Lanes(repeating: -0x1.7da364p-10))
        p = fma(p, x2, Lanes(repeating: 0x1.d6d3d0p-9))
        p = fma(p, x2, Lanes(repeating: -0x1.226e36p-7))
        p = fma(p, x2, Lanes(repeating: 0x1.664f48p-6))
        p = fma(p, x2, Lanes(repeating: -0x1.ba1ba2p-5))
        p = fma(p, x2, Lanes(repeating: 0x1.111112p-3))
        p = fma(p, x2, Lanes(repeating: -0x1.555556p-2))
        let near = fma(a * x2, p, a)
        let e = exp(a + a)
        let far = Lanes(repeating: 1) - 2 / (e + 1)
        let r = far.replacing(with: near, where: a .< 0.6)
        return unsafeBitCast(unsafeBitCast(r, to: SIMD16<UInt32>.self) | (bits & 0x8000_0000), to: Lanes.self)
    }
}

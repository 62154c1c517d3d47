/// The portable math on 16 lanes at once: the same operations in the same order as the scalar
/// functions, lane by lane, with the scalar branches turned into selects (both sides are computed,
/// the scalar's choice is kept). Every lane's bits equal the scalar function's for that input
/// (asserted by `PortableMathTests` over specials and a million random inputs).
extension PortableMath {
    /// 16 floats.
    public typealias Lanes = SIMD16<Float>
    /// 16 integers.
    public typealias IntLanes = SIMD16<Int32>

    /// `a` where `m` is set, else `b`: bitwise, so that it compiles to one blend (the generic
    /// `replacing(with:where:)` is a lane-by-lane loop that LLVM splits into 4-lane pieces).
    @inlinable @inline(__always)
    static func choose(_ mi: IntLanes, _ a: Lanes, _ b: Lanes) -> Lanes {
        return unsafeBitCast((unsafeBitCast(a, to: IntLanes.self) & mi) | (unsafeBitCast(b, to: IntLanes.self) & ~mi), to: Lanes.self)
    }

    /// A comparison's lanes as all-ones / zero integers (bitwise logic on masks stays in vectors).
    @inlinable @inline(__always)
    static func bits(_ m: SIMDMask<IntLanes>) -> IntLanes { unsafeBitCast(m, to: IntLanes.self) }

    @inlinable @inline(__always)
    static func fma(_ a: Lanes, _ b: Lanes, _ c: Lanes) -> Lanes { c.addingProduct(a, b) }

    /// `exp` of every lane; each lane's bits equal the scalar `exp`'s.
    @inlinable @inline(__always)
    public static func exp(_ x: Lanes) -> Lanes {
        let nan = bits(x .!= x), big = bits(x .> 0x1.62e42ep+6), small = bits(x .< -0x1.9fe368p+6)
        let xs = choose(nan | big | small, Lanes(), x)   // in range for the integer conversion
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
        let y = (p * s1) * s2
        return choose(nan, x, choose(small, Lanes(), choose(big, Lanes(repeating: .infinity), y)))
    }

    /// `sigmoid` of every lane; each lane's bits equal the scalar `sigmoid`'s.
    @inlinable @inline(__always)
    public static func sigmoid(_ x: Lanes) -> Lanes {
        let positive = bits(x .>= 0)
        // exp(-x) where x ≥ 0, exp(x) elsewhere (NaN too); negation is a sign-bit flip
        let e = exp(unsafeBitCast(unsafeBitCast(x, to: IntLanes.self) ^ (positive & IntLanes(repeating: Int32.min)), to: Lanes.self))
        let one = Lanes(repeating: 1)
        return choose(positive, one, e) / (one + e)   // 1 / (1 + e) or e / (1 + e): one division
    }

    /// `tanh` of every lane; each lane's bits equal the scalar `tanh`'s.
    @inlinable @inline(__always)
    public static func tanh(_ x: Lanes) -> Lanes {
        let xb = unsafeBitCast(x, to: IntLanes.self), ab = xb & IntLanes(repeating: 0x7fff_ffff)
        let a = unsafeBitCast(ab, to: Lanes.self)
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
        // a < 0.6 as integers (a ≥ 0, so its bits order as it does; NaN's bits are above 0.6's): the
        // sign of the difference, spread over the lane. A float compare here made LLVM split the lanes.
        let near06 = (ab &- IntLanes(repeating: Int32(bitPattern: Float(0.6).bitPattern))) &>> 31
        let r = choose(near06, near, far)
        return unsafeBitCast(unsafeBitCast(r, to: IntLanes.self) | (xb & IntLanes(repeating: Int32.min)), to: Lanes.self)
    }
}

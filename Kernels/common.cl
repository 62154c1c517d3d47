#pragma OPENCL FP_CONTRACT OFF
// Shared helpers: the portable math (twin of Sources/Recur/Math/PortableMath.swift) and
// Philox-4x32-10 (twin of Sources/Recur/Math/Philox.swift). Same operations, same order.
// Every multiply feeding an add is an explicit fma; constants are hex floats (NUMERICS rules 1, 4).

#define RECUR_NAN as_float(0x7fc00000u)

inline float pexp(float x) {
    if (isnan(x)) return x;
    if (x > 0x1.62e42ep+6f) return INFINITY;
    if (x < -0x1.9fe368p+6f) return 0.0f;
    float t = fma(x, 0x1.715476p+0f, 0x1.8p23f);
    float kf = t - 0x1.8p23f;
    float r = fma(-kf, 0x1.62e400p-1f, x);
    r = fma(-kf, 0x1.7f7d1cp-20f, r);
    float p = 0x1.a01a02p-13f;
    p = fma(p, r, 0x1.6c16c2p-10f);
    p = fma(p, r, 0x1.111112p-7f);
    p = fma(p, r, 0x1.555556p-5f);
    p = fma(p, r, 0x1.555556p-3f);
    p = fma(p, r, 0x1.000000p-1f);
    p = fma(p, r, 0x1.000000p+0f);
    p = fma(p, r, 0x1.000000p+0f);
    int k = (int)kf;
    int k1 = k >> 1;
    int k2 = k - k1;
    float s1 = as_float((uint)((k1 + 127) << 23));
    float s2 = as_float((uint)((k2 + 127) << 23));
    return (p * s1) * s2;
}

inline float plog(float x) {
    if (isnan(x)) return x;
    if (x < 0.0f) return RECUR_NAN;
    if (x == 0.0f) return -INFINITY;
    if (x == INFINITY) return x;
    uint bits = as_uint(x);
    int e = 0;
    if (bits < 0x00800000u) {
        bits = as_uint(x * 0x1p23f);
        e = -23;
    }
    e += (int)(bits >> 23) - 127;
    float m = as_float((bits & 0x007fffffu) | 0x3f800000u);
    if (m > 0x1.6a09e6p+0f) {
        m = m * 0.5f;
        e += 1;
    }
    float f = m - 1.0f;
    float s = f / (2.0f + f);
    float z = s * s;
    float p = 0x1.745d18p-4f;
    p = fma(p, z, 0x1.c71c72p-4f);
    p = fma(p, z, 0x1.24924ap-3f);
    p = fma(p, z, 0x1.99999ap-3f);
    p = fma(p, z, 0x1.555556p-2f);
    float s2 = s + s;
    float r = fma(s2, z * p, s2);
    float ef = (float)e;
    return fma(ef, 0x1.62e400p-1f, fma(ef, 0x1.7f7d1cp-20f, r));
}

inline float psigmoid(float x) {
    if (x >= 0.0f) return 1.0f / (1.0f + pexp(-x));
    float e = pexp(x);
    return e / (1.0f + e);
}

inline float ptanh(float x) {
    float a = as_float(as_uint(x) & 0x7fffffffu);
    float r;
    if (a < 0.6f) {
        float x2 = a * a;
        float p = -0x1.f57d78p-13f;
        p = fma(p, x2, 0x1.355824p-11f);
        p = fma(p, x2, -0x1.7da364p-10f);
        p = fma(p, x2, 0x1.d6d3d0p-9f);
        p = fma(p, x2, -0x1.226e36p-7f);
        p = fma(p, x2, 0x1.664f48p-6f);
        p = fma(p, x2, -0x1.ba1ba2p-5f);
        p = fma(p, x2, 0x1.111112p-3f);
        p = fma(p, x2, -0x1.555556p-2f);
        r = fma(a * x2, p, a);
    } else {
        float e = pexp(a + a);
        r = 1.0f - 2.0f / (e + 1.0f);
    }
    return as_float(as_uint(r) | (as_uint(x) & 0x80000000u));
}

// Philox-4x32-10; counter = (position / 4, 0, stream.lo, stream.hi), key = (seed.lo, seed.hi).
inline uint philox_bits(uint k0, uint k1, uint s0, uint s1, uint position) {
    uint c0 = position >> 2, c1 = 0u, c2 = s0, c3 = s1;
    for (int round = 0; round < 10; round++) {
        if (round > 0) { k0 += 0x9E3779B9u; k1 += 0xBB67AE85u; }
        uint hi0 = mul_hi(0xD2511F53u, c0), lo0 = 0xD2511F53u * c0;
        uint hi1 = mul_hi(0xCD9E8D57u, c2), lo1 = 0xCD9E8D57u * c2;
        uint n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
        c0 = n0; c1 = lo1; c2 = n2; c3 = lo0;
    }
    uint w = position & 3u;
    return w == 0u ? c0 : (w == 1u ? c1 : (w == 2u ? c2 : c3));
}

// max with a defined NaN rule (NUMERICS rule 6): a NaN candidate wins over a number; ties keep the first.
inline int takes_max(float candidate, float best) {
    return candidate > best || (isnan(candidate) && !isnan(best));
}

// The fixed two-level reduction shared by every sum-to-scalar: chunks of REDUCE_CHUNK consecutive
// elements summed in order from +0, then the chunk sums in order from +0.
#define REDUCE_CHUNK 256

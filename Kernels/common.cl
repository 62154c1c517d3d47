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

// The same functions on 16 lanes (twin of PortableMath+SIMD.swift): the scalar operations in the
// same order, lane by lane, with the scalar branches turned into selects (both sides computed, the
// scalar's choice kept). Every lane's bits equal the scalar function's. The cell kernels' `*16`
// variants use them on CPU-type devices, where a work-item's 16 lanes become one vector register.
inline float16 pexp16(float16 x) {
    int16 nan = isnan(x), big = x > 0x1.62e42ep+6f, small = x < -0x1.9fe368p+6f;
    float16 xs = select(x, (float16)0.0f, nan | big | small);   // in range for the integer part
    float16 t = fma(xs, (float16)0x1.715476p+0f, (float16)0x1.8p23f);
    float16 kf = t - 0x1.8p23f;
    float16 r = fma(-kf, (float16)0x1.62e400p-1f, xs);
    r = fma(-kf, (float16)0x1.7f7d1cp-20f, r);
    float16 p = (float16)0x1.a01a02p-13f;
    p = fma(p, r, (float16)0x1.6c16c2p-10f);
    p = fma(p, r, (float16)0x1.111112p-7f);
    p = fma(p, r, (float16)0x1.555556p-5f);
    p = fma(p, r, (float16)0x1.555556p-3f);
    p = fma(p, r, (float16)0x1.000000p-1f);
    p = fma(p, r, (float16)0x1.000000p+0f);
    p = fma(p, r, (float16)0x1.000000p+0f);
    // t = 1.5·2^23 + k exactly: k is t's low mantissa bits, the scalar's (int)kf
    int16 k = as_int16(t) - as_int(0x1.8p23f);
    int16 k1 = k >> 1;
    int16 k2 = k - k1;
    float16 s1 = as_float16((k1 + 127) << 23);
    float16 s2 = as_float16((k2 + 127) << 23);
    float16 y = (p * s1) * s2;
    return select(select(select(y, (float16)INFINITY, big), (float16)0.0f, small), x, nan);
}

inline float16 psigmoid16(float16 x) {
    int16 positive = x >= 0.0f;
    // pexp16 of -x where x >= 0, of x elsewhere (NaN too); negation is a sign-bit flip
    float16 e = pexp16(as_float16(as_int16(x) ^ (positive & (int16)0x80000000)));
    return select(e, (float16)1.0f, positive) / (1.0f + e);   // 1 / (1 + e) or e / (1 + e)
}

inline float16 ptanh16(float16 x) {
    float16 a = as_float16(as_int16(x) & (int16)0x7fffffff);
    float16 x2 = a * a;
    float16 p = (float16)-0x1.f57d78p-13f;
    p = fma(p, x2, (float16)0x1.355824p-11f);
    p = fma(p, x2, (float16)-0x1.7da364p-10f);
    p = fma(p, x2, (float16)0x1.d6d3d0p-9f);
    p = fma(p, x2, (float16)-0x1.226e36p-7f);
    p = fma(p, x2, (float16)0x1.664f48p-6f);
    p = fma(p, x2, (float16)-0x1.ba1ba2p-5f);
    p = fma(p, x2, (float16)0x1.111112p-3f);
    p = fma(p, x2, (float16)-0x1.555556p-2f);
    float16 near = fma(a * x2, p, a);
    float16 e = pexp16(a + a);
    float16 far = 1.0f - 2.0f / (e + 1.0f);
    float16 r = select(far, near, a < 0.6f);   // NaN: far, as the scalar's a < 0.6f
    return as_float16(as_int16(r) | (as_int16(x) & (int16)0x80000000));
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

// Register-block unrolling shared by matmul_rb and the conv1d *_rb kernels: RB_FOR_ROWS(X) expands
// X(0) ... X(RB_M-1), RB_FOR_VECS(Y, r) expands Y(r, 0) ... Y(r, RB_V-1), RB_FOR_B(Y) Y(0) ... Y(RB_V-1);
// RB_ACC(r, v) names accumulator v of row r (a float16 in registers, not a private array).
#ifndef RB_M
#define RB_M 8
#endif
#ifndef RB_V
#define RB_V 2
#endif
#define RB_N (16 * RB_V)
#define RB_ROWS_1(X) X(0)
#define RB_ROWS_2(X) RB_ROWS_1(X) X(1)
#define RB_ROWS_3(X) RB_ROWS_2(X) X(2)
#define RB_ROWS_4(X) RB_ROWS_3(X) X(3)
#define RB_ROWS_5(X) RB_ROWS_4(X) X(4)
#define RB_ROWS_6(X) RB_ROWS_5(X) X(5)
#define RB_ROWS_7(X) RB_ROWS_6(X) X(6)
#define RB_ROWS_8(X) RB_ROWS_7(X) X(7)
#define RB_ROWS_9(X) RB_ROWS_8(X) X(8)
#define RB_ROWS_10(X) RB_ROWS_9(X) X(9)
#define RB_ROWS_11(X) RB_ROWS_10(X) X(10)
#define RB_ROWS_12(X) RB_ROWS_11(X) X(11)
#define RB_ROWS_13(X) RB_ROWS_12(X) X(12)
#define RB_ROWS_14(X) RB_ROWS_13(X) X(13)
#define RB_ROWS_15(X) RB_ROWS_14(X) X(14)
#define RB_ROWS_16(X) RB_ROWS_15(X) X(15)
#define RB_VECS_1(Y, r) Y(r, 0)
#define RB_VECS_2(Y, r) RB_VECS_1(Y, r) Y(r, 1)
#define RB_VECS_3(Y, r) RB_VECS_2(Y, r) Y(r, 2)
#define RB_VECS_4(Y, r) RB_VECS_3(Y, r) Y(r, 3)
#define RB_CAT2(a, b) a##b
#define RB_CAT(a, b) RB_CAT2(a, b)
#define RB_FOR_ROWS RB_CAT(RB_ROWS_, RB_M)
#define RB_FOR_VECS RB_CAT(RB_VECS_, RB_V)
#define RB_FOR_B(Y) Y(0) RB_FOR_B_MORE(Y)
#if RB_V == 1
#define RB_FOR_B_MORE(Y)
#elif RB_V == 2
#define RB_FOR_B_MORE(Y) Y(1)
#elif RB_V == 3
#define RB_FOR_B_MORE(Y) Y(1) Y(2)
#else
#define RB_FOR_B_MORE(Y) Y(1) Y(2) Y(3)
#endif

#define RB_ACC(r, v) acc##r##_##v
// One k step of a block: b0.. = the B row at `bk` as float16s; row r adds a[r] = ak[r * ar] times them.
#define RB_LOAD_B(v) float16 b##v = vload16(v, bk);
#define RB_FMA_V(r, v) RB_ACC(r, v) = fma(a##r, b##v, RB_ACC(r, v));
#define RB_FMA(r) { float16 a##r = (float16)(ak[(r) * ar]); RB_FOR_VECS(RB_FMA_V, r) }

// Lanes p .. p+15 of `row` (elements spaced `step` apart) that lie in [lo, hi), when `own`; the
// other lanes are 0 and never read. A block shifted inside its product reads only what it owns.
inline float16 load16_within(__global const float* row, int step, int p, int lo, int hi, int own) {
    if (own && step == 1 && p >= lo && p + 16 <= hi) return vload16(0, row + p);
    float lanes[16];
    for (int l = 0; l < 16; l++) lanes[l] = own && p + l >= lo && p + l < hi ? row[(p + l) * step] : 0.0f;
    return vload16(0, lanes);
}

// Stores the lanes of `v` (p .. p+15 of `row`, spaced `step` apart) that lie in [lo, hi), when `own`.
inline void store16_within(float16 v, __global float* row, int step, int p, int lo, int hi, int own) {
    if (!own) return;
    if (step == 1 && p >= lo && p + 16 <= hi) { vstore16(v, 0, row + p); return; }
    float lanes[16];
    vstore16(v, 0, lanes);
    for (int l = 0; l < 16; l++) if (p + l >= lo && p + l < hi) row[(p + l) * step] = lanes[l];
}

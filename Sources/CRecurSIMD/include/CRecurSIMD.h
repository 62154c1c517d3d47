// The CPU device's SIMD helpers: C where Swift has no spelling for the instruction (a prefetch, a
// register transpose) or the build's vector width. Nothing here changes a float's bits.
#ifndef CRECURSIMD_H
#define CRECURSIMD_H

// A hint that the cache line at p will be read soon: fetch it into L2 (prefetcht1 on x86).
static inline void recur_prefetch_l2(const void *p) { __builtin_prefetch(p, 0, 2); }

// 1 when the code is compiled for 512-bit vectors (AVX-512: 32 vector registers), else 0.
static inline int recur_wide_vectors(void) {
#if defined(__AVX512F__)
    return 1;
#else
    return 0;
#endif
}

// Transposes an 8 x 8 block of floats: dst[c * ds + r] = src[r * ss + c] (strides in floats, any
// alignment). Clang's vector shuffles become the usual unpack / shuffle / lane-swap sequence on any
// ISA with 8-float or 4-float vectors. A copy: no arithmetic, no bits change.
typedef float recur_v8 __attribute__((ext_vector_type(8), aligned(4)));
static inline void recur_transpose8(const float *src, long ss, float *dst, long ds) {
    recur_v8 r0 = *(const recur_v8 *)(src), r1 = *(const recur_v8 *)(src + ss);
    recur_v8 r2 = *(const recur_v8 *)(src + 2 * ss), r3 = *(const recur_v8 *)(src + 3 * ss);
    recur_v8 r4 = *(const recur_v8 *)(src + 4 * ss), r5 = *(const recur_v8 *)(src + 5 * ss);
    recur_v8 r6 = *(const recur_v8 *)(src + 6 * ss), r7 = *(const recur_v8 *)(src + 7 * ss);
    recur_v8 t0 = __builtin_shufflevector(r0, r1, 0, 8, 1, 9, 4, 12, 5, 13), t1 = __builtin_shufflevector(r0, r1, 2, 10, 3, 11, 6, 14, 7, 15);
    recur_v8 t2 = __builtin_shufflevector(r2, r3, 0, 8, 1, 9, 4, 12, 5, 13), t3 = __builtin_shufflevector(r2, r3, 2, 10, 3, 11, 6, 14, 7, 15);
    recur_v8 t4 = __builtin_shufflevector(r4, r5, 0, 8, 1, 9, 4, 12, 5, 13), t5 = __builtin_shufflevector(r4, r5, 2, 10, 3, 11, 6, 14, 7, 15);
    recur_v8 t6 = __builtin_shufflevector(r6, r7, 0, 8, 1, 9, 4, 12, 5, 13), t7 = __builtin_shufflevector(r6, r7, 2, 10, 3, 11, 6, 14, 7, 15);
    recur_v8 u0 = __builtin_shufflevector(t0, t2, 0, 1, 8, 9, 4, 5, 12, 13), u1 = __builtin_shufflevector(t0, t2, 2, 3, 10, 11, 6, 7, 14, 15);
    recur_v8 u2 = __builtin_shufflevector(t1, t3, 0, 1, 8, 9, 4, 5, 12, 13), u3 = __builtin_shufflevector(t1, t3, 2, 3, 10, 11, 6, 7, 14, 15);
    recur_v8 u4 = __builtin_shufflevector(t4, t6, 0, 1, 8, 9, 4, 5, 12, 13), u5 = __builtin_shufflevector(t4, t6, 2, 3, 10, 11, 6, 7, 14, 15);
    recur_v8 u6 = __builtin_shufflevector(t5, t7, 0, 1, 8, 9, 4, 5, 12, 13), u7 = __builtin_shufflevector(t5, t7, 2, 3, 10, 11, 6, 7, 14, 15);
    *(recur_v8 *)(dst) = __builtin_shufflevector(u0, u4, 0, 1, 2, 3, 8, 9, 10, 11);
    *(recur_v8 *)(dst + ds) = __builtin_shufflevector(u1, u5, 0, 1, 2, 3, 8, 9, 10, 11);
    *(recur_v8 *)(dst + 2 * ds) = __builtin_shufflevector(u2, u6, 0, 1, 2, 3, 8, 9, 10, 11);
    *(recur_v8 *)(dst + 3 * ds) = __builtin_shufflevector(u3, u7, 0, 1, 2, 3, 8, 9, 10, 11);
    *(recur_v8 *)(dst + 4 * ds) = __builtin_shufflevector(u0, u4, 4, 5, 6, 7, 12, 13, 14, 15);
    *(recur_v8 *)(dst + 5 * ds) = __builtin_shufflevector(u1, u5, 4, 5, 6, 7, 12, 13, 14, 15);
    *(recur_v8 *)(dst + 6 * ds) = __builtin_shufflevector(u2, u6, 4, 5, 6, 7, 12, 13, 14, 15);
    *(recur_v8 *)(dst + 7 * ds) = __builtin_shufflevector(u3, u7, 4, 5, 6, 7, 12, 13, 14, 15);
}

#endif

#pragma OPENCL FP_CONTRACT OFF
// Batched matmul C[b] = start + op(A[b]) * op(B[b]); twin of CPUBackend+Matmul.swift.
// One work-item per output; the chain runs k = 0..K-1 from the start value (mode 0: +0,
// 1: existing C, 2: bias[j]). Global size (N, M, batch).
__kernel void matmul(int M, int N, int K, int transA, int transB, int lda, int ldb, int ldc,
                     int strideA, int strideB, int strideC, int mode,
                     __global const float* A, int offA, __global const float* B, int offB,
                     __global float* C, int offC, __global const float* bias, int offBias) {
    int j = get_global_id(0), i = get_global_id(1), b = get_global_id(2);
    if (j >= N || i >= M) return;
    __global const float* a = A + offA + b * strideA;
    __global const float* bm = B + offB + b * strideB;
    __global float* c = C + offC + b * strideC;
    float acc = 0.0f;
    if (mode == 1) acc = c[i * ldc + j];
    else if (mode == 2) acc = bias[offBias + j];
    int ar = transA ? 1 : lda, ak = transA ? lda : 1;
    int bk = transB ? 1 : ldb, bj = transB ? ldb : 1;
    for (int k = 0; k < K; k++) acc = fma(a[i * ar + k * ak], bm[k * bk + j * bj], acc);
    c[i * ldc + j] = acc;
}

// Local-memory tiled variant for GPUs: a TILE x TILE work-group stages TILE-wide slices of A and B
// in local memory; each work-item owns one output and runs its chain over k in order, only over
// the k that exist (a padded fma(0, b, acc) would turn an acc of -0 into +0). Same bits as above.
// Global (ceil(N/TILE)*TILE, ceil(M/TILE)*TILE, batch), local (TILE, TILE, 1).
#ifndef TILE
#define TILE 16
#endif
__kernel void matmul_tiled(int M, int N, int K, int transA, int transB, int lda, int ldb, int ldc,
                           int strideA, int strideB, int strideC, int mode,
                           __global const float* A, int offA, __global const float* B, int offB,
                           __global float* C, int offC, __global const float* bias, int offBias) {
    __local float As[TILE][TILE];
    __local float Bs[TILE][TILE + 1];
    int tj = get_local_id(0), ti = get_local_id(1);
    int j = get_group_id(0) * TILE + tj, i = get_group_id(1) * TILE + ti, b = get_global_id(2);
    __global const float* a = A + offA + b * strideA;
    __global const float* bm = B + offB + b * strideB;
    __global float* c = C + offC + b * strideC;
    int inside = i < M && j < N;
    float acc = 0.0f;
    if (inside && mode == 1) acc = c[i * ldc + j];
    else if (inside && mode == 2) acc = bias[offBias + j];
    int ar = transA ? 1 : lda, ak = transA ? lda : 1;
    int bk = transB ? 1 : ldb, bj = transB ? ldb : 1;
    for (int k0 = 0; k0 < K; k0 += TILE) {
        int ka = k0 + tj, kb = k0 + ti;
        As[ti][tj] = (i < M && ka < K) ? a[i * ar + ka * ak] : 0.0f;
        Bs[ti][tj] = (j < N && kb < K) ? bm[kb * bk + j * bj] : 0.0f;
        barrier(CLK_LOCAL_MEM_FENCE);
        int kn = min(TILE, K - k0);
        for (int kk = 0; kk < kn; kk++) acc = fma(As[ti][kk], Bs[kk][tj], acc);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (inside) c[i * ldc + j] = acc;
}

// Register-blocked variant for CPU-type devices (PoCL): each work-item owns an RB_M x (16*RB_V)
// block of C in RB_M*RB_V float16 registers, unrolled by the macros below (a private array would
// live in memory); B rows are read as float16 vectors, A as broadcast scalars. Run with work-groups
// of one work-item. Every output is still the chain k = 0..K-1 from its start value, so the bits
// equal the kernel above. Requires B not transposed (the host transposes B first).
// Global size (ceil(N/(16*RB_V)), ceil(M/RB_M), batch), local (1, 1, 1).
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
#define RB_DECL_V(r, v) float16 RB_ACC(r, v) = mode == 0 ? (float16)(0.0f) \
    : mode == 1 ? vload16(v, c + (i0 + r) * ldc + j0) : vload16(v, bias + offBias + j0);
#define RB_DECL(r) RB_FOR_VECS(RB_DECL_V, r)
#define RB_LOAD_B(v) float16 b##v = vload16(v, bk);
#define RB_FMA_V(r, v) RB_ACC(r, v) = fma(a##r, b##v, RB_ACC(r, v));
#define RB_FMA(r) { float16 a##r = (float16)(ak[(r) * ar]); RB_FOR_VECS(RB_FMA_V, r) }
#define RB_STORE_V(r, v) vstore16(RB_ACC(r, v), v, c + (i0 + r) * ldc + j0);
#define RB_STORE(r) RB_FOR_VECS(RB_STORE_V, r)
#define RB_ROW_DECL(v) float16 e##v = mode == 0 ? (float16)(0.0f) \
    : mode == 1 ? vload16(v, c + i * ldc + j0) : vload16(v, bias + offBias + j0);
#define RB_ROW_FMA(v) e##v = fma(av, vload16(v, bm + k * ldb + j0), e##v);
#define RB_ROW_STORE(v) vstore16(e##v, v, c + i * ldc + j0);

__kernel void matmul_rb(int M, int N, int K, int transA, int lda, int ldb, int ldc,
                        int strideA, int strideB, int strideC, int mode,
                        __global const float* A, int offA, __global const float* B, int offB,
                        __global float* C, int offC, __global const float* bias, int offBias) {
    int j0 = get_global_id(0) * RB_N, i0 = get_global_id(1) * RB_M, b = get_global_id(2);
    if (j0 >= N || i0 >= M) return;
    __global const float* a = A + offA + b * strideA;
    __global const float* bm = B + offB + b * strideB;
    __global float* c = C + offC + b * strideC;
    int ar = transA ? 1 : lda, akk = transA ? lda : 1;
    if (j0 + RB_N <= N && i0 + RB_M <= M) {
        RB_FOR_ROWS(RB_DECL)
        for (int k = 0; k < K; k++) {
            __global const float* bk = bm + k * ldb + j0;
            __global const float* ak = a + i0 * ar + k * akk;
            RB_FOR_B(RB_LOAD_B)
            RB_FOR_ROWS(RB_FMA)
        }
        RB_FOR_ROWS(RB_STORE)
        return;
    }
    if (j0 + RB_N <= N) {   // the last rows (M not a multiple of RB_M): one row of vectors at a time
        for (int i = i0; i < M; i++) {
            RB_FOR_B(RB_ROW_DECL)
            for (int k = 0; k < K; k++) {
                float16 av = (float16)(a[i * ar + k * akk]);
                RB_FOR_B(RB_ROW_FMA)
            }
            RB_FOR_B(RB_ROW_STORE)
        }
        return;
    }
    for (int i = i0; i < min(M, i0 + RB_M); i++) {
        for (int j = j0; j < min(N, j0 + RB_N); j++) {
            float acc = 0.0f;
            if (mode == 1) acc = c[i * ldc + j];
            else if (mode == 2) acc = bias[offBias + j];
            for (int k = 0; k < K; k++) acc = fma(a[i * ar + k * akk], bm[k * ldb + j], acc);
            c[i * ldc + j] = acc;
        }
    }
}

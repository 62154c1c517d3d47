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
// A block at the right or bottom edge is shifted left/up to lie inside C (it recomputes outputs
// its neighbour owns, never reading or storing them); only when C is narrower than a block (or
// shorter and narrower) do outputs take one scalar chain each.
// Global size (ceil(N/(16*RB_V)), ceil(M/RB_M), batch), local (1, 1, 1); with rowsFirst the first two
// swap, so that consecutive work-items share their B panel in cache (the host picks it when C is
// much wider than tall, e.g. the M = 64 LSTM products).
#define RB_DECL_V(r, v) float16 RB_ACC(r, v) = mode == 0 ? (float16)(0.0f) \
    : mode == 1 ? load16_within(c + (is + r) * ldc, 1, js + 16 * (v), j0, j1, is + (r) >= i0) : vload16(v, bias + offBias + js);
#define RB_DECL(r) RB_FOR_VECS(RB_DECL_V, r)
#define RB_STORE_V(r, v) store16_within(RB_ACC(r, v), c + (is + r) * ldc, 1, js + 16 * (v), j0, j1, is + (r) >= i0);
#define RB_STORE(r) RB_FOR_VECS(RB_STORE_V, r)
#define RB_ROW_DECL(v) float16 e##v = mode == 0 ? (float16)(0.0f) \
    : mode == 1 ? load16_within(c + i * ldc, 1, js + 16 * (v), j0, j1, 1) : vload16(v, bias + offBias + js);
#define RB_ROW_FMA(v) e##v = fma(av, vload16(v, bm + k * ldb + js), e##v);
#define RB_ROW_STORE(v) store16_within(e##v, c + i * ldc, 1, js + 16 * (v), j0, j1, 1);

__kernel void matmul_rb(int M, int N, int K, int transA, int lda, int ldb, int ldc,
                        int strideA, int strideB, int strideC, int mode, int rowsFirst,
                        __global const float* A, int offA, __global const float* B, int offB,
                        __global float* C, int offC, __global const float* bias, int offBias) {
    int g0 = get_global_id(0), g1 = get_global_id(1), b = get_global_id(2);
    int j0 = (rowsFirst ? g1 : g0) * RB_N, i0 = (rowsFirst ? g0 : g1) * RB_M;
    if (j0 >= N || i0 >= M) return;
    int j1 = min(N, j0 + RB_N);   // owned columns [j0, j1), rows [i0, min(M, i0 + RB_M))
    __global const float* a = A + offA + b * strideA;
    __global const float* bm = B + offB + b * strideB;
    __global float* c = C + offC + b * strideC;
    int ar = transA ? 1 : lda, akk = transA ? lda : 1;
    if (N >= RB_N && M >= RB_M) {
        int js = min(j0, N - RB_N), is = min(i0, M - RB_M);
        RB_FOR_ROWS(RB_DECL)
        for (int k = 0; k < K; k++) {
            __global const float* bk = bm + k * ldb + js;
            __global const float* ak = a + is * ar + k * akk;
            RB_FOR_B(RB_LOAD_B)
            RB_FOR_ROWS(RB_FMA)
        }
        RB_FOR_ROWS(RB_STORE)
        return;
    }
    if (N >= RB_N) {   // fewer rows than a block: one row of vectors at a time
        int js = min(j0, N - RB_N);
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
        for (int j = j0; j < j1; j++) {
            float acc = 0.0f;
            if (mode == 1) acc = c[i * ldc + j];
            else if (mode == 2) acc = bias[offBias + j];
            for (int k = 0; k < K; k++) acc = fma(a[i * ar + k * akk], bm[k * ldb + j], acc);
            c[i * ldc + j] = acc;
        }
    }
}

// Bᵀ without transposing B (CPU-type devices): C = start + A·Bᵀ with B stored (N × K), computed as
// blocks of Cᵀ: RB_M output columns j (rows of B, read as broadcast scalars) × 16·RB_V output rows
// i (read as float16 from At = A stored (K × M): the host transposes A, the smaller operand, or
// passes A as stored when it is already transposed). The chain of each output is still k = 0..K-1
// from its start, so the bits equal matmul_rb's; C is read and written along columns, once.
// Global size (ceil(N/RB_M), ceil(M/(16*RB_V)), batch), local (1, 1, 1). Needs M ≥ 16·RB_V, N ≥ RB_M.
#define RBT_DECL_V(r, v) float16 RB_ACC(r, v) = mode == 0 ? (float16)(0.0f) \
    : mode == 1 ? load16_within(c + js + (r), ldc, is + 16 * (v), i0, i1, js + (r) >= j0) : (float16)(bias[offBias + js + (r)]);
#define RBT_DECL(r) RB_FOR_VECS(RBT_DECL_V, r)
#define RBT_STORE_V(r, v) store16_within(RB_ACC(r, v), c + js + (r), ldc, is + 16 * (v), i0, i1, js + (r) >= j0);
#define RBT_STORE(r) RB_FOR_VECS(RBT_STORE_V, r)

__kernel void matmul_rb_bt(int M, int N, int K, int ldat, int ldb, int ldc, int strideAt, int strideB, int strideC, int mode,
                           __global const float* At, int offAt, __global const float* B, int offB,
                           __global float* C, int offC, __global const float* bias, int offBias) {
    int j0 = get_global_id(0) * RB_M, i0 = get_global_id(1) * RB_N, b = get_global_id(2);
    if (j0 >= N || i0 >= M) return;
    int i1 = min(M, i0 + RB_N);
    int js = min(j0, N - RB_M), is = min(i0, M - RB_N), ar = ldb;
    __global const float* at = At + offAt + b * strideAt;
    __global const float* bm = B + offB + b * strideB;
    __global float* c = C + offC + b * strideC;
    RB_FOR_ROWS(RBT_DECL)
    for (int k = 0; k < K; k++) {
        __global const float* bk = at + k * ldat + is;
        __global const float* ak = bm + js * ldb + k;
        RB_FOR_B(RB_LOAD_B)
        RB_FOR_ROWS(RB_FMA)
    }
    RB_FOR_ROWS(RBT_STORE)
}

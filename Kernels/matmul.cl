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

// Register-blocked variant for CPU-type devices (PoCL): each work-item owns an RB_M x 16 tile of C
// and keeps it in float16 registers; B rows are read as float16 vectors. Every output is still the
// chain k = 0..K-1 from its start value, so the bits equal the kernel above. Requires B not transposed.
// Global size (ceil(N/16), ceil(M/RB_M), batch).
#ifndef RB_M
#define RB_M 4
#endif
__kernel void matmul_rb(int M, int N, int K, int transA, int lda, int ldb, int ldc,
                        int strideA, int strideB, int strideC, int mode,
                        __global const float* A, int offA, __global const float* B, int offB,
                        __global float* C, int offC, __global const float* bias, int offBias) {
    int j0 = get_global_id(0) * 16, i0 = get_global_id(1) * RB_M, b = get_global_id(2);
    if (j0 >= N || i0 >= M) return;
    __global const float* a = A + offA + b * strideA;
    __global const float* bm = B + offB + b * strideB;
    __global float* c = C + offC + b * strideC;
    int ar = transA ? 1 : lda, ak = transA ? lda : 1;
    if (j0 + 16 <= N && i0 + RB_M <= M) {
        float16 acc[RB_M];
        for (int r = 0; r < RB_M; r++) {
            if (mode == 0) acc[r] = (float16)(0.0f);
            else if (mode == 1) acc[r] = vload16(0, c + (i0 + r) * ldc + j0);
            else acc[r] = vload16(0, bias + offBias + j0);
        }
        for (int k = 0; k < K; k++) {
            float16 bv = vload16(0, bm + k * ldb + j0);
            for (int r = 0; r < RB_M; r++) acc[r] = fma((float16)(a[(i0 + r) * ar + k * ak]), bv, acc[r]);
        }
        for (int r = 0; r < RB_M; r++) vstore16(acc[r], 0, c + (i0 + r) * ldc + j0);
        return;
    }
    for (int i = i0; i < min(M, i0 + RB_M); i++) {
        for (int j = j0; j < min(N, j0 + 16); j++) {
            float acc = 0.0f;
            if (mode == 1) acc = c[i * ldc + j];
            else if (mode == 2) acc = bias[offBias + j];
            for (int k = 0; k < K; k++) acc = fma(a[i * ar + k * ak], bm[k * ldb + j], acc);
            c[i * ldc + j] = acc;
        }
    }
}

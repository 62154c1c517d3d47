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

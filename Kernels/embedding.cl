#pragma OPENCL FP_CONTRACT OFF
// Embedding gathers and per-token sums, and the convolution over embedded tokens; twins of the
// embedding ops in CPUBackend+Recurrent.swift and of CPUBackend+TokenConv.swift.

// Global (D, N). An index outside [0, V) gives a NaN row.
__kernel void embedding_forward(int V, int D, int N, __global const float* table, int to,
                                __global const int* idx, int io, __global float* out, int oo) {
    int d = get_global_id(0), p = get_global_id(1);
    if (d >= D || p >= N) return;
    int v = idx[io + p];
    out[oo + p * D + d] = (v >= 0 && v < V) ? table[to + v * D + d] : RECUR_NAN;
}

// Global (V). The positions holding token v, ascending, into order[start[v] .. end[v]), where
// start[v] counts the positions holding a token in [0, v). sc: order (N), start (V), end (V).
__kernel void embedding_order(int V, int N, __global const int* idx, int io, __global int* sc, int so) {
    int v = get_global_id(0);
    if (v >= V) return;
    int lo = 0, n = 0;
    for (int p = 0; p < N; p++) {
        int t = idx[io + p];
        lo += (t >= 0 && t < v) ? 1 : 0;
        n += (t == v) ? 1 : 0;
    }
    sc[so + N + v] = lo;
    sc[so + N + V + v] = lo + n;
    for (int p = 0, q = so + lo; p < N; p++) {
        if (idx[io + p] == v) sc[q++] = p;
    }
}

// Global (D, V). dTable[v, d] sums dOut rows of the positions holding v, ascending, from +0
// (the order embedding_order wrote). No atomics.
__kernel void embedding_backward(int V, int D, int N, __global const float* dout, int doo,
                                 __global const int* sc, int so, __global float* dt, int dto) {
    int d = get_global_id(0), v = get_global_id(1);
    if (d >= D || v >= V) return;
    float acc = 0.0f;
    int end = sc[so + N + V + v];
    for (int q = sc[so + N + v]; q < end; q++) acc = acc + dout[doo + sc[so + q] * D + d];
    dt[dto + v * D + d] = acc;
}

// Global (F, T_out, B). y[b, t, o] = bias[o] + table[tokens[b, t + k], k·F + o] for k ascending;
// NaN where a token of the window is outside [0, V).
__kernel void token_conv_forward(int V, int F, int K, int T, int To, __global const float* p, int po,
                                 __global const float* bias, int bo, __global const int* idx, int io,
                                 __global float* y, int yo) {
    int o = get_global_id(0), t = get_global_id(1), b = get_global_id(2);
    if (o >= F || t >= To) return;
    int valid = 1;
    for (int k = 0; k < K; k++) {
        int v = idx[io + b * T + t + k];
        if (v < 0 || v >= V) valid = 0;
    }
    float acc = bias[bo + o];
    if (valid) {
        for (int k = 0; k < K; k++) acc = acc + p[po + idx[io + b * T + t + k] * K * F + k * F + o];
    }
    y[yo + (b * To + t) * F + o] = valid ? acc : RECUR_NAN;
}

// Global (K·F, V). sums[v, k·F + o] = Σ dy[b, t, o] over the positions b·T + t + k holding v, in
// the ascending order embedding_order listed them in sc, with t in [0, T_out); from +0.
__kernel void token_conv_backward(int V, int F, int K, int T, int To, int N, __global const float* dy, int dyo,
                                  __global const int* sc, int so, __global float* s, int sumo) {
    int j = get_global_id(0), v = get_global_id(1);
    if (j >= K * F || v >= V) return;
    int k = j / F, o = j - k * F;
    float acc = 0.0f;
    int end = sc[so + N + V + v];
    for (int q = sc[so + N + v]; q < end; q++) {
        int p = sc[so + q], b = p / T, t = p - b * T - k;
        if (t >= 0 && t < To) acc = acc + dy[dyo + (b * To + t) * F + o];
    }
    s[sumo + v * K * F + j] = acc;
}

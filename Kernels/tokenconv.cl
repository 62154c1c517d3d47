#pragma OPENCL FP_CONTRACT OFF
// A convolution over embedded tokens from the tokens themselves; twin of CPUBackend+TokenConv.swift.

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

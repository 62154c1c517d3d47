#pragma OPENCL FP_CONTRACT OFF
// Losses and reductions; twin of CPUBackend+Loss.swift.

// Global (R). stats[2r] = row max m, stats[2r+1] = the sum over j of pexp(x_j - m), in order.
__kernel void xent_forward(int R, int C, __global const float* x, int xo, __global const int* tg, int to,
                           __global float* loss, int lo, __global float* st, int so) {
    int r = get_global_id(0);
    if (r >= R) return;
    __global const float* row = x + xo + r * C;
    float m = row[0];
    for (int j = 1; j < C; j++) if (takes_max(row[j], m)) m = row[j];
    float s = 0.0f;
    for (int j = 0; j < C; j++) s = s + pexp(row[j] - m);
    int t = tg[to + r];
    loss[lo + r] = (t >= 0 && t < C) ? plog(s) - (row[t] - m) : RECUR_NAN;
    st[so + 2 * r] = m;
    st[so + 2 * r + 1] = s;
}

// Global (C, R). d = (pexp(x - m) / s - [j == t]) * scale.
__kernel void xent_backward(int R, int C, float scale, __global const float* x, int xo, __global const int* tg, int to,
                            __global const float* st, int so, __global float* d, int dof) {
    int j = get_global_id(0), r = get_global_id(1);
    if (j >= C || r >= R) return;
    float m = st[so + 2 * r], s = st[so + 2 * r + 1];
    int t = tg[to + r];
    float p = pexp(x[xo + r * C + j] - m) / s;
    float q = (t >= 0 && t < C) ? (j == t ? p - 1.0f : p) : RECUR_NAN;
    d[dof + r * C + j] = q * scale;
}

// Two-level reduction, level 1: global (chunks). mode 0: x, 1: x*x, 2: (x-y)^2.
__kernel void reduce_partial(int mode, int n, __global const float* x, int xo, __global const float* y, int yo,
                             __global float* part, int po) {
    int ch = get_global_id(0);
    int lo = ch * REDUCE_CHUNK, hi = min(n, lo + REDUCE_CHUNK);
    if (lo >= n) return;
    float acc = 0.0f;
    for (int e = lo; e < hi; e++) {
        float v = x[xo + e];
        if (mode == 0) acc = acc + v;
        else if (mode == 1) acc = fma(v, v, acc);
        else { float d = v - y[yo + e]; acc = fma(d, d, acc); }
    }
    part[po + ch] = acc;
}

// Level 2: one work-item sums the chunk sums in order and divides.
__kernel void reduce_finish(int chunks, float divisor, __global const float* part, int po,
                            __global float* out, int oo) {
    if (get_global_id(0) != 0) return;
    float total = 0.0f;
    for (int c = 0; c < chunks; c++) total = total + part[po + c];
    out[oo] = total / divisor;
}

// Global (R).
__kernel void row_sum(int R, int C, int accumulate, __global const float* x, int xo, __global float* y, int yo) {
    int r = get_global_id(0);
    if (r >= R) return;
    float acc = accumulate ? y[yo + r] : 0.0f;
    for (int j = 0; j < C; j++) acc = acc + x[xo + r * C + j];
    y[yo + r] = acc;
}

// Global (C).
__kernel void col_sum(int R, int C, int accumulate, __global const float* x, int xo, __global float* y, int yo) {
    int j = get_global_id(0);
    if (j >= C) return;
    float acc = accumulate ? y[yo + j] : 0.0f;
    for (int r = 0; r < R; r++) acc = acc + x[xo + r * C + j];
    y[yo + j] = acc;
}

// Global (R).
__kernel void argmax_rows(int R, int C, __global const float* x, int xo, __global int* out, int oo) {
    int r = get_global_id(0);
    if (r >= R) return;
    __global const float* row = x + xo + r * C;
    float best = row[0];
    int at = 0;
    for (int j = 1; j < C; j++) if (takes_max(row[j], best)) { best = row[j]; at = j; }
    out[oo + r] = at;
}

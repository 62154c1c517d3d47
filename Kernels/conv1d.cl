#pragma OPENCL FP_CONTRACT OFF
// conv1d and max-pool over time; twin of CPUBackend+Conv.swift. Padded positions are skipped.
// Shape arguments: B, Cin, Cout, T, K, stride, padding, dilation, Tout.

// Global (Tout, Cout, B). y[b,o,t] chains from bias[o] over c, then k.
__kernel void conv1d_forward(int B, int Cin, int Cout, int T, int K, int S, int P, int D, int To,
                             __global const float* x, int xo, __global const float* w, int wo,
                             __global const float* bias, int bo, __global float* y, int yo) {
    int t = get_global_id(0), o = get_global_id(1), b = get_global_id(2);
    if (t >= To || o >= Cout || b >= B) return;
    float acc = bias[bo + o];
    int base = t * S - P;
    for (int c = 0; c < Cin; c++) {
        __global const float* xr = x + xo + (b * Cin + c) * T;
        __global const float* wr = w + wo + (o * Cin + c) * K;
        for (int k = 0; k < K; k++) {
            int idx = base + k * D;
            if (idx >= 0 && idx < T) acc = fma(wr[k], xr[idx], acc);
        }
    }
    y[yo + (b * Cout + o) * To + t] = acc;
}

// Global (T, Cin, B). dx[b,c,i] chains from +0 over o, then k.
__kernel void conv1d_backward_data(int B, int Cin, int Cout, int T, int K, int S, int P, int D, int To,
                                   __global const float* dy, int dyo, __global const float* w, int wo,
                                   __global float* dx, int dxo) {
    int i = get_global_id(0), c = get_global_id(1), b = get_global_id(2);
    if (i >= T || c >= Cin || b >= B) return;
    float acc = 0.0f;
    for (int o = 0; o < Cout; o++) {
        __global const float* wr = w + wo + (o * Cin + c) * K;
        __global const float* dyr = dy + dyo + (b * Cout + o) * To;
        for (int k = 0; k < K; k++) {
            int tt = i + P - k * D;
            if (tt >= 0 && tt % S == 0 && tt / S < To) acc = fma(wr[k], dyr[tt / S], acc);
        }
    }
    dx[dxo + (b * Cin + c) * T + i] = acc;
}

// Global (K, Cin, Cout). dw[o,c,k] chains from +0 over b, then t.
__kernel void conv1d_backward_weight(int B, int Cin, int Cout, int T, int K, int S, int P, int D, int To,
                                     __global const float* x, int xo, __global const float* dy, int dyo,
                                     __global float* dw, int dwo) {
    int k = get_global_id(0), c = get_global_id(1), o = get_global_id(2);
    if (k >= K || c >= Cin || o >= Cout) return;
    float acc = 0.0f;
    for (int b = 0; b < B; b++) {
        __global const float* xr = x + xo + (b * Cin + c) * T;
        __global const float* dyr = dy + dyo + (b * Cout + o) * To;
        for (int t = 0; t < To; t++) {
            int idx = t * S - P + k * D;
            if (idx >= 0 && idx < T) acc = fma(dyr[t], xr[idx], acc);
        }
    }
    dw[dwo + (o * Cin + c) * K + k] = acc;
}

// Global (Cout). db[o] sums dy over b, then t, from +0.
__kernel void conv1d_backward_bias(int B, int Cout, int To, __global const float* dy, int dyo,
                                   __global float* db, int dbo) {
    int o = get_global_id(0);
    if (o >= Cout) return;
    float acc = 0.0f;
    for (int b = 0; b < B; b++) {
        __global const float* dyr = dy + dyo + (b * Cout + o) * To;
        for (int t = 0; t < To; t++) acc = acc + dyr[t];
    }
    db[dbo + o] = acc;
}

// Global (Tout, B*C). First index wins ties; NaN wins over numbers.
__kernel void maxpool_forward(int BC, int T, int W, int S, int To, __global const float* x, int xo,
                              __global float* y, int yo, __global int* am, int amo) {
    int t = get_global_id(0), bc = get_global_id(1);
    if (t >= To || bc >= BC) return;
    __global const float* xr = x + xo + bc * T;
    int start = t * S, at = start;
    float best = xr[start];
    for (int j = start + 1; j < start + W; j++) {
        if (takes_max(xr[j], best)) { best = xr[j]; at = j; }
    }
    y[yo + bc * To + t] = best;
    am[amo + bc * To + t] = at;
}

// Global (T, B*C). dx[i] sums, over the windows covering i in ascending order, dy where argmax == i.
__kernel void maxpool_backward(int BC, int T, int W, int S, int To, __global const float* dy, int dyo,
                               __global const int* am, int amo, __global float* dx, int dxo) {
    int i = get_global_id(0), bc = get_global_id(1);
    if (i >= T || bc >= BC) return;
    float acc = 0.0f;
    int first = i - W + 1 <= 0 ? 0 : (i - W + S) / S;
    int last = min(i / S, To - 1);
    for (int t = first; t <= last; t++) {
        if (am[amo + bc * To + t] == i) acc = acc + dy[dyo + bc * To + t];
    }
    dx[dxo + bc * T + i] = acc;
}

#pragma OPENCL FP_CONTRACT OFF
// conv1d and max-pool over time; twin of CPUBackend+Conv.swift. Padded positions are skipped.
// Shape arguments: B, Cin, Cout, T, K, stride, padding, dilation, Tout.

// One output's chain, shared by the simple kernels and the edges of the blocked ones.
// y[b,o,t]: from bias[o] over c, then k. xb = x of batch b, wr = w row o.
inline float conv_forward_at(int Cin, int T, int K, int S, int P, int D, __global const float* xb,
                             __global const float* wr, float acc, int t) {
    int base = t * S - P;
    for (int c = 0; c < Cin; c++) {
        for (int k = 0; k < K; k++) {
            int idx = base + k * D;
            if (idx >= 0 && idx < T) acc = fma(wr[c * K + k], xb[c * T + idx], acc);
        }
    }
    return acc;
}

// dx[b,c,i]: from +0 over o, then k. dyb = dy of batch b, wc = w + c * K.
inline float conv_data_at(int Cin, int Cout, int K, int S, int P, int D, int To, __global const float* dyb,
                          __global const float* wc, int i) {
    float acc = 0.0f;
    for (int o = 0; o < Cout; o++) {
        for (int k = 0; k < K; k++) {
            int tt = i + P - k * D;
            if (tt >= 0 && tt % S == 0 && tt / S < To) acc = fma(wc[o * Cin * K + k], dyb[o * To + tt / S], acc);
        }
    }
    return acc;
}

// dw[o,c,k]: from +0 over b, then t.
inline float conv_weight_at(int B, int Cin, int Cout, int T, int S, int P, int D, int To, __global const float* x,
                            __global const float* dy, int o, int c, int k) {
    float acc = 0.0f;
    for (int b = 0; b < B; b++) {
        __global const float* xr = x + (b * Cin + c) * T;
        __global const float* dyr = dy + (b * Cout + o) * To;
        for (int t = 0; t < To; t++) {
            int idx = t * S - P + k * D;
            if (idx >= 0 && idx < T) acc = fma(dyr[t], xr[idx], acc);
        }
    }
    return acc;
}

// Global (Tout, Cout, B).
__kernel void conv1d_forward(int B, int Cin, int Cout, int T, int K, int S, int P, int D, int To,
                             __global const float* x, int xo, __global const float* w, int wo,
                             __global const float* bias, int bo, __global float* y, int yo) {
    int t = get_global_id(0), o = get_global_id(1), b = get_global_id(2);
    if (t >= To || o >= Cout || b >= B) return;
    y[yo + (b * Cout + o) * To + t] = conv_forward_at(Cin, T, K, S, P, D, x + xo + b * Cin * T, w + wo + o * Cin * K,
                                                      bias[bo + o], t);
}

// Global (T, Cin, B).
__kernel void conv1d_backward_data(int B, int Cin, int Cout, int T, int K, int S, int P, int D, int To,
                                   __global const float* dy, int dyo, __global const float* w, int wo,
                                   __global float* dx, int dxo) {
    int i = get_global_id(0), c = get_global_id(1), b = get_global_id(2);
    if (i >= T || c >= Cin || b >= B) return;
    dx[dxo + (b * Cin + c) * T + i] = conv_data_at(Cin, Cout, K, S, P, D, To, dy + dyo + b * Cout * To, w + wo + c * K, i);
}

// Global (K, Cin, Cout).
__kernel void conv1d_backward_weight(int B, int Cin, int Cout, int T, int K, int S, int P, int D, int To,
                                     __global const float* x, int xo, __global const float* dy, int dyo,
                                     __global float* dw, int dwo) {
    int k = get_global_id(0), c = get_global_id(1), o = get_global_id(2);
    if (k >= K || c >= Cin || o >= Cout) return;
    dw[dwo + (o * Cin + c) * K + k] = conv_weight_at(B, Cin, Cout, T, S, P, D, To, x + xo, dy + dyo, o, c, k);
}

// Register-blocked twins for CPU-type devices (stride 1 only; the host picks them with matmul_rb).
// A work-item owns RB_M rows × RB_N consecutive columns of one product and computes them as a
// block of float16 accumulators whose B rows are slices of x (forward), dy (dx) or xᵀ (dW), read
// in place. The block is shifted to lie inside the rows and the interior columns (every tap in
// range) and only the owned outputs are stored; owned outputs outside the interior, or every
// output when the product is smaller than a block, take the scalar chain above. Each output is
// the same chain in the same order either way, so the bits equal the simple kernels'.
// Global (ceil(cols / RB_N), ceil(rows / RB_M), B or K), local (1, 1, 1).

#define CRB_DECL_V(r, v) float16 RB_ACC(r, v) = start##r;
#define CRB_DECL(r) RB_FOR_VECS(CRB_DECL_V, r)
#define CRB_STORE_V(r, v) store16_within(RB_ACC(r, v), out + (r0 + r) * outRow, step, vs + 16 * (v), lo, hi, r0 + (r) >= i0);
#define CRB_STORE(r) RB_FOR_VECS(CRB_STORE_V, r)
#define CRB_BIAS(r) float16 start##r = (float16)(bias[bo + r0 + (r)]);
#define CRB_ZERO(r) float16 start##r = (float16)(0.0f);
// dW blocks: the first launch starts from +0, later ones from the stored partial chain.
#define CRB_LOAD_V(r, v) float16 RB_ACC(r, v) = q0 == 0 ? (float16)(0.0f) : load16_within(out + (r0 + r) * outRow, step, vs + 16 * (v), lo, hi, r0 + (r) >= i0);
#define CRB_LOAD(r) RB_FOR_VECS(CRB_LOAD_V, r)

// y[b] (Cout × To) = w (Cout × Cin·K) · slices of x[b]: row (c, k) of B is x[b, c, t - P + k·D].
__kernel void conv1d_forward_rb(int B, int Cin, int Cout, int T, int K, int S, int P, int D, int To,
                                __global const float* x, int xo, __global const float* w, int wo,
                                __global const float* bias, int bo, __global float* y, int yo) {
    int j0 = get_global_id(0) * RB_N, i0 = get_global_id(1) * RB_M, b = get_global_id(2);
    if (j0 >= To || i0 >= Cout) return;
    int j1 = min(To, j0 + RB_N), i1 = min(Cout, i0 + RB_M);
    int lo = max(j0, P), hi = min(j1, T + P - (K - 1) * D);         // owned interior columns
    int inLo = P, inHi = min(To, T + P - (K - 1) * D);                // all interior columns
    __global const float* xb = x + xo + b * Cin * T;
    __global float* out = y + yo + b * Cout * To;
    int vec = inHi - inLo >= RB_N && Cout >= RB_M && lo < hi;
    if (vec) {
        int vs = clamp(j0, inLo, inHi - RB_N), r0 = min(i0, Cout - RB_M), ar = Cin * K, outRow = To, step = 1;
        RB_FOR_ROWS(CRB_BIAS)
        RB_FOR_ROWS(CRB_DECL)
        for (int c = 0; c < Cin; c++) {
            for (int k = 0; k < K; k++) {
                __global const float* bk = xb + c * T + vs - P + k * D;
                __global const float* ak = w + wo + r0 * ar + c * K + k;
                RB_FOR_B(RB_LOAD_B)
                RB_FOR_ROWS(RB_FMA)
            }
        }
        RB_FOR_ROWS(CRB_STORE)
    }
    for (int o = i0; o < i1; o++)
        for (int t = j0; t < j1; t++)
            if (!vec || t < lo || t >= hi)
                out[o * To + t] = conv_forward_at(Cin, T, K, S, P, D, xb, w + wo + o * Cin * K, bias[bo + o], t);
}

// dx[b] (Cin × T) = Σ over (o, k) of w[o, c, k] · dy[b, o, i + P - k·D].
// Edge columns (taps outside dy) run 8 channels per vector from wt = w permuted to (Cout, K, Cin).
__kernel void conv1d_backward_data_rb(int B, int Cin, int Cout, int T, int K, int S, int P, int D, int To,
                                      __global const float* dy, int dyo, __global const float* w, int wo,
                                      __global const float* wt, int wto, __global float* dx, int dxo) {
    int j0 = get_global_id(0) * RB_N, i0 = get_global_id(1) * RB_M, b = get_global_id(2);
    if (j0 >= T || i0 >= Cin) return;
    int j1 = min(T, j0 + RB_N), i1 = min(Cin, i0 + RB_M);
    int inLo = max(0, (K - 1) * D - P), inHi = min(T, To - P);
    int lo = max(j0, inLo), hi = min(j1, inHi);
    __global const float* dyb = dy + dyo + b * Cout * To;
    __global float* out = dx + dxo + b * Cin * T;
    int vec = inHi - inLo >= RB_N && Cin >= RB_M && lo < hi;
    if (vec) {
        int vs = clamp(j0, inLo, inHi - RB_N), r0 = min(i0, Cin - RB_M), ar = K, outRow = T, step = 1;
        RB_FOR_ROWS(CRB_ZERO)
        RB_FOR_ROWS(CRB_DECL)
        for (int o = 0; o < Cout; o++) {
            for (int k = 0; k < K; k++) {
                __global const float* bk = dyb + o * To + vs + P - k * D;
                __global const float* ak = w + wo + o * Cin * K + r0 * K + k;
                RB_FOR_B(RB_LOAD_B)
                RB_FOR_ROWS(RB_FMA)
            }
        }
        RB_FOR_ROWS(CRB_STORE)
    }
    for (int i = j0; i < j1; i++) {
        if (vec && i >= lo && i < hi) continue;
        if (Cin < 8) {
            for (int c = i0; c < i1; c++) out[c * T + i] = conv_data_at(Cin, Cout, K, S, P, D, To, dyb, w + wo + c * K, i);
            continue;
        }
        // the taps inside dy, k in [k0, k1]: i + P - k·D in [0, To) (stride 1; i + P ≥ 0)
        int k0 = i + P - To < 0 ? 0 : (i + P - To) / D + 1, k1 = min(K - 1, (i + P) / D);
        for (int cb = i0; cb < i1; cb += 8) {
            int cs = min(cb, Cin - 8);
            float8 acc = (float8)(0.0f);
            for (int o = 0; o < Cout; o++) {
                for (int k = k0; k <= k1; k++) {
                    acc = fma(vload8(0, wt + wto + (o * K + k) * Cin + cs), (float8)(dyb[o * To + i + P - k * D]), acc);
                }
            }
            float lanes[8];
            vstore8(acc, 0, lanes);
            for (int l = 0; l < 8; l++) if (cs + l >= cb && cs + l < i1) out[(cs + l) * T + i] = lanes[l];
        }
    }
}

// dw[:, :, k] (Cout × Cin) = Σ over (b, t) of dy[b, o, t] · xt[b, t - P + k·D, c], xt = x transposed
// per batch to (T × Cin) by the host; one k per work-item along the third dimension. The chain runs
// in launches over positions [q0, q1) of its (b, t) order, each continuing from the stored value
// (the first from +0), so that a block of dy and xt stays in cache for every work-item. A product
// smaller than a block runs the whole scalar chain in the launch with q0 = 0.
__kernel void conv1d_backward_weight_rb(int B, int Cin, int Cout, int T, int K, int S, int P, int D, int To,
                                        int q0, int q1, __global const float* x, int xo, __global const float* xt, int xto,
                                        __global const float* dy, int dyo, __global float* dw, int dwo) {
    int j0 = get_global_id(0) * RB_N, i0 = get_global_id(1) * RB_M, k = get_global_id(2);
    if (j0 >= Cin || i0 >= Cout) return;
    int j1 = min(Cin, j0 + RB_N), i1 = min(Cout, i0 + RB_M);
    if (Cin >= RB_N && Cout >= RB_M) {
        int vs = min(j0, Cin - RB_N), r0 = min(i0, Cout - RB_M), ar = To, outRow = Cin * K, step = K, lo = j0, hi = j1;
        int t0 = max(0, P - k * D), t1 = min(To, T + P - k * D);   // t whose tap k is inside x
        __global float* out = dw + dwo + k;
        RB_FOR_ROWS(CRB_LOAD)
        for (int q = q0; q < q1;) {
            int b = q / To, ta = q % To, tb = min(To, ta + q1 - q);
            for (int t = max(ta, t0); t < min(tb, t1); t++) {
                __global const float* bk = xt + xto + (b * T + t - P + k * D) * Cin + vs;
                __global const float* ak = dy + dyo + (b * Cout + r0) * To + t;
                RB_FOR_B(RB_LOAD_B)
                RB_FOR_ROWS(RB_FMA)
            }
            q += tb - ta;
        }
        RB_FOR_ROWS(CRB_STORE)
        return;
    }
    if (q0 != 0) return;
    for (int o = i0; o < i1; o++)
        for (int c = j0; c < j1; c++)
            dw[dwo + (o * Cin + c) * K + k] = conv_weight_at(B, Cin, Cout, T, S, P, D, To, x + xo, dy + dyo, o, c, k);
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

#pragma OPENCL FP_CONTRACT OFF
// Fused LSTM / GRU cells; twin of CPUBackend+Recurrent.swift. Global (H, B).

// One text per cell for every vector width (as CLBlast does with its VW): CELL_KERNELS(NAME, W, T, SUF)
// expands to the kernel NAME on W units per work-item (global (H / W, B); W = 16 needs H a multiple
// of 16), on type T, with the portable math of suffix SUF (`psigmoid`, `psigmoid16`). Every unit
// runs the same operations at every width, so the widths give the same bits.
#define LOAD_1(p) (*(p))
#define STORE_1(v, p) (*(p) = (v))
#define LOAD_16(p) vload16(0, (p))
#define STORE_16(v, p) vstore16((v), 0, (p))

#define LSTM_FORWARD(NAME, W, T, SUF) \
__kernel void NAME(int B, int H, __global const float* gates, int go, __global const float* cp, int cpo, \
                   __global float* act, int ao, __global float* c, int co, __global float* h, int ho) { \
    int j = get_global_id(0) * W, b = get_global_id(1); \
    if (j >= H || b >= B) return; \
    int e = b * H + j, g0 = b * 4 * H + j; \
    T i = psigmoid##SUF(LOAD_##W(gates + go + g0)), f = psigmoid##SUF(LOAD_##W(gates + go + g0 + H)); \
    T g = ptanh##SUF(LOAD_##W(gates + go + g0 + 2 * H)), o = psigmoid##SUF(LOAD_##W(gates + go + g0 + 3 * H)); \
    T cn = fma(f, LOAD_##W(cp + cpo + e), i * g); \
    STORE_##W(i, act + ao + g0); STORE_##W(f, act + ao + g0 + H); STORE_##W(g, act + ao + g0 + 2 * H); STORE_##W(o, act + ao + g0 + 3 * H); \
    STORE_##W(cn, c + co + e); \
    STORE_##W(o * ptanh##SUF(cn), h + ho + e); \
}
LSTM_FORWARD(lstm_forward, 1, float, )
LSTM_FORWARD(lstm_forward16, 16, float16, 16)

#define LSTM_BACKWARD(NAME, W, T, SUF) \
__kernel void NAME(int B, int H, __global const float* act, int ao, __global const float* cp, int cpo, \
                   __global const float* c, int co, __global const float* dh, int dho, \
                   int hasNext, __global const float* dcn, int dcno, \
                   __global float* dg, int dgo, __global float* dcp, int dcpo) { \
    int j = get_global_id(0) * W, b = get_global_id(1); \
    if (j >= H || b >= B) return; \
    int e = b * H + j, g0 = b * 4 * H + j; \
    T i = LOAD_##W(act + ao + g0), f = LOAD_##W(act + ao + g0 + H); \
    T g = LOAD_##W(act + ao + g0 + 2 * H), o = LOAD_##W(act + ao + g0 + 3 * H); \
    T tc = ptanh##SUF(LOAD_##W(c + co + e)), d = LOAD_##W(dh + dho + e); \
    T next = hasNext ? LOAD_##W(dcn + dcno + e) : (T)0.0f; \
    T dc = fma(d * o, fma(-tc, tc, (T)1.0f), next); \
    STORE_##W((dc * g) * fma(-i, i, i), dg + dgo + g0); \
    STORE_##W((dc * LOAD_##W(cp + cpo + e)) * fma(-f, f, f), dg + dgo + g0 + H); \
    STORE_##W((dc * i) * fma(-g, g, (T)1.0f), dg + dgo + g0 + 2 * H); \
    STORE_##W((d * tc) * fma(-o, o, o), dg + dgo + g0 + 3 * H); \
    STORE_##W(dc * f, dcp + dcpo + e); \
}
LSTM_BACKWARD(lstm_backward, 1, float, )
LSTM_BACKWARD(lstm_backward16, 16, float16, 16)

#define GRU_FORWARD(NAME, W, T, SUF) \
__kernel void NAME(int B, int H, __global const float* gi, int gio, __global const float* gh, int gho, \
                   __global const float* hp, int hpo, __global float* act, int ao, __global float* h, int ho) { \
    int j = get_global_id(0) * W, b = get_global_id(1); \
    if (j >= H || b >= B) return; \
    int e = b * H + j, g0 = b * 3 * H + j, a0 = b * 4 * H + j; \
    T r = psigmoid##SUF(LOAD_##W(gi + gio + g0) + LOAD_##W(gh + gho + g0)); \
    T z = psigmoid##SUF(LOAD_##W(gi + gio + g0 + H) + LOAD_##W(gh + gho + g0 + H)); \
    T ghn = LOAD_##W(gh + gho + g0 + 2 * H); \
    T n = ptanh##SUF(fma(r, ghn, LOAD_##W(gi + gio + g0 + 2 * H))); \
    STORE_##W(r, act + ao + a0); STORE_##W(z, act + ao + a0 + H); STORE_##W(n, act + ao + a0 + 2 * H); STORE_##W(ghn, act + ao + a0 + 3 * H); \
    STORE_##W(fma(z, LOAD_##W(hp + hpo + e) - n, n), h + ho + e); \
}
GRU_FORWARD(gru_forward, 1, float, )
GRU_FORWARD(gru_forward16, 16, float16, 16)

__kernel void gru_backward(int B, int H, __global const float* act, int ao, __global const float* hp, int hpo,
                           __global const float* dh, int dho, __global float* dgi, int dgio,
                           __global float* dgh, int dgho, __global float* dhp, int dhpo) {
    int j = get_global_id(0), b = get_global_id(1);
    if (j >= H || b >= B) return;
    int e = b * H + j, g0 = b * 3 * H + j, a0 = b * 4 * H + j;
    float r = act[ao + a0], z = act[ao + a0 + H], n = act[ao + a0 + 2 * H], ghn = act[ao + a0 + 3 * H];
    float d = dh[dho + e];
    float dnPre = (d * (1.0f - z)) * fma(-n, n, 1.0f);
    float dzPre = (d * (hp[hpo + e] - n)) * fma(-z, z, z);
    float drPre = (dnPre * ghn) * fma(-r, r, r);
    dgi[dgio + g0] = drPre; dgi[dgio + g0 + H] = dzPre; dgi[dgio + g0 + 2 * H] = dnPre;
    dgh[dgho + g0] = drPre; dgh[dgho + g0 + H] = dzPre; dgh[dgho + g0 + 2 * H] = dnPre * r;
    dhp[dhpo + e] = d * z;
}

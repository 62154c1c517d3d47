#pragma OPENCL FP_CONTRACT OFF
// Fused LSTM / GRU cells; twin of CPUBackend+Recurrent.swift. Global (H, B).

__kernel void lstm_forward(int B, int H, __global const float* gates, int go, __global const float* cp, int cpo,
                           __global float* act, int ao, __global float* c, int co, __global float* h, int ho) {
    int j = get_global_id(0), b = get_global_id(1);
    if (j >= H || b >= B) return;
    int e = b * H + j, g0 = b * 4 * H + j;
    float i = psigmoid(gates[go + g0]), f = psigmoid(gates[go + g0 + H]);
    float g = ptanh(gates[go + g0 + 2 * H]), o = psigmoid(gates[go + g0 + 3 * H]);
    float cn = fma(f, cp[cpo + e], i * g);
    act[ao + g0] = i; act[ao + g0 + H] = f; act[ao + g0 + 2 * H] = g; act[ao + g0 + 3 * H] = o;
    c[co + e] = cn;
    h[ho + e] = o * ptanh(cn);
}

// 16 units per work-item (H a multiple of 16), global (H / 16, B): the same operations per unit as
// lstm_forward on float16 (CPU-type devices).
__kernel void lstm_forward16(int B, int H, __global const float* gates, int go, __global const float* cp, int cpo,
                             __global float* act, int ao, __global float* c, int co, __global float* h, int ho) {
    int j = get_global_id(0) * 16, b = get_global_id(1);
    if (j >= H || b >= B) return;
    int e = b * H + j, g0 = b * 4 * H + j;
    float16 i = psigmoid16(vload16(0, gates + go + g0)), f = psigmoid16(vload16(0, gates + go + g0 + H));
    float16 g = ptanh16(vload16(0, gates + go + g0 + 2 * H)), o = psigmoid16(vload16(0, gates + go + g0 + 3 * H));
    float16 cn = fma(f, vload16(0, cp + cpo + e), i * g);
    vstore16(i, 0, act + ao + g0); vstore16(f, 0, act + ao + g0 + H); vstore16(g, 0, act + ao + g0 + 2 * H); vstore16(o, 0, act + ao + g0 + 3 * H);
    vstore16(cn, 0, c + co + e);
    vstore16(o * ptanh16(cn), 0, h + ho + e);
}

__kernel void lstm_backward(int B, int H, __global const float* act, int ao, __global const float* cp, int cpo,
                            __global const float* c, int co, __global const float* dh, int dho,
                            int hasNext, __global const float* dcn, int dcno,
                            __global float* dg, int dgo, __global float* dcp, int dcpo) {
    int j = get_global_id(0), b = get_global_id(1);
    if (j >= H || b >= B) return;
    int e = b * H + j, g0 = b * 4 * H + j;
    float i = act[ao + g0], f = act[ao + g0 + H], g = act[ao + g0 + 2 * H], o = act[ao + g0 + 3 * H];
    float tc = ptanh(c[co + e]), d = dh[dho + e];
    float next = hasNext ? dcn[dcno + e] : 0.0f;
    float dc = fma(d * o, fma(-tc, tc, 1.0f), next);
    dg[dgo + g0] = (dc * g) * fma(-i, i, i);
    dg[dgo + g0 + H] = (dc * cp[cpo + e]) * fma(-f, f, f);
    dg[dgo + g0 + 2 * H] = (dc * i) * fma(-g, g, 1.0f);
    dg[dgo + g0 + 3 * H] = (d * tc) * fma(-o, o, o);
    dcp[dcpo + e] = dc * f;
}

// lstm_backward on 16 units per work-item (H a multiple of 16), global (H / 16, B).
__kernel void lstm_backward16(int B, int H, __global const float* act, int ao, __global const float* cp, int cpo,
                              __global const float* c, int co, __global const float* dh, int dho,
                              int hasNext, __global const float* dcn, int dcno,
                              __global float* dg, int dgo, __global float* dcp, int dcpo) {
    int j = get_global_id(0) * 16, b = get_global_id(1);
    if (j >= H || b >= B) return;
    int e = b * H + j, g0 = b * 4 * H + j;
    float16 i = vload16(0, act + ao + g0), f = vload16(0, act + ao + g0 + H);
    float16 g = vload16(0, act + ao + g0 + 2 * H), o = vload16(0, act + ao + g0 + 3 * H);
    float16 tc = ptanh16(vload16(0, c + co + e)), d = vload16(0, dh + dho + e);
    float16 next = hasNext ? vload16(0, dcn + dcno + e) : (float16)0.0f;
    float16 dc = fma(d * o, fma(-tc, tc, (float16)1.0f), next);
    vstore16((dc * g) * fma(-i, i, i), 0, dg + dgo + g0);
    vstore16((dc * vload16(0, cp + cpo + e)) * fma(-f, f, f), 0, dg + dgo + g0 + H);
    vstore16((dc * i) * fma(-g, g, (float16)1.0f), 0, dg + dgo + g0 + 2 * H);
    vstore16((d * tc) * fma(-o, o, o), 0, dg + dgo + g0 + 3 * H);
    vstore16(dc * f, 0, dcp + dcpo + e);
}

__kernel void gru_forward(int B, int H, __global const float* gi, int gio, __global const float* gh, int gho,
                          __global const float* hp, int hpo, __global float* act, int ao, __global float* h, int ho) {
    int j = get_global_id(0), b = get_global_id(1);
    if (j >= H || b >= B) return;
    int e = b * H + j, g0 = b * 3 * H + j, a0 = b * 4 * H + j;
    float r = psigmoid(gi[gio + g0] + gh[gho + g0]);
    float z = psigmoid(gi[gio + g0 + H] + gh[gho + g0 + H]);
    float ghn = gh[gho + g0 + 2 * H];
    float n = ptanh(fma(r, ghn, gi[gio + g0 + 2 * H]));
    act[ao + a0] = r; act[ao + a0 + H] = z; act[ao + a0 + 2 * H] = n; act[ao + a0 + 3 * H] = ghn;
    h[ho + e] = fma(z, hp[hpo + e] - n, n);
}

// gru_forward on 16 units per work-item (H a multiple of 16), global (H / 16, B).
__kernel void gru_forward16(int B, int H, __global const float* gi, int gio, __global const float* gh, int gho,
                            __global const float* hp, int hpo, __global float* act, int ao, __global float* h, int ho) {
    int j = get_global_id(0) * 16, b = get_global_id(1);
    if (j >= H || b >= B) return;
    int e = b * H + j, g0 = b * 3 * H + j, a0 = b * 4 * H + j;
    float16 r = psigmoid16(vload16(0, gi + gio + g0) + vload16(0, gh + gho + g0));
    float16 z = psigmoid16(vload16(0, gi + gio + g0 + H) + vload16(0, gh + gho + g0 + H));
    float16 ghn = vload16(0, gh + gho + g0 + 2 * H);
    float16 n = ptanh16(fma(r, ghn, vload16(0, gi + gio + g0 + 2 * H)));
    vstore16(r, 0, act + ao + a0); vstore16(z, 0, act + ao + a0 + H); vstore16(n, 0, act + ao + a0 + 2 * H); vstore16(ghn, 0, act + ao + a0 + 3 * H);
    vstore16(fma(z, vload16(0, hp + hpo + e) - n, n), 0, h + ho + e);
}

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

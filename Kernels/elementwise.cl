#pragma OPENCL FP_CONTRACT OFF
// Elementwise ops and dropout; twin of CPUBackend+Elementwise.swift. Global (n) unless noted.
// Unary op codes: 0 scale, 1 relu, 2 tanh, 3 sigmoid, 4 exp, 5 log. Binary: 0 add, 1 sub, 2 mul, 3 axpy.

inline float unary_value(int op, float alpha, float x) {
    switch (op) {
    case 0: return alpha * x;
    case 1: return x > 0.0f ? x : (isnan(x) ? x : 0.0f);
    case 2: return ptanh(x);
    case 3: return psigmoid(x);
    case 4: return pexp(x);
    default: return plog(x);
    }
}

inline float unary_gradient(int op, float s, float dy) {
    switch (op) {
    case 0: return dy;
    case 1: return s > 0.0f ? dy : 0.0f;
    case 2: return dy * fma(-s, s, 1.0f);
    case 3: return dy * fma(-s, s, s);
    case 4: return dy * s;
    default: return dy / s;
    }
}

__kernel void unary(int op, float alpha, int n, __global const float* x, int xo, __global float* y, int yo) {
    int e = get_global_id(0);
    if (e < n) y[yo + e] = unary_value(op, alpha, x[xo + e]);
}

// tanh (op 2) or sigmoid (op 3) on 16 elements per work-item: global (n / 16), the first n / 16 · 16
// elements; the rest go through `unary`.
__kernel void unary16(int op, int n16, __global const float* x, int xo, __global float* y, int yo) {
    int e = get_global_id(0);
    if (e >= n16) return;
    float16 v = vload16(0, x + xo + 16 * e);
    vstore16(op == 2 ? ptanh16(v) : psigmoid16(v), 0, y + yo + 16 * e);
}

__kernel void unary_backward(int op, int n, __global const float* s, int so, __global const float* dy, int dyo,
                             __global float* dx, int dxo) {
    int e = get_global_id(0);
    if (e < n) dx[dxo + e] = unary_gradient(op, s[so + e], dy[dyo + e]);
}

__kernel void binary(int op, float alpha, int n, __global const float* a, int ao, __global const float* b, int bo,
                     __global float* y, int yo) {
    int e = get_global_id(0);
    if (e >= n) return;
    float u = a[ao + e], v = b[bo + e], r;
    if (op == 0) r = u + v;
    else if (op == 1) r = u - v;
    else if (op == 2) r = u * v;
    else r = fma(alpha, u, v);
    y[yo + e] = r;
}

__kernel void scale_by(int n, __global const float* f, int fo, __global const float* x, int xo,
                       __global float* y, int yo) {
    int e = get_global_id(0);
    if (e < n) y[yo + e] = x[xo + e] * f[fo];
}

__kernel void dropout(uint k0, uint k1, uint s0, uint s1, uint threshold, float scale, int n,
                      __global const float* x, int xo, __global float* y, int yo) {
    int e = get_global_id(0);
    if (e >= n) return;
    int keep = (philox_bits(k0, k1, s0, s1, (uint)e) >> 8) >= threshold;
    y[yo + e] = keep ? x[xo + e] * scale : 0.0f;
}

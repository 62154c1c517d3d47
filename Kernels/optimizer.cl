#pragma OPENCL FP_CONTRACT OFF
// Gradient clipping and optimizer steps; twin of the optimizer part of CPUBackend+Loss.swift.

// One work-item: out = (min(1, maxNorm / (norm + 1e-6)), norm), norm = sqrt(sum of norms in order).
__kernel void clip_coefficient(int n, float maxNorm, __global const float* norms, int no, __global float* out, int oo) {
    if (get_global_id(0) != 0) return;
    float total = 0.0f;
    for (int k = 0; k < n; k++) total = total + norms[no + k];
    float norm = sqrt(total);
    float coef = maxNorm / (norm + 0x1.0c6f7ap-20f);
    out[oo] = coef < 1.0f ? coef : 1.0f;
    out[oo + 1] = norm;
}

__kernel void sgd_step(int n, float negativeRate, float mu, float wd, int nesterov, int hasVelocity,
                       __global float* p, int po, __global const float* g, int go, __global float* v, int vo) {
    int e = get_global_id(0);
    if (e >= n) return;
    float gr = fma(wd, p[po + e], g[go + e]);
    float d = gr;
    if (hasVelocity) {
        float vt = fma(mu, v[vo + e], gr);
        v[vo + e] = vt;
        d = nesterov ? fma(mu, vt, gr) : vt;
    }
    p[po + e] = fma(negativeRate, d, p[po + e]);
}

__kernel void adam_step(int n, float b1, float b2, float oneMinusBeta1, float oneMinusBeta2, float c1, float c2, float eps,
                        float wd, float decayRate, float negativeRate, int decoupled,
                        __global float* p, int po, __global const float* g, int go,
                        __global float* m, int mo, __global float* v, int vo) {
    int e = get_global_id(0);
    if (e >= n) return;
    float gr = g[go + e], w = p[po + e];
    if (decoupled) w = fma(decayRate, w, w); else gr = fma(wd, w, gr);
    float mt = fma(b1, m[mo + e], oneMinusBeta1 * gr);
    float vt = fma(b2, v[vo + e], (oneMinusBeta2 * gr) * gr);
    m[mo + e] = mt;
    v[vo + e] = vt;
    float mhat = mt / c1, vhat = vt / c2;
    p[po + e] = fma(negativeRate, mhat / (sqrt(vhat) + eps), w);
}

#pragma OPENCL FP_CONTRACT OFF
// Data movement: fills, strided copies, transposes; twin of the copies in CPUBackend+Elementwise.swift.

// Global (n). A kernel rather than clEnqueueFillBuffer: oclgrind does not count filled bytes as
// initialised, and a kernel keeps every write to a buffer inside one mechanism.
__kernel void fill_bits(int n, __global uint* d, int o, uint bits) {
    int e = get_global_id(0);
    if (e < n) d[o + e] = bits;
}

// Global (cols, rows).
__kernel void copy2d(int rows, int cols, __global const float* s, int so, int ss, __global float* d, int dof, int ds) {
    int j = get_global_id(0), r = get_global_id(1);
    if (j < cols && r < rows) d[dof + r * ds + j] = s[so + r * ss + j];
}

// Global (ceil(cols/16), ceil(rows/16), batch): dst[b][j][r] = src[b * stride + r * ld + j], dst
// packed (cols x rows). A 16 x 16 block per work-item, so both sides stay in cache lines.
__kernel void transpose_strided(int rows, int cols, int ld, int stride, __global const float* s, int so,
                                __global float* d, int dof) {
    int j0 = get_global_id(0) * 16, r0 = get_global_id(1) * 16, b = get_global_id(2);
    if (r0 >= rows || j0 >= cols) return;
    int r1 = min(rows, r0 + 16), j1 = min(cols, j0 + 16);
    __global const float* src = s + so + b * stride;
    __global float* dst = d + dof + b * rows * cols;
    for (int j = j0; j < j1; j++)
        for (int r = r0; r < r1; r++) dst[j * rows + r] = src[r * ld + j];
}

// Global (rows, cols, batch): dst[b][j][r] = src[b][r][j].
__kernel void transpose(int rows, int cols, __global const float* s, int so, __global float* d, int dof) {
    int r = get_global_id(0), j = get_global_id(1), b = get_global_id(2);
    if (r < rows && j < cols) d[dof + b * rows * cols + j * rows + r] = s[so + b * rows * cols + r * cols + j];
}

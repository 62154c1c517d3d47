// OpenCL host API at the 1.2 level, so the same binary talks to PoCL, NVIDIA, AMD and Intel.
#define CL_TARGET_OPENCL_VERSION 120
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#include <CL/cl.h>

// A hint that the cache line at p will be read soon: fetch it into L2 (prefetcht1 on x86).
static inline void recur_prefetch_l2(const void *p) { __builtin_prefetch(p, 0, 2); }

// 1 when the code is compiled for 512-bit vectors (AVX-512: 32 vector registers), else 0.
static inline int recur_wide_vectors(void) {
#if defined(__AVX512F__)
    return 1;
#else
    return 0;
#endif
}

// OpenCL host API at the 1.2 level, so the same binary talks to PoCL, NVIDIA, AMD and Intel.
#define CL_TARGET_OPENCL_VERSION 120
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#include <CL/cl.h>

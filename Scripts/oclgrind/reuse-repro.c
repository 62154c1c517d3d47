// oclgrind 21.10 --uninitialized: a false report after a buffer is released and a larger one is
// created. Round 1 writes 1 float through kernel w, round 2 writes 13: kernel r then reads values
// w wrote, yet oclgrind reports "Uninitialized value written" for every element past the first.
// Never releasing buffers (or equal sizes) makes it clean. Recur sets RECUR_CL_KEEP_BUFFERS=1
// under oclgrind for this reason (Scripts/oclgrind-check.sh).
//   clang -o /tmp/repro Scripts/oclgrind/reuse-repro.c -lOpenCL && oclgrind --uninitialized /tmp/repro
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <stdio.h>
static const char* src =
    "__kernel void w(__global float* s) { int i = get_global_id(0); s[i] = (float)i; }\n"
    "__kernel void r(__global const float* s, __global float* d) { int i = get_global_id(0); d[i] = s[i] * 2.0f; }\n";
int main(void) {
    cl_platform_id p; cl_device_id dev; cl_int e;
    clGetPlatformIDs(1, &p, NULL);
    clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 1, &dev, NULL);
    cl_context ctx = clCreateContext(NULL, 1, &dev, NULL, NULL, &e);
    cl_command_queue q = clCreateCommandQueue(ctx, dev, 0, &e);
    cl_program prog = clCreateProgramWithSource(ctx, 1, &src, NULL, &e);
    clBuildProgram(prog, 1, &dev, "", NULL, NULL);
    for (int round = 0; round < 2; round++) {
        size_t n = round == 0 ? 1 : 13;
        cl_mem s = clCreateBuffer(ctx, CL_MEM_READ_WRITE, 4 * n, NULL, &e);
        cl_mem d = clCreateBuffer(ctx, CL_MEM_READ_WRITE, 4 * n, NULL, &e);
        cl_kernel kw = clCreateKernel(prog, "w", &e), kr = clCreateKernel(prog, "r", &e);
        clSetKernelArg(kw, 0, sizeof s, &s);
        clSetKernelArg(kr, 0, sizeof s, &s);
        clSetKernelArg(kr, 1, sizeof d, &d);
        clEnqueueNDRangeKernel(q, kw, 1, NULL, &n, NULL, 0, NULL, NULL);
        clEnqueueNDRangeKernel(q, kr, 1, NULL, &n, NULL, 0, NULL, NULL);
        float out[13];
        clEnqueueReadBuffer(q, d, CL_TRUE, 0, 4 * n, out, 0, NULL, NULL);
        printf("round %d: last = %g\n", round, out[n - 1]);
        clReleaseKernel(kw); clReleaseKernel(kr); clReleaseMemObject(s); clReleaseMemObject(d);
    }
    return 0;
}

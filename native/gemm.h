// corefit's own GEMM kernels: the three products of a dense layer, each with its fused
// epilogue, for one instruction set. Matrices are row-major; shapes in comments:
// B rows of the batch, K inputs of a layer, N its units.
//
// Each instruction set is one instance of the generic kernel in gemm_kernel.h, compiled
// in its own file with its own flags (binding.gyp). kernel_path_choose picks the best one
// the CPU runs; every caller keeps its own choice (no mutable globals).
#pragma once

#include <cstddef>

// The largest block of the inner dimension and register tile of any path (what the work
// buffer is sized for).
constexpr int GEMM_KC = 512;
constexpr int GEMM_MAX_MC = 256;
constexpr int GEMM_MAX_MR = 16;
constexpr int GEMM_MAX_NR = 32;
// A block of A read in place (rows x kc) is sized to stay in L2: 256 KiB, half of the
// smallest L2 of the cores these paths target.
constexpr int GEMM_A_BLOCK_FLOATS = 65536;
// The work buffer starts with a ragged panel of B [KC, NR] and a block of A [MC + MR, KC];
// packed B or W^T follow.
constexpr size_t GEMM_WORK_HEAD = (size_t)GEMM_KC * (GEMM_MAX_NR + GEMM_MAX_MC + GEMM_MAX_MR);

enum class Act { Linear, Relu, Sigmoid, Tanh, Elu, Softmax };

enum class KernelPath { Avx512, Avx2, Portable };

struct GemmKernels {
  const char* name;  // "avx512", "avx2", "portable"
  const char* isa;   // what the instance is compiled for, e.g. "AVX-512F, 14x32 tiles"

  // c[B, N] = act(x[B, K] @ w[K, N] + bias[N]); act is elementwise here (Softmax is applied
  // as Linear: the caller normalises the rows after).
  void (*forward)(float* c, const float* x, const float* w, const float* bias, Act act, int B, int K, int N,
                  float* work);

  // dw[K, N] (+)= x[B, K]^T @ d[B, N] and db[N] (+)= the sum of d's rows; added to when accumulate.
  void (*weight_grad)(float* dw, float* db, const float* x, const float* d, int B, int K, int N, bool accumulate,
                      float* work);

  // din[B, K] = (d[B, N] @ w[K, N]^T) * act'(out[B, K]), out = act(pre-activation) of the
  // layer below (act elementwise, not Softmax).
  void (*input_grad)(float* din, const float* d, const float* w, const float* out, Act act, int B, int K, int N,
                     float* work);

  // Fused multiply-adds on registers only, for measuring the core's peak (fma_peak_gflops).
  double (*fma_loop)(long iterations, float* sink);
};

// The core's peak FP32 FMA rate on a path: GFLOP/s of its fma_loop, the best of windows of
// about 0.1 ms over `seconds` (a window that short usually runs between the scheduler's
// interruptions on a shared machine).
double fma_peak_gflops(const GemmKernels& kernels, double seconds);

// Floats of `work` the kernels need for a layer of K inputs and N units, on every path.
size_t gemm_work_floats(int K, int N);

// Whether this CPU (and this build) runs a path; why not, when it does not.
bool kernel_path_runs(KernelPath path, const char** why_not);

// The fastest path this CPU runs.
KernelPath kernel_path_choose();

const GemmKernels& gemm_kernels(KernelPath path);

// The instances, one per file gemm_<isa>.cc.
extern const GemmKernels GEMM_AVX512;
extern const GemmKernels GEMM_AVX2;
extern const GemmKernels GEMM_PORTABLE;

// Which GEMM kernels this CPU runs (gemm.h).
#include "gemm.h"

#include <chrono>

size_t gemm_work_floats(int K, int N) {
  // Then either W^T packed in panels of at most GEMM_MAX_NR columns or a block of GEMM_KC
  // rows of B packed (of K or of the batch: the inner dimension).
  const size_t wt = (size_t)(K + GEMM_MAX_NR) * N, block = (size_t)GEMM_KC * (N + GEMM_MAX_NR);
  return GEMM_WORK_HEAD + (wt > block ? wt : block);
}

bool kernel_path_runs(KernelPath path, const char** why_not) {
  switch (path) {
    case KernelPath::Portable:
      return true;
#if defined(__x86_64__)
    case KernelPath::Avx512:
      *why_not = "this CPU has no AVX-512F";
      return __builtin_cpu_supports("avx512f");
    case KernelPath::Avx2:
      *why_not = "this CPU has no AVX2 with FMA";
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    default:
      *why_not = "built for a CPU other than x86-64";
      return false;
#endif
  }
  return false;
}

KernelPath kernel_path_choose() {
  const char* why_not = nullptr;
  if (kernel_path_runs(KernelPath::Avx512, &why_not)) return KernelPath::Avx512;
  if (kernel_path_runs(KernelPath::Avx2, &why_not)) return KernelPath::Avx2;
  return KernelPath::Portable;
}

const GemmKernels& gemm_kernels(KernelPath path) {
  switch (path) {
#if defined(__x86_64__)
    case KernelPath::Avx512:
      return GEMM_AVX512;
    case KernelPath::Avx2:
      return GEMM_AVX2;
#endif
    default:
      return GEMM_PORTABLE;
  }
}

double fma_peak_gflops(const GemmKernels& kernels, double seconds) {
  using clock = std::chrono::steady_clock;
  constexpr long WINDOW = 1 << 15;  // iterations: ~0.1 ms at 12 x 2 vector FMAs per 4 cycles
  const clock::time_point start = clock::now();
  float sink = 0.0f;
  double best = 0.0;
  for (clock::time_point t = start; std::chrono::duration<double>(t - start).count() < seconds;) {
    const double flops = kernels.fma_loop(WINDOW, &sink);
    const clock::time_point end = clock::now();
    const double rate = flops / std::chrono::duration<double>(end - t).count() / 1e9;
    best = rate > best ? rate : best;
    t = end;
  }
  return best;
}

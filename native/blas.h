// The BLAS corefit links: Accelerate on macOS, OpenBLAS elsewhere (binding.gyp).
#pragma once

#if defined(__APPLE__)
#include <Accelerate/Accelerate.h>
#define COREFIT_BLAS_NAME "accelerate"
#else
#include <cblas.h>
#define COREFIT_BLAS_NAME "openblas"
#endif

// Parallelism is across worker threads, so BLAS must not start threads of its own.
static inline void blas_use_one_thread() {
#if !defined(__APPLE__)
  openblas_set_num_threads(1);
#endif
}

// Threads BLAS will use (-1 where the library cannot say).
static inline int blas_threads() {
#if defined(__APPLE__)
  return -1;
#else
  return openblas_get_num_threads();
#endif
}

static inline const char* blas_config() {
#if defined(__APPLE__)
  return "Accelerate";
#else
  return openblas_get_config();
#endif
}

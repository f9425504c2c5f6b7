// What makes the elementwise kernels vectorize.
//
// The exp/log per output unit (sigmoid+BCE over 784 units) cost ~630 us per batch of 50
// scalar, about as much as all the GEMMs. glibc's libmvec has SIMD versions, but its
// headers only declare them under -ffast-math, whose other effects we do not want; so we
// declare them here exactly as glibc does, and compile the kernels for AVX-512, AVX2 and
// baseline x86-64, picked by the loader (measured: 630 -> 41 us on the seed model's output).
#pragma once

#include <cmath>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__GLIBC__)
extern "C" {
__attribute__((simd("notinbranch"))) float expf(float) noexcept;
__attribute__((simd("notinbranch"))) float logf(float) noexcept;
#if __GLIBC_PREREQ(2, 35)  // older libmvecs lack these; the loops stay scalar there
__attribute__((simd("notinbranch"))) float expm1f(float) noexcept;
__attribute__((simd("notinbranch"))) float log1pf(float) noexcept;
__attribute__((simd("notinbranch"))) float tanhf(float) noexcept;
#endif
}
#define COREFIT_KERNEL __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define COREFIT_KERNEL
#endif

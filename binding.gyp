# The native engine (native/): a Node-API addon with corefit's own GEMM kernels, built by
# `node native/build.mjs` (the package's install script) with node-gyp's C++ compiler and
# nothing else. Each instruction set's kernels (native/gemm_<isa>.cc) are a static library
# of their own, compiled with that set's flags; the addon picks one at load (native/gemm.cc).
# No -march=native: the build runs on any CPU of its architecture.
{
  'variables': {
    # -fopenmp-simd: honour `#pragma omp simd` (vectorized reductions) without OpenMP threads.
    # No -ffast-math: native/vector_math.h gets vector exp/log without it.
    # -ffp-contract=off: no fused multiply-adds the code did not ask for, so that Adam's bits
    # equal the TypeScript reference's (src/optim/adam.ts) on every CPU; the GEMM kernels' FMAs are explicit.
    'corefit_cflags': ['-O3', '-fopenmp-simd', '-fno-math-errno', '-fno-trapping-math', '-ffp-contract=off'],
  },
  'target_defaults': {
    'cflags_cc': ['<@(corefit_cflags)'],
    'xcode_settings': {
      'GCC_OPTIMIZATION_LEVEL': '3',
      'OTHER_CPLUSPLUSFLAGS': ['<@(corefit_cflags)'],
    },
  },
  'targets': [
    {
      'target_name': 'corefit',
      'sources': ['native/corefit.cc', 'native/model.cc', 'native/kernels.cc', 'native/gemm.cc',
                  'native/gemm_portable.cc'],
      'conditions': [
        ['target_arch=="x64"', {'dependencies': ['corefit_gemm_avx2', 'corefit_gemm_avx512']}],
      ],
    },
  ],
  'conditions': [
    ['target_arch=="x64"', {
      'targets': [
        {
          'target_name': 'corefit_gemm_avx2',
          'type': 'static_library',
          'sources': ['native/gemm_avx2.cc'],
          'cflags_cc': ['-fPIC', '-mavx2', '-mfma'],
          'xcode_settings': {'OTHER_CPLUSPLUSFLAGS': ['-mavx2', '-mfma']},
        },
        {
          'target_name': 'corefit_gemm_avx512',
          'type': 'static_library',
          'sources': ['native/gemm_avx512.cc'],
          'cflags_cc': ['-fPIC', '-mavx512f', '-mfma'],
          'xcode_settings': {'OTHER_CPLUSPLUSFLAGS': ['-mavx512f', '-mfma']},
        },
      ],
    }],
  ],
}

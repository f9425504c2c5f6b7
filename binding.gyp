# The native engine (native/): a Node-API addon over BLAS, built by `node native/build.mjs`
# (the package's install script). Linux links OpenBLAS, found by native/blas.mjs; macOS
# links Accelerate.
{
  'targets': [
    {
      'target_name': 'corefit',
      'sources': ['native/corefit.cc', 'native/model.cc', 'native/kernels.cc'],
      # -fopenmp-simd: honour `#pragma omp simd` (vectorized reductions) without OpenMP threads.
      # No -ffast-math: native/vector_math.h gets vector exp/log without it.
      # -ffp-contract=off: no fused multiply-adds, so that Adam's bits equal tfjs's
      # (src/optim/adam.ts) on every CPU.
      'cflags_cc': ['-O3', '-fopenmp-simd', '-fno-math-errno', '-fno-trapping-math', '-ffp-contract=off'],
      'conditions': [
        ['OS=="mac"', {
          'link_settings': {'libraries': ['-framework Accelerate']},
          'xcode_settings': {
            'GCC_OPTIMIZATION_LEVEL': '3',
            'OTHER_CPLUSPLUSFLAGS': ['-fopenmp-simd', '-fno-math-errno', '-fno-trapping-math', '-ffp-contract=off'],
          },
        }, {
          'include_dirs': ['<!@(node native/blas.mjs include_dirs)'],
          'libraries': ['<!@(node native/blas.mjs libraries)'],
        }],
      ],
    },
  ],
}

# corefit's MPI transport (native/mpi/mpi.cc), built by native/mpi/build.mjs where `mpicc`
# is found; its compile and link flags come from `mpicc --showme:compile|link`.
{
  'targets': [
    {
      'target_name': 'corefit_mpi',
      'sources': ['mpi.cc'],
      # The C API only: not Open MPI's deprecated C++ bindings, which need libmpi_cxx.
      'defines': ['OMPI_SKIP_MPICXX', 'MPICH_SKIP_MPICXX'],
      'cflags_cc': ['-O2', '<!@(mpicc --showme:compile)'],
      'libraries': ['<!@(mpicc --showme:link)', '-ldl'],
    },
  ],
}

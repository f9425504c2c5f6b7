/**
 * The MPI transport's addon (native/mpi/), built at install only where `mpicc` exists.
 * Loaded only by the communication thread: every MPI call happens there.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { UsageError } from '../../errors.js';
import { PACKAGE_ROOT } from '../../paths.js';

export const MPI_ADDON = join(PACKAGE_ROOT, 'native', 'mpi', 'build', 'Release', 'corefit_mpi.node');

/** How a wait for a collective ended. */
export type WaitResult = 'done' | 'timeout' | 'aborted';

/** native/mpi/mpi.cc documents the calls; counts and displacements are in bytes. */
export interface MpiAddon {
  init(): { rank: number; size: number; host: string; threadLevel: string };
  allgather(send: ArrayBufferView, recv: ArrayBufferView, abortFlag: Int32Array, timeoutSeconds: number): WaitResult;
  allgatherv(
    send: ArrayBufferView,
    recv: ArrayBufferView,
    recvCounts: Int32Array,
    recvDispls: Int32Array,
    abortFlag: Int32Array,
    timeoutSeconds: number,
  ): WaitResult;
  alltoallv(
    send: ArrayBufferView,
    sendCounts: Int32Array,
    sendDispls: Int32Array,
    recv: ArrayBufferView,
    recvCounts: Int32Array,
    recvDispls: Int32Array,
    abortFlag: Int32Array,
    timeoutSeconds: number,
  ): WaitResult;
  abort(code: number): never;
  finalize(): void;
}

const GET_IT =
  'Install MPI (Debian/Ubuntu: apt-get install openmpi-bin libopenmpi-dev), then run `npm rebuild corefit` ' +
  '(in a checkout: `node native/mpi/build.mjs`), and start the ranks with mpirun.';

/** Whether this corefit was built with its MPI transport. */
export function mpiAvailable(): boolean {
  return existsSync(MPI_ADDON);
}

/** Throws a UsageError saying how to get the MPI transport where it was not built. */
export function requireMpiTransport(): void {
  if (!mpiAvailable()) throw new UsageError(`--comm mpi needs corefit's MPI transport, which was not built (no mpicc at install time)`, GET_IT);
}

/** The addon, or a UsageError saying how to get it. */
export function loadMpi(): MpiAddon {
  requireMpiTransport();
  try {
    return createRequire(import.meta.url)(MPI_ADDON) as MpiAddon;
  } catch (e) {
    throw new UsageError(`--comm mpi: corefit's MPI transport does not load: ${e instanceof Error ? e.message : String(e)}`, GET_IT);
  }
}

import { describe, expect, it } from 'vitest';
import { describeMachine, machineSummary } from '../src/machine.js';

describe('machineSummary', () => {
  const machine = { ...describeMachine('native', 'avx2'), cpu: 'AMD EPYC', memoryGiB: 24, os: 'linux 6', node: 'v20.20.2', blasEnv: {} };

  it('counts one core (a rank bound to a core under mpirun) and several', () => {
    expect(machineSummary({ ...machine, cores: 1 })).toBe('AMD EPYC, 1 core, 24 GiB, linux 6, Node v20.20.2; engine native (avx2)');
    expect(machineSummary({ ...machine, cores: 2 })).toContain(', 2 cores, ');
  });

  it("names OpenBLAS's tuning variables when they are set", () => {
    expect(machineSummary({ ...machine, cores: 2, blasEnv: { OPENBLAS_L2_SIZE: '1048576' } })).toMatch(/; OPENBLAS_L2_SIZE=1048576$/);
  });
});

/** Random damage to a valid file, for the fuzz suites: flipped bytes, truncation, appended or inserted bytes. */
import fc from 'fast-check';

/** One kind of damage: flip bytes, truncate, append, or insert. */
export const damage = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }), count: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('append' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
);
export type Damage = typeof damage extends fc.Arbitrary<infer T> ? T : never;

export function apply(bytes: Uint8Array, d: Damage): Uint8Array {
  const at = bytes.length === 0 ? 0 : 'at' in d ? d.at % bytes.length : 0;
  switch (d.kind) {
    case 'set': {
      const out = Uint8Array.from(bytes);
      for (let i = 0; i < d.count && at + i < out.length; i++) out[at + i] = d.value;
      return out;
    }
    case 'truncate':
      return bytes.subarray(0, at);
    case 'append':
      return Uint8Array.from([...bytes, ...d.bytes]);
    case 'insert':
      return Uint8Array.from([...bytes.subarray(0, at), ...d.bytes, ...bytes.subarray(at)]);
  }
}

export const damages = fc.array(damage, { minLength: 1, maxLength: 3 });
export const applyAll = (bytes: Uint8Array, ds: Damage[]): Uint8Array => ds.reduce(apply, bytes);

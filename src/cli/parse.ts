/**
 * Parsers for command-line values: they turn strings into values and refuse only what is
 * not a value of the kind at all. Ranges and how options go together are checked once,
 * in train/options.ts.
 */
import { InvalidArgumentError } from 'commander';

export function wholeNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n)) throw new InvalidArgumentError(`expected a whole number, got "${value}".`);
  return n;
}

export function finiteNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`expected a number, got "${value}".`);
  return n;
}

export function wholeNumberList(value: string): number[] {
  return value.split(',').map((part) => wholeNumber(part.trim()));
}

export function oneOf<T extends string>(choices: readonly T[]): (value: string) => T {
  return (value) => {
    if (!(choices as readonly string[]).includes(value)) {
      throw new InvalidArgumentError(`expected one of ${choices.join(', ')}, got "${value}".`);
    }
    return value as T;
  };
}

/** A TCP port; 0 asks for any free one. A number outside 0–65535 is no port at all. */
export function port(value: string): number {
  const n = wholeNumber(value);
  if (n < 0 || n > 65535) throw new InvalidArgumentError(`expected a port from 0 to 65535, got "${value}".`);
  return n;
}

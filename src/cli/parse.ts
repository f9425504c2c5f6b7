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

/** Parsers for command-line values: each names the flag and the rule it broke. */
import { InvalidArgumentError } from 'commander';

export function wholeNumber(min: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < min) {
      throw new InvalidArgumentError(`expected a whole number ≥ ${min}, got "${value}".`);
    }
    return n;
  };
}

export function positiveNumber(allowZero: boolean): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < 0 || (!allowZero && n === 0)) {
      throw new InvalidArgumentError(`expected a number ${allowZero ? '≥' : '>'} 0, got "${value}".`);
    }
    return n;
  };
}

export function wholeNumberList(min: number): (value: string) => number[] {
  const one = wholeNumber(min);
  return (value) => value.split(',').map((part) => one(part.trim()));
}

export function oneOf<T extends string>(choices: readonly T[]): (value: string) => T {
  return (value) => {
    if (!(choices as readonly string[]).includes(value)) {
      throw new InvalidArgumentError(`expected one of ${choices.join(', ')}, got "${value}".`);
    }
    return value as T;
  };
}

/** A TCP port; 0 asks for any free one. */
export function port(value: string): number {
  const n = wholeNumber(0)(value);
  if (n > 65535) throw new InvalidArgumentError(`expected a port from 0 to 65535, got "${value}".`);
  return n;
}

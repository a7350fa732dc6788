/**
 * A version scheme of one packaging ecosystem: which strings are versions and how they order.
 * `compare` answers like `Array.prototype.sort` (negative, zero, positive) and `undefined` when
 * either side is not a version the scheme can order, so a caller can tell "not affected" from
 * "cannot tell".
 */
export interface VersionScheme {
  readonly name: string;
  isValid(version: string): boolean;
  compare(a: string, b: string): number | undefined;
}

/** Compares two runs of ASCII digits as unbounded non-negative integers. */
export function compareDigits(a: string, b: string): number {
  const x = stripZeros(a);
  const y = stripZeros(b);
  if (x.length !== y.length) return x.length < y.length ? -1 : 1;
  return x < y ? -1 : x > y ? 1 : 0;
}

function stripZeros(s: string): string {
  let i = 0;
  while (i < s.length - 1 && s.charCodeAt(i) === 48) i++;
  return s.slice(i);
}

/** Byte-wise string order (code units), the `strcmp`/`memcmp` order of the reference tools. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export const sign = (n: number): number => (n < 0 ? -1 : n > 0 ? 1 : 0);

export function isAsciiDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

export function isAsciiAlpha(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

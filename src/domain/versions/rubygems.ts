import { type VersionScheme, compareDigits, compareStrings } from './scheme.js';

// Gem::Version (rubygems 3.3): "1.2.3", "1.2.0.a", "1.2.3-beta.1" ("-" is read as ".pre.").
const ANCHORED = /^\s*([0-9]+(?:\.[0-9a-zA-Z]+)*(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?)?\s*$/;

/** A segment: a number (digit string, Ruby integers are unbounded) or a run of letters. */
export type GemSegment = { readonly num: string } | { readonly str: string };

const ZERO: GemSegment = { num: '0' };
const isZero = (s: GemSegment | undefined): boolean => s !== undefined && 'num' in s && /^0+$/.test(s.num);

/**
 * Gem::Version#canonical_segments: the numeric segments before the first letter run and the
 * segments from it on, each with its trailing zeros dropped, so "1.0.0" == "1" and
 * "1.0.a.0" == "1.a".
 */
export function gemSegments(version: string): GemSegment[] | undefined {
  if (!ANCHORED.test(version)) return undefined;
  const v = version.trim() === '' ? '0' : version.trim().replaceAll('-', '.pre.');
  const all: GemSegment[] = (v.match(/[0-9]+|[a-z]+/gi) ?? []).map((s) => (/^[0-9]/.test(s) ? { num: s } : { str: s }));
  const firstString = all.findIndex((s) => 'str' in s);
  const cut = firstString === -1 ? all.length : firstString;
  return [...dropTrailingZeros(all.slice(0, cut)), ...dropTrailingZeros(all.slice(cut))];
}

function dropTrailingZeros(part: GemSegment[]): GemSegment[] {
  let end = part.length;
  while (end > 0 && isZero(part[end - 1])) end--;
  return part.slice(0, end);
}

/** Gem::Version#<=>: a letter run (a pre-release) sorts before any number. */
export function compareGemSegments(a: readonly GemSegment[], b: readonly GemSegment[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const l = a[i] ?? ZERO;
    const r = b[i] ?? ZERO;
    if ('num' in l && 'num' in r) {
      const c = compareDigits(l.num, r.num);
      if (c !== 0) return c;
    } else if ('str' in l && 'str' in r) {
      const c = compareStrings(l.str, r.str);
      if (c !== 0) return c;
    } else {
      return 'str' in l ? -1 : 1;
    }
  }
  return 0;
}

export const rubygems: VersionScheme = {
  name: 'rubygems',
  isValid: (v) => gemSegments(v) !== undefined,
  compare(a, b) {
    const x = gemSegments(a);
    const y = gemSegments(b);
    return x && y ? compareGemSegments(x, y) : undefined;
  },
};

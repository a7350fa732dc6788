import { type VersionScheme, compareDigits, compareStrings } from './scheme.js';

/** A SemVer 2.0.0 version; numbers kept as digit strings so no size limit applies here. */
export interface SemVer {
  readonly major: string;
  readonly minor: string;
  readonly patch: string;
  readonly prerelease: readonly string[];
  readonly build: readonly string[];
}

// semver.org §2, §9, §10: no leading zeros in numbers and numeric pre-release identifiers
const NUM = '0|[1-9][0-9]*';
const PRE_ID = `(?:${NUM}|[0-9]*[A-Za-z-][0-9A-Za-z-]*)`;
const SEMVER_RE = new RegExp(
  `^(${NUM})\\.(${NUM})\\.(${NUM})(?:-(${PRE_ID}(?:\\.${PRE_ID})*))?(?:\\+([0-9A-Za-z-]+(?:\\.[0-9A-Za-z-]+)*))?$`,
);

export function parseSemVer(s: string): SemVer | undefined {
  const m = SEMVER_RE.exec(s);
  return m ? semverOfMatch(m) : undefined;
}

/** A SemVer from a match whose groups 1-5 are major, minor, patch, pre-release, build (absent parts: 0, none). */
export function semverOfMatch(m: RegExpExecArray): SemVer {
  return {
    major: m[1] ?? '0',
    minor: m[2] ?? '0',
    patch: m[3] ?? '0',
    prerelease: m[4] === undefined ? [] : m[4].split('.'),
    build: m[5] === undefined ? [] : m[5].split('.'),
  };
}

const isNumeric = (id: string): boolean => /^[0-9]+$/.test(id);

/** semver.org §11 precedence: build metadata is ignored. */
export function compareSemVer(a: SemVer, b: SemVer): number {
  const core = compareDigits(a.major, b.major) || compareDigits(a.minor, b.minor) || compareDigits(a.patch, b.patch);
  if (core !== 0) return core;
  return comparePrerelease(a.prerelease, b.prerelease);
}

export function comparePrerelease(a: readonly string[], b: readonly string[]): number {
  // §11.3: a version without pre-release identifiers is newer
  if (a.length === 0 || b.length === 0) return a.length === b.length ? 0 : a.length === 0 ? 1 : -1;
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const nx = isNumeric(x);
    const ny = isNumeric(y);
    // §11.4.3: numeric identifiers have lower precedence than alphanumeric ones
    const r = nx && ny ? compareDigits(x, y) : nx !== ny ? (nx ? -1 : 1) : compareStrings(x, y);
    if (r !== 0) return r;
  }
  return 0;
}

/** Builds a scheme from a parser that may accept a dialect of SemVer (a `v`, size limits). */
export function semverScheme(name: string, parse: (s: string) => SemVer | undefined): VersionScheme {
  return {
    name,
    isValid: (v) => parse(v) !== undefined,
    compare(a, b) {
      const x = parse(a);
      const y = parse(b);
      return x && y ? compareSemVer(x, y) : undefined;
    },
  };
}

/** OSV `SEMVER` ranges: SemVer 2.0.0 "with no leading v"; a `v` on an installed version is tolerated. */
export const semver: VersionScheme = semverScheme('semver', (s) => parseSemVer(s.startsWith('v') ? s.slice(1) : s));

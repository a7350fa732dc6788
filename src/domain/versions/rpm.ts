import { type VersionScheme, compareDigits, compareStrings, isAsciiAlpha, isAsciiDigit } from './scheme.js';

/** An RPM EVR; a missing epoch counts as 0, a missing release sorts before any release. */
export interface RpmVersion {
  readonly epoch: string;
  readonly version: string;
  readonly release: string | undefined;
}

/** Splits `[epoch:]version[-release]` as rpm's rpmverParse(): release after the last hyphen. */
export function parseRpm(raw: string): RpmVersion | undefined {
  if (raw === '') return undefined;
  let k = 0;
  while (k < raw.length && isAsciiDigit(raw.charCodeAt(k))) k++;
  let epoch = '0';
  let rest = raw;
  if (raw[k] === ':') {
    epoch = raw.slice(0, k) || '0';
    rest = raw.slice(k + 1);
  }
  const hyphen = rest.lastIndexOf('-');
  const version = hyphen >= 0 ? rest.slice(0, hyphen) : rest;
  const release = hyphen >= 0 ? rest.slice(hyphen + 1) : undefined;
  if (version === '') return undefined;
  return { epoch, version, release };
}

const isAlnum = (c: number): boolean => isAsciiDigit(c) || isAsciiAlpha(c);
const TILDE = 126;
const CARET = 94;

/**
 * rpmvercmp() of rpm 4.18: runs of digits or letters, separators ignored; `~` sorts before
 * anything (even the end), `^` after the end but before anything else; a digit run is newer
 * than a letter run; when all runs agree, the string with something left is newer.
 */
export function rpmvercmp(a: string, b: string): number {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  for (;;) {
    while (i < a.length && !isAlnum(a.charCodeAt(i)) && a.charCodeAt(i) !== TILDE && a.charCodeAt(i) !== CARET) i++;
    while (j < b.length && !isAlnum(b.charCodeAt(j)) && b.charCodeAt(j) !== TILDE && b.charCodeAt(j) !== CARET) j++;
    if (i >= a.length && j >= b.length) return 0;
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(j);
    if (ca === TILDE || cb === TILDE) {
      if (ca !== TILDE) return 1;
      if (cb !== TILDE) return -1;
      i++;
      j++;
      continue;
    }
    if (ca === CARET || cb === CARET) {
      if (i >= a.length) return -1;
      if (j >= b.length) return 1;
      if (ca !== CARET) return 1;
      if (cb !== CARET) return -1;
      i++;
      j++;
      continue;
    }
    if (i >= a.length || j >= b.length) break;
    const numeric = isAsciiDigit(ca);
    const same = numeric ? isAsciiDigit : isAsciiAlpha;
    const si = i;
    while (i < a.length && same(a.charCodeAt(i))) i++;
    const sj = j;
    while (j < b.length && same(b.charCodeAt(j))) j++;
    // b holds the other kind of run here: a number is newer than letters
    if (sj === j) return numeric ? 1 : -1;
    const r = numeric ? compareDigits(a.slice(si, i), b.slice(sj, j)) : compareStrings(a.slice(si, i), b.slice(sj, j));
    if (r !== 0) return r;
  }
  return i < a.length ? 1 : -1;
}

export function compareRpm(a: RpmVersion, b: RpmVersion): number {
  const e = rpmvercmp(a.epoch, b.epoch) || rpmvercmp(a.version, b.version);
  if (e !== 0) return e;
  if (a.release === undefined || b.release === undefined) {
    return a.release === b.release ? 0 : a.release === undefined ? -1 : 1;
  }
  return rpmvercmp(a.release, b.release);
}

export const rpm: VersionScheme = {
  name: 'rpm',
  isValid(version) {
    // rpm's own checks: no blanks, at most one hyphen-separated release, printable ASCII
    return parseRpm(version) !== undefined && /^[\x21-\x7e]+$/.test(version);
  },
  compare(a, b) {
    const x = parseRpm(a);
    const y = parseRpm(b);
    return x && y ? compareRpm(x, y) : undefined;
  },
};

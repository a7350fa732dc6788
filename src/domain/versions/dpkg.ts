import { type VersionScheme, compareDigits, isAsciiAlpha, isAsciiDigit } from './scheme.js';

/** A Debian version, `[epoch:]upstream_version[-debian_revision]` (Debian policy §5.6.12). */
export interface DpkgVersion {
  readonly epoch: string;
  readonly upstream: string;
  readonly revision: string;
}

/**
 * Splits a version the way dpkg's parseversion() does: the epoch ends at the first colon, the
 * revision starts after the last hyphen. Returns undefined for what dpkg rejects outright (empty,
 * embedded blanks, a non-numeric epoch, an empty upstream part or revision).
 */
export function parseDpkg(raw: string): DpkgVersion | undefined {
  const s = raw.trim();
  if (s === '' || /\s/.test(s)) return undefined;
  let epoch = '0';
  let rest = s;
  const colon = s.indexOf(':');
  if (colon >= 0) {
    epoch = s.slice(0, colon);
    rest = s.slice(colon + 1);
    if (!/^[0-9]+$/.test(epoch) || epoch.length > 10 || Number(epoch) > 2147483647) return undefined;
  }
  const hyphen = rest.lastIndexOf('-');
  const upstream = hyphen >= 0 ? rest.slice(0, hyphen) : rest;
  const revision = hyphen >= 0 ? rest.slice(hyphen + 1) : '';
  if (upstream === '' || (hyphen >= 0 && revision === '')) return undefined;
  return { epoch, upstream, revision };
}

// policy §5.6.12: "~" sorts before anything, even the end of a part; then the end of a part and
// digits; then letters; then every other character, by its ASCII value.
function order(s: string, i: number): number {
  if (i >= s.length) return 0;
  const c = s.charCodeAt(i);
  if (isAsciiDigit(c)) return 0;
  if (isAsciiAlpha(c)) return c;
  if (c === 126) return -1;
  return c + 256;
}

/** dpkg's verrevcmp(): alternating non-digit and digit runs, digit runs compared as numbers. */
export function compareDpkgPart(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while ((i < a.length && !isAsciiDigit(a.charCodeAt(i))) || (j < b.length && !isAsciiDigit(b.charCodeAt(j)))) {
      const d = order(a, i) - order(b, j);
      if (d !== 0) return d < 0 ? -1 : 1;
      i++;
      j++;
    }
    const si = i;
    while (i < a.length && isAsciiDigit(a.charCodeAt(i))) i++;
    const sj = j;
    while (j < b.length && isAsciiDigit(b.charCodeAt(j))) j++;
    const d = compareDigits(a.slice(si, i) || '0', b.slice(sj, j) || '0');
    if (d !== 0) return d;
  }
  return 0;
}

export function compareDpkg(a: DpkgVersion, b: DpkgVersion): number {
  return compareDigits(a.epoch, b.epoch) || compareDpkgPart(a.upstream, b.upstream) || compareDpkgPart(a.revision, b.revision);
}

// policy §5.6.12: upstream_version starts with a digit and holds only [A-Za-z0-9.+~-]; a hyphen
// only when there is a revision. debian_revision holds only [A-Za-z0-9+.~].
function wellFormed(v: DpkgVersion, hasRevision: boolean): boolean {
  const up = hasRevision ? /^[0-9][A-Za-z0-9.+~-]*$/ : /^[0-9][A-Za-z0-9.+~]*$/;
  return up.test(v.upstream) && (!hasRevision || /^[A-Za-z0-9+.~]+$/.test(v.revision));
}

export const dpkg: VersionScheme = {
  name: 'dpkg',
  isValid(version) {
    const v = parseDpkg(version);
    const s = version.trim();
    return v !== undefined && wellFormed(v, s.slice(s.indexOf(':') + 1).includes('-'));
  },
  compare(a, b) {
    const x = parseDpkg(a);
    const y = parseDpkg(b);
    return x && y ? compareDpkg(x, y) : undefined;
  },
};

import { type VersionScheme, compareDigits, compareStrings } from './scheme.js';

/** A PEP 440 version, normalised: numbers as digit strings, labels in their canonical spelling. */
export interface Pep440Version {
  readonly epoch: string;
  readonly release: readonly string[];
  readonly pre: { readonly label: 'a' | 'b' | 'rc'; readonly n: string } | undefined;
  readonly post: string | undefined;
  readonly dev: string | undefined;
  readonly local: readonly string[];
}

// PEP 440 appendix B, the canonical "VERSION_PATTERN", matched case-insensitively on the
// stripped string.
const PEP440_RE = new RegExp(
  '^v?' +
    '(?:([0-9]+)!)?' +
    '([0-9]+(?:\\.[0-9]+)*)' +
    '(?:[-_.]?(a|b|c|rc|alpha|beta|pre|preview)[-_.]?([0-9]+)?)?' +
    '(?:-([0-9]+)|[-_.]?(post|rev|r)[-_.]?([0-9]+)?)?' +
    '(?:[-_.]?(dev)[-_.]?([0-9]+)?)?' +
    '(?:\\+([a-z0-9]+(?:[-_.][a-z0-9]+)*))?$',
  'i',
);

const PRE_LABEL: Readonly<Record<string, 'a' | 'b' | 'rc'>> = {
  a: 'a', alpha: 'a', b: 'b', beta: 'b', c: 'rc', rc: 'rc', pre: 'rc', preview: 'rc',
};

export function parsePep440(raw: string): Pep440Version | undefined {
  const m = PEP440_RE.exec(raw.trim());
  if (!m) return undefined;
  const [, epoch, release, preL, preN, postN1, postL, postN2, devL, devN, local] = m;
  return {
    epoch: epoch ?? '0',
    release: (release ?? '0').split('.'),
    pre: preL === undefined ? undefined : { label: PRE_LABEL[preL.toLowerCase()] ?? 'rc', n: preN ?? '0' },
    // "1.0-1" is an implicit post release; "1.0.post" means post 0
    post: postN1 ?? (postL === undefined ? undefined : (postN2 ?? '0')),
    dev: devL === undefined ? undefined : (devN ?? '0'),
    local: local === undefined ? [] : local.toLowerCase().split(/[-_.]/),
  };
}

const PRE_RANK = { a: 0, b: 1, rc: 2 } as const;

function compareRelease(a: readonly string[], b: readonly string[]): number {
  // trailing zeros do not count: 1.0 == 1.0.0
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const r = compareDigits(a[i] ?? '0', b[i] ?? '0');
    if (r !== 0) return r;
  }
  return 0;
}

// The phase of a release relative to its release segment, as in packaging's _cmpkey: a
// dev-only release sorts before every pre-release, a final release after them.
function preKey(v: Pep440Version): [number, string] {
  if (v.pre) return [PRE_RANK[v.pre.label], v.pre.n];
  if (v.post === undefined && v.dev !== undefined) return [-1, '0'];
  return [3, '0'];
}

function compareOptional(a: string | undefined, b: string | undefined, missing: 'low' | 'high'): number {
  if (a === undefined || b === undefined) {
    if (a === b) return 0;
    return (a === undefined) === (missing === 'low') ? -1 : 1;
  }
  return compareDigits(a, b);
}

function compareLocal(a: readonly string[], b: readonly string[]): number {
  // PEP 440 "Local version identifiers": numeric segments compare as numbers and sort after
  // alphanumeric ones; a longer local version is newer when the shorter is its prefix
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i] ?? '';
    const y = b[i] ?? '';
    const nx = /^[0-9]+$/.test(x);
    const ny = /^[0-9]+$/.test(y);
    const r = nx && ny ? compareDigits(x, y) : nx !== ny ? (nx ? 1 : -1) : compareStrings(x, y);
    if (r !== 0) return r;
  }
  return Math.sign(a.length - b.length);
}

export function comparePep440(a: Pep440Version, b: Pep440Version): number {
  const [pa, na] = preKey(a);
  const [pb, nb] = preKey(b);
  return (
    compareDigits(a.epoch, b.epoch) ||
    compareRelease(a.release, b.release) ||
    Math.sign(pa - pb) ||
    compareDigits(na, nb) ||
    compareOptional(a.post, b.post, 'low') ||
    compareOptional(a.dev, b.dev, 'high') ||
    compareLocal(a.local, b.local)
  );
}

/** The normalised form (PEP 440 "Normalization"), e.g. "1.0-Alpha_1.DEV" → "1.0a1.dev0". */
export function normalizePep440(v: Pep440Version): string {
  let s = v.epoch === '0' ? '' : `${BigInt(v.epoch)}!`;
  s += v.release.map((n) => BigInt(n).toString()).join('.');
  if (v.pre) s += `${v.pre.label}${BigInt(v.pre.n)}`;
  if (v.post !== undefined) s += `.post${BigInt(v.post)}`;
  if (v.dev !== undefined) s += `.dev${BigInt(v.dev)}`;
  if (v.local.length > 0) s += `+${v.local.map((p) => (/^[0-9]+$/.test(p) ? BigInt(p).toString() : p)).join('.')}`;
  return s;
}

export const pep440: VersionScheme = {
  name: 'pep440',
  isValid: (v) => parsePep440(v) !== undefined,
  compare(a, b) {
    const x = parsePep440(a);
    const y = parsePep440(b);
    return x && y ? comparePep440(x, y) : undefined;
  },
};

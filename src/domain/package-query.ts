import { badRequest } from './errors.js';
import { SCHEMES, type VersionScheme } from './versions/index.js';

/** A package URL split into its components, each percent-decoded (purl-spec "How to parse"). */
export interface ParsedPurl {
  type: string;
  /** `''` when the purl has none */
  namespace: string;
  name: string;
  version?: string;
  qualifiers: Record<string, string>;
  subpath?: string;
}

const TYPE = /^[a-z][a-z0-9.+-]*$/;
const MAX_PURL = 2048;

function decode(s: string, what: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw badRequest(`purl: the ${what} is not valid percent-encoding`);
  }
}

/**
 * purl-spec: `pkg:type/namespace/name@version?qualifiers#subpath`, parsed right to left. Types
 * are lower case; so are the names and namespaces of the types whose spec says so (deb, apk,
 * rpm's namespace, npm, pypi with PEP 503 rules, golang is case-sensitive, github lowercased).
 */
export function parsePurl(input: string): ParsedPurl {
  if (input.length > MAX_PURL) throw badRequest(`purl: longer than ${MAX_PURL} characters`);
  let rest = input.trim();
  if (!rest.startsWith('pkg:')) throw badRequest('purl: must start with pkg:');
  rest = rest.slice(4).replace(/^\/+/, '');
  let subpath: string | undefined;
  const hash = rest.indexOf('#');
  if (hash !== -1) {
    subpath = rest.slice(hash + 1).split('/').filter((s) => s && s !== '.' && s !== '..').map((s) => decode(s, 'subpath')).join('/');
    rest = rest.slice(0, hash);
  }
  const qualifiers: Record<string, string> = {};
  const q = rest.indexOf('?');
  if (q !== -1) {
    for (const pair of rest.slice(q + 1).split('&')) {
      if (pair === '') continue;
      const eq = pair.indexOf('=');
      if (eq <= 0) throw badRequest('purl: a qualifier must be key=value');
      const value = decode(pair.slice(eq + 1), 'qualifier value');
      if (value !== '') qualifiers[pair.slice(0, eq).toLowerCase()] = value;
    }
    rest = rest.slice(0, q);
  }
  const slash = rest.indexOf('/');
  if (slash <= 0) throw badRequest('purl: needs a type and a name, as in pkg:deb/debian/openssl');
  const type = rest.slice(0, slash).toLowerCase();
  if (!TYPE.test(type)) throw badRequest('purl: the type must be letters, digits, ".", "+" or "-", starting with a letter');
  rest = rest.slice(slash + 1).replace(/\/+$/, '');
  let version: string | undefined;
  // the version's `@` follows the name (the last segment); an npm scope's `@` begins a namespace segment
  const nameStart = rest.lastIndexOf('/') + 1;
  const at = rest.indexOf('@', nameStart + 1);
  if (at !== -1) {
    version = decode(rest.slice(at + 1), 'version');
    rest = rest.slice(0, at);
  }
  const segments = rest.split('/').filter(Boolean).map((s) => decode(s, 'name'));
  const rawName = segments.pop();
  if (!rawName) throw badRequest('purl: the name is missing');
  let namespace = segments.join('/');
  let name = rawName;
  if (LOWER_NAMESPACE.has(type)) namespace = namespace.toLowerCase();
  if (LOWER_NAME.has(type)) name = name.toLowerCase();
  if (type === 'pypi') name = name.replace(/[-_.]+/g, '-');
  return { type, namespace, name, ...(version ? { version } : {}), qualifiers, ...(subpath ? { subpath } : {}) };
}

const LOWER_NAMESPACE = new Set(['deb', 'apk', 'rpm', 'npm', 'pypi', 'github', 'bitbucket', 'golang', 'gem']);
const LOWER_NAME = new Set(['deb', 'apk', 'npm', 'pypi', 'github', 'bitbucket']);

/** The version order of each purl type the analyzers emit (through the OSV ecosystem map). */
const PURL_SCHEMES: Record<string, VersionScheme> = {
  deb: SCHEMES.Debian,
  apk: SCHEMES.Alpine,
  rpm: SCHEMES['Red Hat'],
  npm: SCHEMES.npm,
  pypi: SCHEMES.PyPI,
  golang: SCHEMES.Go,
  maven: SCHEMES.Maven,
  cargo: SCHEMES['crates.io'],
  gem: SCHEMES.RubyGems,
};

export function schemeForPurlType(type: string): VersionScheme | undefined {
  return Object.hasOwn(PURL_SCHEMES, type) ? PURL_SCHEMES[type] : undefined;
}

export type ComparisonOp = '<' | '<=' | '>' | '>=' | '=' | '!=';

export interface VersionBound {
  op: ComparisonOp;
  version: string;
}

const BOUND = /^(<=|>=|!=|==|<|>|=)?\s*(\S.*)$/;
const MAX_BOUNDS = 8;

/**
 * A version constraint: bounds joined by `,` that must all hold (`>=1.0,<2.0`); a bare
 * version means `=`. Each bound's version must be one the ecosystem's scheme can order.
 */
export function parseConstraint(text: string, scheme: VersionScheme | undefined): VersionBound[] {
  const parts = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (parts.length === 0) throw badRequest('version: empty constraint');
  if (parts.length > MAX_BOUNDS) throw badRequest(`version: at most ${MAX_BOUNDS} bounds`);
  return parts.map((p) => {
    const m = BOUND.exec(p);
    if (!m) throw badRequest(`version: cannot read ${JSON.stringify(p.slice(0, 100))}`);
    const op = (m[1] === '==' ? '=' : (m[1] ?? '=')) as ComparisonOp;
    const version = m[2]!.trim();
    if (version.length > 256) throw badRequest('version: a version is at most 256 characters');
    if (scheme && !scheme.isValid(version)) {
      throw badRequest(`version: ${JSON.stringify(version.slice(0, 100))} is not a ${scheme.name} version`);
    }
    return { op, version };
  });
}

/**
 * Whether `version` meets every bound in the scheme's order. A version the scheme cannot order
 * against a bound does not match (it is neither inside nor outside a range it cannot be placed in).
 * Without a scheme (an ecosystem Berth has no order for) only `=` and `!=` can hold, on the string.
 */
export function satisfies(version: string, bounds: readonly VersionBound[], scheme: VersionScheme | undefined): boolean {
  for (const b of bounds) {
    const c = scheme ? scheme.compare(version, b.version) : b.op === '=' || b.op === '!=' ? (version === b.version ? 0 : 1) : undefined;
    if (c === undefined) return false;
    const ok =
      b.op === '<' ? c < 0 : b.op === '<=' ? c <= 0 : b.op === '>' ? c > 0 : b.op === '>=' ? c >= 0 : b.op === '=' ? c === 0 : c !== 0;
    if (!ok) return false;
  }
  return true;
}

/** The version key the index stores: rpm's epoch goes in front (`1:2.3-4`), as rpm orders it. */
export function indexedVersion(p: { type: string; version: string; epoch?: number }): string {
  return p.type === 'rpm' && p.epoch ? `${p.epoch}:${p.version}` : p.version;
}

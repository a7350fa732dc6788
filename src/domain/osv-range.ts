import { schemeForRange, schemeFor, type VersionScheme } from './versions/index.js';

/** The parts of an OSV `affected[]` entry that decide whether a version is affected (OSV schema 1.7). */
export interface OsvEvent {
  readonly introduced?: string;
  readonly fixed?: string;
  readonly last_affected?: string;
  readonly limit?: string;
}

export interface OsvRange {
  readonly type: string;
  readonly events: readonly OsvEvent[];
}

export interface OsvAffected {
  readonly package?: { readonly ecosystem: string; readonly name: string };
  readonly ranges?: readonly OsvRange[];
  readonly versions?: readonly string[];
}

/**
 * "unknown" when nothing says the version is affected but some range could not be evaluated:
 * its ecosystem has no known order, or the installed version or an event is not a version of it.
 */
export type Verdict = 'affected' | 'not-affected' | 'unknown';

type Bound = 'introduced' | 'fixed' | 'last_affected' | 'limit';

interface Event {
  readonly kind: Bound;
  readonly version: string;
}

function eventOf(e: OsvEvent): Event | undefined {
  for (const kind of ['introduced', 'fixed', 'last_affected', 'limit'] as const) {
    const version = e[kind];
    if (typeof version === 'string') return { kind, version };
  }
  return undefined;
}

// osv-schema "Special values": introduced "0" sorts before every version, a limit with "*" is
// infinity.
const isZero = (e: Event): boolean => e.kind === 'introduced' && e.version === '0';
const isInfinity = (e: Event): boolean => e.kind === 'limit' && e.version.includes('*');

/** v compared with an event's version, or undefined when the scheme cannot order them. */
function against(scheme: VersionScheme, v: string, e: Event): number | undefined {
  if (isZero(e)) return 1;
  if (isInfinity(e)) return -1;
  return scheme.compare(v, e.version);
}

function sortEvents(scheme: VersionScheme, events: Event[]): Event[] | undefined {
  let orderable = true;
  const sorted = [...events].sort((a, b) => {
    if (isZero(a) || isInfinity(b)) return isZero(b) || isInfinity(a) ? 0 : -1;
    if (isZero(b) || isInfinity(a)) return 1;
    const c = scheme.compare(a.version, b.version);
    if (c === undefined) orderable = false;
    return c ?? 0;
  });
  return orderable ? sorted : undefined;
}

/** The evaluation of one range, osv-schema "Evaluation": IncludedInRanges and BeforeLimits. */
function rangeVerdict(scheme: VersionScheme, v: string, range: OsvRange): Verdict {
  const events = range.events.map(eventOf).filter((e): e is Event => e !== undefined);
  const limits = events.filter((e) => e.kind === 'limit');
  if (limits.length > 0) {
    const below = limits.map((e) => against(scheme, v, e));
    if (below.includes(undefined)) return 'unknown';
    if (!below.some((c) => (c as number) < 0)) return 'not-affected';
  }
  const sorted = sortEvents(
    scheme,
    events.filter((e) => e.kind !== 'limit'),
  );
  if (!sorted) return 'unknown';
  let vulnerable = false;
  for (const e of sorted) {
    const c = against(scheme, v, e);
    if (c === undefined) return 'unknown';
    if (e.kind === 'introduced' && c >= 0) vulnerable = true;
    else if (e.kind === 'fixed' && c >= 0) vulnerable = false;
    else if (e.kind === 'last_affected' && c > 0) vulnerable = false;
  }
  return vulnerable ? 'affected' : 'not-affected';
}

/**
 * Whether `version` of the package is affected per one OSV `affected[]` entry: listed in
 * `versions`, or inside a SEMVER or ECOSYSTEM range. GIT ranges need the repository's commit
 * graph and are left to the `versions` list, as the schema says. `ecosystem` defaults to the
 * entry's own `package.ecosystem`.
 */
export function affectedVerdict(version: string, affected: OsvAffected, ecosystem = affected.package?.ecosystem ?? ''): Verdict {
  const listScheme = schemeFor(ecosystem);
  for (const listed of affected.versions ?? []) {
    if (listed === version || listScheme?.compare(listed, version) === 0) return 'affected';
  }
  let unknown = false;
  for (const range of affected.ranges ?? []) {
    if (range.type === 'GIT') continue;
    const scheme = schemeForRange(range.type, ecosystem);
    const verdict = scheme && scheme.isValid(version) ? rangeVerdict(scheme, version, range) : 'unknown';
    if (verdict === 'affected') return 'affected';
    if (verdict === 'unknown') unknown = true;
  }
  return unknown ? 'unknown' : 'not-affected';
}

export function isAffected(version: string, affected: OsvAffected, ecosystem?: string): boolean {
  return affectedVerdict(version, affected, ecosystem) === 'affected';
}

/**
 * For each range that affects `version`, the first `fixed` event above it: what an upgrade must
 * reach (the "fixed version" of a report), lowest first.
 */
export function fixedVersions(version: string, affected: OsvAffected, ecosystem = affected.package?.ecosystem ?? ''): string[] {
  const out: string[] = [];
  let order: VersionScheme | undefined;
  for (const range of affected.ranges ?? []) {
    const scheme = schemeForRange(range.type, ecosystem);
    if (!scheme || !scheme.isValid(version) || rangeVerdict(scheme, version, range) !== 'affected') continue;
    order ??= scheme;
    const above = range.events
      .map((e) => e.fixed)
      .filter((f): f is string => f !== undefined && (scheme.compare(f, version) ?? 0) > 0)
      .sort((a, b) => scheme.compare(a, b) ?? 0);
    if (above[0] !== undefined && !out.includes(above[0])) out.push(above[0]);
  }
  return out.sort((a, b) => order?.compare(a, b) ?? 0);
}

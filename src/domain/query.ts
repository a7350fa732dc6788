import { badRequest } from './errors.js';

/**
 * Harbor's `q` and `sort` list parameters (Harbor src/lib/q, swagger parameter `query`):
 *
 *   q=k1=v1,k2=~v2,k3=[min~max],k4={v1 v2 v3},k5=(v1 v2 v3)
 *
 * exact match, fuzzy match, range, or-list (any of) and and-list (all of), pairs separated by
 * commas; `sort=k1,-k2` sorts by k1 ascending then k2 descending. Values stay strings here:
 * each endpoint knows whether a key holds an integer, a time or a name (`asInt`, `asTime`).
 */
export type Condition =
  | { op: 'exact'; value: string }
  | { op: 'fuzzy'; value: string }
  | { op: 'range'; min?: string; max?: string }
  | { op: 'or'; values: string[] }
  | { op: 'and'; values: string[] };

export type Op = Condition['op'];

export type Conditions = ReadonlyMap<string, Condition>;

export interface SortKey {
  key: string;
  desc: boolean;
}

/** The longest `q` accepted: a filter, not a payload. */
const MAX_Q_LENGTH = 4096;

/**
 * Parses `q`. Harbor decodes the value once more after the query string itself was decoded
 * (clients send `q=tags%3Dnil`); so does this, but only `%XX` escapes: a `+` stays a `+`, so
 * that a media type such as `…manifest.v1+json` can be matched.
 */
export function parseQuery(q: string | undefined): Map<string, Condition> {
  const out = new Map<string, Condition>();
  if (q === undefined || q === '') return out;
  if (q.length > MAX_Q_LENGTH) throw badRequest(`q is longer than ${MAX_Q_LENGTH} characters`);
  let text = q;
  try {
    text = decodeURIComponent(q);
  } catch {
    // not escaped (a literal %): keep it as it came, as Harbor does
  }
  for (const pair of splitPairs(text)) {
    const eq = pair.indexOf('=');
    const key = eq < 0 ? '' : pair.slice(0, eq).trim();
    const value = eq < 0 ? '' : pair.slice(eq + 1);
    if (key === '' || value === '') throw badRequest('the query string must contain "=" and the key/value cannot be empty');
    out.set(key, parsePattern(key, value));
  }
  return out;
}

/** Splits on commas outside (), {}, [] and quotes, so that `labels=(1, 2)` is one pair. */
function splitPairs(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === '(' || c === '{' || c === '[') {
      depth++;
    } else if ((c === ')' || c === '}' || c === ']') && depth > 0) {
      depth--;
    } else if (c === ',' && depth === 0) {
      parts.push(s.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(s.slice(start));
  return parts;
}

function parsePattern(key: string, value: string): Condition {
  const bad = (why: string) => badRequest(`invalid query string value of ${key.slice(0, 100)}: ${why}`);
  switch (value[0]) {
    case '~':
      if (value.length < 2) throw bad('a fuzzy match "~" needs at least one other character');
      return { op: 'fuzzy', value: value.slice(1) };
    case '[': {
      if (!value.endsWith(']') || value.split('~').length !== 2) throw bad('a range must be [min~max] with exactly one "~"');
      const [min, max] = value.slice(1, -1).split('~').map((v) => unquote(v.trim())) as [string, string];
      if (min === '' && max === '') throw bad('a range needs a min, a max or both');
      return { op: 'range', ...(min !== '' ? { min } : {}), ...(max !== '' ? { max } : {}) };
    }
    case '{':
      if (!value.endsWith('}')) throw bad('an or-list must be {v1 v2 …}');
      return { op: 'or', values: listItems(value.slice(1, -1)) };
    case '(':
      if (!value.endsWith(')')) throw bad('an and-list must be (v1 v2 …)');
      return { op: 'and', values: listItems(value.slice(1, -1)) };
    case '\\':
      // Harbor: a leading backslash makes the rest an exact value (`\~abc` is "~abc")
      return { op: 'exact', value: value.slice(1) };
    default:
      return { op: 'exact', value };
  }
}

/** List items are separated by spaces (Harbor); commas are taken too. Quotes are dropped. */
function listItems(s: string): string[] {
  return s
    .split(/[\s,]+/)
    .map(unquote)
    .filter((v) => v !== '');
}

function unquote(s: string): string {
  return s.replace(/^["']+|["']+$/g, '');
}

/** Parses `sort`: `name,-creation_time`. */
export function parseSort(sort: string | undefined): SortKey[] {
  if (sort === undefined || sort.trim() === '') return [];
  return sort
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '' && s !== '-')
    .map((s) => (s.startsWith('-') ? { key: s.slice(1), desc: true } : { key: s, desc: false }));
}

/**
 * Refuses keys an endpoint does not know and patterns a key does not support (400), so that a
 * typo is an error rather than a silently unfiltered listing.
 */
export function checkConditions(conds: Conditions, allowed: Readonly<Record<string, readonly Op[]>>): void {
  for (const [key, c] of conds) {
    const ops = Object.hasOwn(allowed, key) ? allowed[key] : undefined;
    if (!ops) throw badRequest(`unsupported query key ${key.slice(0, 100)}; supported: ${Object.keys(allowed).join(', ')}`);
    if (!ops.includes(c.op)) throw badRequest(`query key ${key} does not support ${c.op} matching; it supports ${ops.join(', ')}`);
  }
}

export function checkSort(keys: readonly SortKey[], allowed: readonly string[]): void {
  for (const k of keys) {
    if (!allowed.includes(k.key)) throw badRequest(`unsupported sort key ${k.key.slice(0, 100)}; supported: ${allowed.join(', ')}`);
  }
}

/** The value as a 64-bit-safe integer, or a 400 naming the key. */
export function asInt(key: string, v: string): number {
  if (!/^-?[0-9]{1,16}$/.test(v.trim())) throw badRequest(`${key} must be an integer, got ${JSON.stringify(v.slice(0, 50))}`);
  return Number(v.trim());
}

/**
 * A time as Harbor writes it in `q`: `2006-01-02T15:04:05` (lib/q) or `2006-01-02 15:04:05`
 * (swagger), in UTC, optionally with fractional seconds and `Z`. Returns epoch milliseconds.
 */
export function asTime(key: string, v: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?Z?$/.exec(v.trim());
  const ms = m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, m[7] ? Math.floor(Number(m[7]) * 1000) : 0) : NaN;
  // Date.UTC rolls 2020-13-45 over into 2021; a calendar date that does not exist is refused
  const d = new Date(ms);
  if (!m || !Number.isFinite(ms) || d.getUTCMonth() + 1 !== +m[2]! || d.getUTCDate() !== +m[3]! || d.getUTCHours() !== +m[4]! || d.getUTCMinutes() !== +m[5]!) throw badRequest(`${key} must be a time such as 2006-01-02T15:04:05, got ${JSON.stringify(v.slice(0, 50))}`);
  return ms;
}

/** The values an exact or or-list condition accepts (`k=v` or `k={v1 v2}`). */
export function anyOf(c: Condition): string[] | undefined {
  return c.op === 'exact' ? [c.value] : c.op === 'or' ? c.values : undefined;
}

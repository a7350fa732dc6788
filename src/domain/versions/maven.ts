import { type VersionScheme, compareDigits, compareStrings } from './scheme.js';

// Maven's ComparableVersion (maven-artifact 3.9): a version is a list of items; "-" opens a
// sub-list, "." separates items in a list, and a switch between letters and digits separates
// too. Trailing "null" items (0, "", "ga", "final", "release", empty lists) are dropped.
type Item =
  | { readonly kind: 'number'; readonly value: string }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'list'; readonly items: Item[] };

const QUALIFIERS = ['alpha', 'beta', 'milestone', 'rc', 'snapshot', '', 'sp'];
const ALIASES: Readonly<Record<string, string>> = { ga: '', final: '', release: '', cr: 'rc' };
const RELEASE_INDEX = QUALIFIERS.indexOf('');

function stringItem(raw: string, followedByDigit: boolean): Item {
  let value = raw;
  // "a1" = alpha-1, "b1" = beta-1, "m1" = milestone-1
  if (followedByDigit && value.length === 1) value = ({ a: 'alpha', b: 'beta', m: 'milestone' } as Record<string, string>)[value] ?? value;
  return { kind: 'string', value: ALIASES[value] ?? value };
}

function parseItem(isDigit: boolean, buf: string): Item {
  return isDigit ? { kind: 'number', value: buf } : stringItem(buf, false);
}

// Java's Character.isDigit also takes non-ASCII digits; version strings in the wild do not use them
const isDigitChar = (c: string): boolean => c >= '0' && c <= '9';

export function parseMaven(version: string): Item {
  const root: Item & { kind: 'list' } = { kind: 'list', items: [] };
  let list = root;
  const stack = [root];
  const push = (): void => {
    const sub: Item & { kind: 'list' } = { kind: 'list', items: [] };
    list.items.push(sub);
    list = sub;
    stack.push(sub);
  };
  const v = version.toLowerCase();
  let isDigit = false;
  let start = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v[i] ?? '';
    if (c === '.' || c === '-') {
      list.items.push(i === start ? { kind: 'number', value: '0' } : parseItem(isDigit, v.slice(start, i)));
      start = i + 1;
      if (c === '-') push();
    } else if (isDigitChar(c)) {
      if (!isDigit && i > start) {
        // MNG-7644: "1.0.0.X1" is read as "1.0.0-X1", for any qualifier X
        if (list.items.length > 0) push();
        list.items.push(stringItem(v.slice(start, i), true));
        start = i;
        push();
      }
      isDigit = true;
    } else {
      if (isDigit && i > start) {
        list.items.push(parseItem(true, v.slice(start, i)));
        start = i;
        push();
      }
      isDigit = false;
    }
  }
  if (v.length > start) {
    if (!isDigit && list.items.length > 0) push();
    list.items.push(parseItem(isDigit, v.slice(start)));
  }
  for (let k = stack.length - 1; k >= 0; k--) normalize(stack[k] as Item & { kind: 'list' });
  return root;
}

function isNull(item: Item): boolean {
  switch (item.kind) {
    case 'number':
      return /^0+$/.test(item.value);
    case 'string':
      return qualifierRank(item.value) === RELEASE_INDEX;
    case 'list':
      return item.items.length === 0;
  }
}

function normalize(list: Item & { kind: 'list' }): void {
  for (let i = list.items.length - 1; i >= 0; i--) {
    const last = list.items[i] as Item;
    if (isNull(last)) list.items.splice(i, 1);
    else if (last.kind !== 'list') break;
  }
}

// Known qualifiers by their index; unknown ones after all of them, in lexical order.
function qualifierRank(q: string): number {
  const i = QUALIFIERS.indexOf(q);
  return i === -1 ? QUALIFIERS.length : i;
}

function compareQualifiers(a: string, b: string): number {
  const ra = qualifierRank(a);
  const rb = qualifierRank(b);
  if (ra !== rb) return ra < rb ? -1 : 1;
  return ra === QUALIFIERS.length ? compareStrings(a, b) : 0;
}

/** Item.compareTo(other); `undefined` stands for Java's null (the shorter list ran out). */
function compareItem(a: Item, b: Item | undefined): number {
  switch (a.kind) {
    case 'number':
      if (b === undefined) return isNull(a) ? 0 : 1;
      return b.kind === 'number' ? compareDigits(a.value, b.value) : 1;
    case 'string':
      // "1-rc" < "1" < "1-sp"; unknown qualifiers rank after "sp"
      if (b === undefined) return Math.sign(qualifierRank(a.value) - RELEASE_INDEX);
      if (b.kind === 'string') return compareQualifiers(a.value, b.value);
      return -1;
    case 'list': {
      if (b === undefined) {
        for (const item of a.items) {
          const r = compareItem(item, undefined);
          if (r !== 0) return r;
        }
        return 0;
      }
      if (b.kind === 'number') return -1;
      if (b.kind === 'string') return 1;
      for (let i = 0; i < Math.max(a.items.length, b.items.length); i++) {
        const l = a.items[i];
        const r = b.items[i];
        const c = l === undefined ? (r === undefined ? 0 : -compareItem(r, undefined)) : compareItem(l, r);
        if (c !== 0) return c;
      }
      return 0;
    }
  }
}

export function compareMaven(a: string, b: string): number {
  return Math.sign(compareItem(parseMaven(a), parseMaven(b)));
}

export const maven: VersionScheme = {
  name: 'maven',
  // ComparableVersion orders every string; an empty one is the only thing that is not a version
  isValid: (v) => v.trim() !== '',
  compare: compareMaven,
};

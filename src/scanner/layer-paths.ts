/**
 * Paths inside a layer. Nothing is ever written to disk from a layer, so a hostile name can only
 * mislead the inventory: names are cleaned to root-relative form and those that climb out of the
 * root are refused rather than clamped.
 */
export type CleanPath = { ok: true; path: string; absolute: boolean } | { ok: false; reason: string };

export function cleanLayerPath(raw: string): CleanPath {
  if (raw.includes('\0')) return { ok: false, reason: 'NUL in name' };
  const absolute = raw.startsWith('/');
  const out: string[] = [];
  for (const part of raw.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0) return { ok: false, reason: 'path climbs out of the layer root' };
      out.pop();
      continue;
    }
    out.push(part);
  }
  return { ok: true, path: out.join('/'), absolute };
}

const WHITEOUT = '.wh.';
const OPAQUE = '.wh..wh..opq';

export type Whiteout = { kind: 'opaque'; dir: string } | { kind: 'remove'; path: string };

/** image-spec layer.md "Whiteouts": `.wh.<name>` and the opaque marker `.wh..wh..opq`. */
export function whiteoutOf(path: string): Whiteout | undefined {
  const slash = path.lastIndexOf('/');
  const base = path.slice(slash + 1);
  if (!base.startsWith(WHITEOUT)) return undefined;
  const dir = slash < 0 ? '' : path.slice(0, slash);
  if (base === OPAQUE) return { kind: 'opaque', dir };
  const name = base.slice(WHITEOUT.length);
  if (name === '' || name === '.' || name === '..') return undefined;
  return { kind: 'remove', path: dir ? `${dir}/${name}` : name };
}

/** True when `path` is `root` or lies below it ('' is the layer root). */
export function isAtOrUnder(path: string, root: string): boolean {
  return root === '' || path === root || path.startsWith(root + '/');
}

/** True when `path` lies strictly below directory `dir`. */
export function isUnder(path: string, dir: string): boolean {
  return dir === '' ? path !== '' : path.startsWith(dir + '/');
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

export function dirName(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

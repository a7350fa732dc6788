/**
 * Go module build information (Go >= 1.18, `runtime/debug.BuildInfo`), as cmd/go embeds it in
 * the `.go.buildinfo` section: a 32-byte header starting `\xff Go buildinf:`, 16-byte aligned,
 * then (flag bit 2, "inline strings") the Go version and the module info as uvarint-prefixed
 * strings. Go's debug/buildinfo finds the header by this magic at 16-byte alignment when it
 * cannot use section headers; the streaming scan here does the same over the file.
 */
export const BUILDINFO_MAGIC = Buffer.from('\xff Go buildinf:', 'latin1');
export const BUILDINFO_HEADER = 32;
export const OLD_FORMAT = 'Go < 1.18 build info (pointers into the data segment) is not read';

export interface GoModule {
  path: string;
  version: string;
  /** A `=>` replacement line for this module. */
  replace?: { path: string; version: string };
}

export interface GoBuildInfo {
  goVersion: string;
  path?: string;
  main?: GoModule;
  deps: GoModule[];
}

export type BuildInfoParse = { ok: true; info: GoBuildInfo } | { ok: false; reason: string; needMore?: number };

/** Parses the bytes from the magic on; `needMore` is set when the strings run past `b`. */
export function parseBuildInfo(b: Buffer): BuildInfoParse {
  if (b.length < BUILDINFO_HEADER) return { ok: false, reason: 'short', needMore: BUILDINFO_HEADER };
  if (!b.subarray(0, BUILDINFO_MAGIC.length).equals(BUILDINFO_MAGIC)) return { ok: false, reason: 'no magic' };
  const flags = b[15]!;
  if ((flags & 2) === 0) return { ok: false, reason: OLD_FORMAT };
  let p = BUILDINFO_HEADER;
  const strs: string[] = [];
  for (let k = 0; k < 2; k++) {
    const v = uvarint(b, p);
    if (!v) return { ok: false, reason: 'short', needMore: p + 10 };
    const [len, n] = v;
    p += n;
    if (p + len > b.length) return { ok: false, reason: 'short', needMore: p + len };
    strs.push(b.toString('utf8', p, p + len));
    p += len;
  }
  const [goVersion, modinfo] = strs as [string, string];
  if (!/^go\d/.test(goVersion)) return { ok: false, reason: 'not a Go version string' };
  return { ok: true, info: parseModinfo(goVersion, modinfo) };
}

function uvarint(b: Buffer, p: number): [number, number] | undefined {
  let x = 0;
  let s = 1;
  for (let i = 0; i < 10; i++) {
    if (p + i >= b.length) return undefined;
    const c = b[p + i]!;
    x += (c & 0x7f) * s;
    if (c < 0x80) return [x, i + 1];
    s *= 128;
  }
  return undefined;
}

/**
 * runtime/debug.ParseBuildInfo's text: tab-separated lines `path`, `mod`, `dep`, `=>` (replaces
 * the line before), `build`. cmd/go wraps it in two 16-byte sentinels (modinfo.go).
 */
export function parseModinfo(goVersion: string, raw: string): GoBuildInfo {
  let text = raw;
  if (text.length >= 33 && text[text.length - 17] === '\n') text = text.slice(16, -16);
  const info: GoBuildInfo = { goVersion, deps: [] };
  let last: GoModule | undefined;
  for (const line of text.split('\n')) {
    const f = line.split('\t');
    switch (f[0]) {
      case 'path':
        if (f[1]) info.path = f[1];
        break;
      case 'mod':
      case 'dep': {
        if (!f[1]) break;
        last = { path: f[1], version: f[2] ?? '' };
        if (f[0] === 'mod') info.main = last;
        else info.deps.push(last);
        break;
      }
      case '=>':
        if (last && f[1]) last.replace = { path: f[1], version: f[2] ?? '' };
        break;
      default:
        break;
    }
  }
  return info;
}

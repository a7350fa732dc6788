import { ByteReader } from './byte-reader.js';
import { LayerStop } from './layer-decoder.js';

/**
 * A streaming tar reader (POSIX ustar + pax, GNU long names), written here rather than taken
 * from a library so that every size an archive declares is bounded before anything is buffered:
 * pax and long-name headers up to `maxHeaderBytes`, runs of metadata headers, entry bodies
 * streamed in the chunks they arrive in and skipped when nobody reads them.
 */
export type TarEntryType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'other';

export interface TarEntry {
  /** The name as the archive spells it (pax `path` or GNU long name applied); not yet cleaned. */
  name: string;
  type: TarEntryType;
  size: number;
  mode: number;
  linkname: string;
  /** The entry's bytes, streamed; whatever is not read is skipped before the next entry. */
  body(): AsyncGenerator<Buffer>;
}

export interface TarReadOptions {
  maxHeaderBytes: number;
}

const BLOCK = 512;
// a pax or long-name header must be followed by the entry it describes; a long run of them is
// an archive that costs work without yielding entries
const MAX_META_RUN = 16;

/**
 * Yields entries until the end-of-archive block; `stats.endMarker` tells whether it was seen,
 * `stats.endedBetweenEntries` that the stream ended at an entry boundary without one (umoci
 * writes layers so; GNU tar, Go and Python read them without a word).
 */
export async function* readTar(
  chunks: AsyncIterable<Buffer>,
  opts: TarReadOptions,
  stats: { endMarker: boolean; endedBetweenEntries?: boolean },
): AsyncGenerator<TarEntry> {
  const r = new ByteReader(chunks);
  try {
    let pax: Record<string, string> = {};
    let longName: string | undefined;
    let longLink: string | undefined;
    let metaRun = 0;
    for (;;) {
      const h = await r.read(BLOCK);
      if (h.length === 0) {
        // a pending pax or GNU long-name header wanted an entry after it: that is a cut
        if (metaRun > 0) throw truncated('tar archive ends after a metadata header');
        stats.endedBetweenEntries = true;
        return;
      }
      if (h.length < BLOCK) throw truncated('tar header cut short');
      if (isZeroBlock(h)) {
        stats.endMarker = true;
        return;
      }
      if (!checksumOk(h)) {
        throw new LayerStop({ code: 'malformed', message: 'tar header checksum mismatch: not a tar archive or corrupt' });
      }
      const size = parseNumber(h, 124, 12);
      if (size === undefined) throw new LayerStop({ code: 'malformed', message: 'tar header with an invalid size' });
      const typeflag = String.fromCharCode(h[156]!);
      const padded = Math.ceil(size / BLOCK) * BLOCK;
      if (typeflag === 'x' || typeflag === 'g' || typeflag === 'L' || typeflag === 'K') {
        if (++metaRun > MAX_META_RUN) throw new LayerStop({ code: 'malformed', message: 'tar archive with a run of metadata headers and no entry' });
        if (size > opts.maxHeaderBytes) {
          throw new LayerStop({ code: 'limit', message: `tar ${typeflag} header of ${size} bytes exceeds ${opts.maxHeaderBytes}` });
        }
        const data = await r.read(padded);
        if (data.length < padded) throw truncated('tar metadata header cut short');
        const body = data.subarray(0, size);
        // pax global headers ('g') set defaults that no layer writer relies on for names: ignored
        if (typeflag === 'x') pax = { ...pax, ...parsePax(body) };
        else if (typeflag === 'L') longName = cString(body);
        else if (typeflag === 'K') longLink = cString(body);
        continue;
      }
      metaRun = 0;
      let name = cString(h.subarray(0, 100));
      // POSIX ustar only: GNU tar ("ustar  \0") keeps other fields where ustar has the prefix
      if (h.toString('latin1', 257, 263) === 'ustar\0') {
        const prefix = cString(h.subarray(345, 500));
        if (prefix) name = `${prefix}/${name}`;
      }
      name = pax['path'] ?? longName ?? name;
      const linkname = pax['linkpath'] ?? longLink ?? cString(h.subarray(157, 257));
      let realSize = size;
      if (pax['size'] !== undefined) {
        const s = Number(pax['size']);
        if (!Number.isSafeInteger(s) || s < 0) throw new LayerStop({ code: 'malformed', message: 'pax size is not a number' });
        realSize = s;
      }
      pax = {};
      longName = undefined;
      longLink = undefined;
      const type = entryType(typeflag);
      // only regular files carry data that counts; the size of a link or directory is skipped as is
      const dataSize = type === 'file' || type === 'other' ? realSize : size;
      let consumed = 0;
      let short = false;
      const entry: TarEntry = {
        name,
        type,
        size: type === 'file' ? realSize : 0,
        mode: parseNumber(h, 100, 8) ?? 0,
        linkname,
        async *body() {
          if (type !== 'file') return;
          for await (const c of r.chunks(dataSize - consumed)) {
            consumed += c.length;
            yield c;
          }
          if (consumed < dataSize) short = true;
        },
      };
      yield entry;
      if (short) throw truncated(`tar entry ${name.slice(0, 200)} cut short`);
      const rest = Math.ceil(dataSize / BLOCK) * BLOCK - consumed;
      if ((await r.skip(rest)) < rest) throw truncated(`tar entry ${name.slice(0, 200)} cut short`);
    }
  } finally {
    await r.close();
  }
}

function truncated(message: string): LayerStop {
  return new LayerStop({ code: 'truncated', message });
}

function entryType(t: string): TarEntryType {
  switch (t) {
    case '0':
    case '\0':
    case '7':
      return 'file';
    case '1':
      return 'hardlink';
    case '2':
      return 'symlink';
    case '5':
      return 'directory';
    default:
      return 'other';
  }
}

function isZeroBlock(b: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (b[i] !== 0) return false;
  return true;
}

// POSIX: the checksum is the sum of the header bytes with the checksum field read as spaces;
// some old writers summed signed bytes, so both are accepted
function checksumOk(h: Buffer): boolean {
  const want = parseNumber(h, 148, 8);
  if (want === undefined) return false;
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : h[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return want === unsigned || want === signed;
}

/** Octal, NUL/space terminated; or GNU base-256 when the high bit of the first byte is set. */
function parseNumber(h: Buffer, off: number, len: number): number | undefined {
  const first = h[off]!;
  if (first & 0x80) {
    if (first === 0xff) return undefined; // negative
    let v = first & 0x7f;
    for (let i = 1; i < len; i++) {
      v = v * 256 + h[off + i]!;
      if (v > Number.MAX_SAFE_INTEGER) return undefined;
    }
    return v;
  }
  const s = h.toString('latin1', off, off + len).replace(/[\0 ]+$/, '').trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) return undefined;
  const v = parseInt(s, 8);
  return Number.isSafeInteger(v) ? v : undefined;
}

function cString(b: Buffer): string {
  const z = b.indexOf(0);
  return b.toString('utf8', 0, z < 0 ? b.length : z);
}

/** pax extended header records: "<len> <key>=<value>\n" (POSIX.1-2001 pax format). */
function parsePax(b: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < b.length) {
    const sp = b.indexOf(0x20, i);
    if (sp < 0) break;
    const len = Number(b.toString('latin1', i, sp));
    if (!Number.isSafeInteger(len) || len <= sp - i || i + len > b.length) break;
    const rec = b.toString('utf8', sp + 1, i + len - 1);
    const eq = rec.indexOf('=');
    if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1);
    i += len;
  }
  return out;
}

import { spawnSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';

/** Builds tar archives byte by byte, so that tests can write what no honest tar tool would. */
export interface FixtureEntry {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'hardlink';
  body?: Buffer | string;
  mode?: number;
  linkname?: string;
  /** Overrides the size field (to lie about the body). */
  size?: number;
}

const TYPEFLAG = { file: '0', directory: '5', symlink: '2', hardlink: '1' } as const;

function octal(n: number, len: number): string {
  return n.toString(8).padStart(len - 1, '0') + '\0';
}

function header(name: string, size: number, typeflag: string, mode: number, linkname = ''): Buffer {
  const h = Buffer.alloc(512);
  h.write(name.slice(0, 100), 0, 'utf8');
  h.write(octal(mode, 8), 100, 'latin1');
  h.write(octal(0, 8), 108, 'latin1');
  h.write(octal(0, 8), 116, 'latin1');
  h.write(octal(size, 12), 124, 'latin1');
  h.write(octal(0, 12), 136, 'latin1');
  h.write('        ', 148, 'latin1');
  h.write(typeflag, 156, 'latin1');
  h.write(linkname.slice(0, 100), 157, 'utf8');
  h.write('ustar\0', 257, 'latin1');
  h.write('00', 263, 'latin1');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(octal(sum, 7) + ' ', 148, 'latin1');
  return h;
}

function pad(n: number): Buffer {
  return Buffer.alloc((512 - (n % 512)) % 512);
}

/** One entry: a pax header first when the name does not fit the 100-byte field. */
export function tarEntry(e: FixtureEntry): Buffer {
  const body = e.body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(e.body) ? e.body : Buffer.from(e.body);
  const type = e.type ?? 'file';
  const parts: Buffer[] = [];
  if (Buffer.byteLength(e.name) > 100) {
    const rec = ` path=${e.name}\n`;
    const n = Buffer.byteLength(rec);
    let len = n + String(n).length;
    if (String(len).length !== String(n).length) len = n + String(len).length;
    const pax = Buffer.from(`${len}${rec}`);
    parts.push(header('PaxHeader', pax.length, 'x', 0o644), pax, pad(pax.length));
  }
  const size = e.size ?? (type === 'file' ? body.length : 0);
  parts.push(header(e.name, size, TYPEFLAG[type], e.mode ?? (type === 'directory' ? 0o755 : 0o644), e.linkname));
  if (type === 'file') parts.push(body, pad(body.length));
  return Buffer.concat(parts);
}

export const TAR_END = Buffer.alloc(1024);

export function tarOf(entries: FixtureEntry[]): Buffer {
  return Buffer.concat([...entries.map(tarEntry), TAR_END]);
}

export function gzip(b: Buffer): Buffer {
  return gzipSync(b);
}

/** Compresses with Debian's zstd command-line tool. */
export function zstd(b: Buffer, args: string[] = ['-3']): Buffer {
  const r = spawnSync('zstd', [...args, '-c', '-q'], { input: b, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`zstd failed: ${r.stderr.toString()}`);
  return r.stdout;
}

/** The bytes as a stream of fixed-size chunks, as a storage driver would deliver them. */
export async function* chunked(b: Buffer, size = 64 * 1024): AsyncGenerator<Buffer> {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

export const DIGEST = 'sha256:' + '0'.repeat(64);

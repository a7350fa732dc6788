import { createReadStream } from 'node:fs';
import { open, readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import type { FeedItem, FeedSpec, VulnFeedReader } from '../../ports/vulndb-repo.js';
import { MalformedRecord, normalizeOsv } from './osv-record.js';
import { ZipFile } from './zip-file.js';

/** One OSV record file; osv.dev's largest are well under 1 MB. */
const MAX_RECORD_BYTES = 16 * 1024 * 1024;
/** A JSON file read whole: a KEV catalog, an array of OSV records. */
const MAX_JSON_BYTES = 256 * 1024 * 1024;
const CVE_RE = /^CVE-\d{4}-\d{4,}$/;

const reasonOf = (e: unknown): string => (e instanceof MalformedRecord || e instanceof SyntaxError || e instanceof RangeError ? e.message : e instanceof Error ? e.message : String(e));

async function isDir(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function firstBytes(path: string, n: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const b = Buffer.alloc(n);
    const { bytesRead } = await fh.read(b, 0, n, 0);
    return b.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

const head = async (path: string, n: number): Promise<string> => (await firstBytes(path, n)).toString('latin1');

async function* jsonFiles(root: string): AsyncGenerator<string> {
  const entries = (await readdir(root, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const p = join(root, e.name);
    if (e.isDirectory()) yield* jsonFiles(p);
    else if (e.isFile() && e.name.endsWith('.json')) yield p;
  }
}

function osvItem(raw: unknown, where: string): FeedItem {
  try {
    return { type: 'advisory', record: normalizeOsv(raw) };
  } catch (e) {
    return { type: 'skipped', where, reason: reasonOf(e) };
  }
}

/** The file and folder formats of docs/vulndb.md. */
export class FileFeedReader implements VulnFeedReader {
  async detect(path: string): Promise<FeedSpec[]> {
    let st;
    try {
      st = await stat(path);
    } catch {
      throw new Error(`${path}: no such file or folder`);
    }
    if (st.isDirectory()) {
      const specs: FeedSpec[] = [];
      const subdirs = (await readdir(path, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
      for (const eco of subdirs) {
        const zip = join(path, eco, 'all.zip');
        if (await exists(zip)) specs.push({ source: `osv:${eco}`, kind: 'osv', path: zip, format: 'zip' });
      }
      if (specs.length) return specs;
      for await (const _ of jsonFiles(path)) return [{ source: `osv:${basename(path)}`, kind: 'osv', path, format: 'dir' }];
      throw new Error(`${path}: neither <Ecosystem>/all.zip folders nor OSV .json records`);
    }
    const name = basename(path);
    if (name.endsWith('.zip')) {
      const source = name === 'all.zip' ? basename(dirname(path)) : name.slice(0, -4);
      return [{ source: `osv:${source}`, kind: 'osv', path, format: 'zip' }];
    }
    if (/\.csv(\.gz)?$/.test(name)) return [{ source: 'epss', kind: 'epss', path }];
    if (name.endsWith('.json')) {
      const start = await head(path, 4096);
      if (start.includes('"catalogVersion"') || (start.includes('"vulnerabilities"') && start.includes('"cveID"'))) return [{ source: 'kev', kind: 'kev', path }];
      return [{ source: `osv:${name.slice(0, -5)}`, kind: 'osv', path, format: 'json' }];
    }
    throw new Error(`${path}: not a known feed (.zip, .json, .csv, .csv.gz or a folder)`);
  }

  read(spec: FeedSpec, signal?: AbortSignal): AsyncIterable<FeedItem> {
    if (spec.kind === 'kev') return this.readKev(spec.path);
    if (spec.kind === 'epss') return this.readEpss(spec.path, signal);
    return this.readOsv(spec.path, spec.format, signal);
  }

  private async *readOsv(path: string, format: FeedSpec['format'], signal?: AbortSignal): AsyncGenerator<FeedItem> {
    if (format === 'dir' || (format === undefined && (await isDir(path)))) {
      for await (const file of jsonFiles(path)) {
        signal?.throwIfAborted();
        yield* this.osvFile(file, relative(path, file));
      }
      return;
    }
    if (format === 'zip' || (format === undefined && ((await head(path, 4)) === 'PK\x03\x04' || path.endsWith('.zip')))) {
      const zip = await ZipFile.open(path);
      try {
        for (const e of zip.entries) {
          if (e.name.endsWith('/') || !e.name.endsWith('.json')) continue;
          signal?.throwIfAborted();
          let raw: unknown;
          try {
            raw = JSON.parse((await zip.read(e, MAX_RECORD_BYTES)).toString('utf8'));
          } catch (err) {
            yield { type: 'skipped', where: e.name, reason: reasonOf(err) };
            continue;
          }
          yield osvItem(raw, e.name);
        }
      } finally {
        await zip.close();
      }
      return;
    }
    yield* this.osvFile(path, basename(path));
  }

  /** One .json file: one record, or a list of records. */
  private async *osvFile(file: string, where: string): AsyncGenerator<FeedItem> {
    let raw: unknown;
    try {
      const st = await stat(file);
      if (st.size > MAX_JSON_BYTES) throw new RangeError(`file of ${st.size} bytes is too large`);
      raw = JSON.parse(await readFile(file, 'utf8'));
    } catch (err) {
      yield { type: 'skipped', where, reason: reasonOf(err) };
      return;
    }
    if (Array.isArray(raw)) {
      for (let i = 0; i < raw.length; i++) yield osvItem(raw[i], `${where}[${i}]`);
    } else yield osvItem(raw, where);
  }

  private async *readKev(path: string): AsyncGenerator<FeedItem> {
    const st = await stat(path);
    if (st.size > MAX_JSON_BYTES) throw new Error(`${path}: KEV catalog of ${st.size} bytes is too large`);
    let doc: unknown;
    try {
      doc = JSON.parse(await readFile(path, 'utf8'));
    } catch (e) {
      throw new Error(`${path}: not a KEV catalog (${reasonOf(e)})`, { cause: e });
    }
    const list = typeof doc === 'object' && doc !== null ? (doc as { vulnerabilities?: unknown }).vulnerabilities : undefined;
    if (!Array.isArray(list)) throw new Error(`${path}: not a KEV catalog (no vulnerabilities list)`);
    for (let i = 0; i < list.length; i++) {
      const v = list[i] as { cveID?: unknown } | null;
      const cve = typeof v === 'object' && v !== null ? v.cveID : undefined;
      if (typeof cve === 'string' && CVE_RE.test(cve.trim())) yield { type: 'kev', cve: cve.trim() };
      else yield { type: 'skipped', where: `vulnerabilities[${i}]`, reason: 'no valid cveID' };
    }
  }

  /** FIRST's EPSS csv: an optional `#model_version:…` line, the header, then `cve,epss,percentile`. */
  private async *readEpss(path: string, signal?: AbortSignal): AsyncGenerator<FeedItem> {
    const magic = await firstBytes(path, 2);
    const file = createReadStream(path);
    const input = magic[0] === 0x1f && magic[1] === 0x8b ? file.pipe(createGunzip()) : file;
    file.on('error', (e) => input.destroy(e));
    const lines = createInterface({ input, crlfDelay: Infinity });
    let n = 0;
    let header = false;
    try {
      for await (const line of lines) {
        n++;
        if (n % 10_000 === 0) signal?.throwIfAborted();
        const l = line.trim();
        if (!l || l.startsWith('#')) continue;
        if (!header && /^cve\s*,/i.test(l)) {
          header = true;
          continue;
        }
        const [cve, score, pct] = l.split(',');
        const s = Number(score);
        const p = Number(pct);
        if (cve && CVE_RE.test(cve) && score && pct && s >= 0 && s <= 1 && p >= 0 && p <= 1) yield { type: 'epss', row: { cve, score: s, percentile: p } };
        else yield { type: 'skipped', where: `line ${n}`, reason: 'not cve,epss,percentile' };
      }
    } catch (e) {
      throw new Error(`${path}: EPSS file unreadable at line ${n} (${reasonOf(e)})`, { cause: e });
    } finally {
      lines.close();
      input.destroy();
    }
  }
}

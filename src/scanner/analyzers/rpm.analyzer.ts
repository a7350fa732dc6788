import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Analyzer, AnalyzerContext } from './analyzer.js';
import { BdbError, readBdbHashValues } from './bdb-hash.js';
import { RPMTAG, parseRpmHeader } from './rpm-header.js';

// rpm >= 4.16 keeps its database in SQLite; Fedora >= 36 moved it under /usr/lib/sysimage
const SQLITE = ['var/lib/rpm/rpmdb.sqlite', 'usr/lib/sysimage/rpm/rpmdb.sqlite'];
const WAL = SQLITE.map((p) => `${p}-wal`);
// the older format: a Berkeley DB hash (`Packages`: RHEL <= 8, CentOS 7/8, Amazon Linux 2)
const BDB = ['var/lib/rpm/Packages', 'usr/lib/sysimage/rpm/Packages'];
// rpm's own NDB (`Packages.db`, SUSE): not read yet
const OTHER = new Map([
  ['var/lib/rpm/Packages.db', 'NDB rpmdb (SUSE)'],
  ['usr/lib/sysimage/rpm/Packages.db', 'NDB rpmdb (SUSE)'],
]);

export function rpmAnalyzer(): Analyzer {
  const dbs = new Map<string, Buffer>();
  const wals = new Map<string, Buffer>();
  return {
    name: 'rpm',
    wants: (e) => (SQLITE.includes(e.path) || WAL.includes(e.path) || BDB.includes(e.path) || OTHER.has(e.path) ? 'buffer' : false),
    analyze(path, data, ctx) {
      const other = OTHER.get(path);
      if (other) {
        ctx.warn({ code: 'unsupported', message: `rpm: ${other} is not read: the SQLite (rpm >= 4.16) and Berkeley DB rpmdbs are`, path });
      } else if (BDB.includes(path)) {
        readBdbRpmdb(path, data, ctx);
      } else if (path.endsWith('-wal')) {
        if (data.length > 0) wals.set(path.slice(0, -4), data);
      } else {
        dbs.set(path, data);
      }
    },
    // the write-ahead log, when the layer has one, comes after the database in the tar stream
    finish(ctx) {
      for (const [path, db] of dbs) {
        try {
          readRpmdb(path, db, wals.get(path), ctx);
        } catch (e) {
          ctx.warn({ code: 'malformed', message: `rpm: ${(e as Error).message}`.slice(0, 300), path });
        }
      }
    },
  };
}

function readRpmdb(path: string, image: Buffer, wal: Buffer | undefined, ctx: AnalyzerContext): void {
  let scratch: string | undefined;
  let db: Database.Database | undefined;
  try {
    if (wal) {
      // SQLite applies a WAL only to a database file on disk: a private scratch copy (both files
      // within maxFileBytes), removed below
      scratch = mkdtempSync(join(tmpdir(), 'berth-rpmdb-'));
      writeFileSync(join(scratch, 'rpmdb.sqlite'), image, { mode: 0o600 });
      writeFileSync(join(scratch, 'rpmdb.sqlite-wal'), wal, { mode: 0o600 });
      db = new Database(join(scratch, 'rpmdb.sqlite'), { fileMustExist: true });
    } else {
      // sqlite file format §1.3: bytes 18-19 = 2 mark WAL mode, which an in-memory image cannot
      // use; 1 (rollback journal) reads the same pages
      if (image.length >= 20 && image[18] === 2 && image[19] === 2) {
        image[18] = 1;
        image[19] = 1;
      }
      db = new Database(image);
    }
    db.pragma('trusted_schema = OFF');
    const t = db.prepare("SELECT type FROM sqlite_master WHERE name = 'Packages'").get() as { type: string } | undefined;
    // a view could run any query; only rpm's own table is read
    if (t?.type !== 'table') throw new Error('no Packages table');
    addHeaders(path, db.prepare('SELECT blob FROM Packages').pluck().iterate() as Iterable<unknown>, ctx);
  } finally {
    db?.close();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * rpm's Berkeley DB `Packages`: a hash keyed by the header number (4 bytes), each value one
 * header blob; key 0 holds rpm's next free number, not a package.
 */
function readBdbRpmdb(path: string, data: Buffer, ctx: AnalyzerContext): void {
  let read;
  try {
    read = readBdbHashValues(data, { maxValueBytes: 64 * 1024 * 1024, maxValues: 1_000_000 });
  } catch (e) {
    if (!(e instanceof BdbError)) throw e;
    ctx.warn({ code: 'malformed', message: `rpm: ${e.message}`.slice(0, 300), path });
    return;
  }
  // (zero reads the same in either byte order)
  const headers = read.values.filter(({ key }) => !(key.length === 4 && key.readUInt32LE(0) === 0)).map(({ value }) => value);
  addHeaders(path, headers, ctx, read.skipped);
}

/** Each header blob as a package, with the files it owns; unreadable ones are counted once. */
function addHeaders(path: string, blobs: Iterable<unknown>, ctx: AnalyzerContext, alreadyBad = 0): void {
  let bad = alreadyBad;
  const owned: string[] = [];
  for (const blob of blobs) {
    if (!(blob instanceof Uint8Array)) {
      bad++;
      continue;
    }
    try {
      const h = parseRpmHeader(blob);
      const name = h.string(RPMTAG.NAME);
      const version = h.string(RPMTAG.VERSION);
      const release = h.string(RPMTAG.RELEASE);
      if (!name || !version) {
        bad++;
        continue;
      }
      // gpg-pubkey entries are imported signing keys, not software
      if (name === 'gpg-pubkey') continue;
      const epoch = h.int32s(RPMTAG.EPOCH)[0];
      const arch = h.string(RPMTAG.ARCH);
      const srpm = h.string(RPMTAG.SOURCERPM);
      const full = release ? `${version}-${release}` : version;
      ctx.addPackage({
        type: 'rpm',
        name,
        version: full,
        path,
        ...(arch ? { arch } : {}),
        ...(epoch ? { epoch } : {}),
        ...(srpm ? { source: sourceOf(srpm) } : {}),
      });
      const dirs = h.strings(RPMTAG.DIRNAMES);
      const idx = h.int32s(RPMTAG.DIRINDEXES);
      h.strings(RPMTAG.BASENAMES).forEach((base, i) => {
        const d = dirs[idx[i] ?? -1];
        if (d !== undefined) owned.push(d + base);
      });
    } catch {
      bad++;
    }
  }
  ctx.addOwned(path, owned);
  if (bad > 0) ctx.warn({ code: 'malformed', message: `rpm: ${bad} unreadable header(s) skipped`, path });
}

/** `openssl-3.0.7-27.el9.src.rpm` -> openssl, 3.0.7-27.el9 (name-version-release.src.rpm). */
function sourceOf(srpm: string): { name: string; version?: string } {
  const m = /^(.+)-([^-]+)-([^-]+)\.(?:no)?src\.rpm$/.exec(srpm);
  return m ? { name: m[1]!, version: `${m[2]}-${m[3]}` } : { name: srpm };
}

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTar } from './tar-reader.js';

let dir: string;
const LONG = `${'deep/'.repeat(30)}node_modules/@scope/a-package-with-a-long-name/package.json`;
const SHORT = 'etc/os-release';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'berth-tar-'));
  for (const p of [LONG, SHORT]) {
    mkdirSync(join(dir, p, '..'), { recursive: true });
    writeFileSync(join(dir, p), `content of ${p}\n`);
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function* once(b: Buffer): AsyncGenerator<Buffer> {
  // odd-sized chunks: headers and bodies straddle chunk boundaries
  for (let i = 0; i < b.length; i += 777) yield b.subarray(i, i + 777);
}

describe('tar reader', () => {
  // GNU tar's three formats name a long path three ways: GNU 'L' records, pax 'path', ustar prefix
  it.each(['gnu', 'posix', 'ustar'])('reads what GNU tar --format=%s wrote', async (format) => {
    const paths = format === 'ustar' ? [SHORT, LONG.slice(LONG.indexOf('node_modules'))] : [SHORT, LONG];
    if (format === 'ustar') {
      const p = paths[1]!;
      mkdirSync(join(dir, p, '..'), { recursive: true });
      writeFileSync(join(dir, p), `content of ${p}\n`);
    }
    const r = spawnSync('tar', ['-C', dir, `--format=${format}`, '-cf', '-', ...paths], { maxBuffer: 1 << 26 });
    expect(r.status).toBe(0);
    const stats = { endMarker: false };
    const got: Array<[string, string]> = [];
    for await (const e of readTar(once(r.stdout), { maxHeaderBytes: 1 << 20 }, stats)) {
      const parts: Buffer[] = [];
      for await (const c of e.body()) parts.push(Buffer.from(c));
      got.push([e.name, Buffer.concat(parts).toString()]);
    }
    expect(got).toEqual(paths.map((p) => [p, `content of ${p}\n`]));
    expect(stats.endMarker).toBe(true);
  });
});

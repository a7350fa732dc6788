import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { scanLayer } from '../../src/scanner/layer-reader.js';
import { TAR_END, tarEntry } from './tar-fixtures.js';

const MiB = 1024 * 1024;

/**
 * A tar of `total` bytes of incompressible content streamed out as it is made: one big ELF
 * executable (the Go analyzer streams it), many 1 MiB files, a dpkg status at the end.
 */
async function* bigLayer(total: number, peak: { rss: number }): AsyncGenerator<Buffer> {
  const block = randomBytes(MiB);
  const elf = Buffer.from(block);
  elf.write('\x7fELF', 0, 'latin1');
  const file = function* (name: string, size: number, first: Buffer, mode = 0o644): Generator<Buffer> {
    yield tarEntry({ name, body: '', size, mode }).subarray(0, 512);
    for (let left = size, i = 0; left > 0; left -= MiB, i++) yield (i === 0 ? first : block).subarray(0, Math.min(MiB, left));
    yield Buffer.alloc((512 - (size % 512)) % 512);
  };
  const big = Math.floor((total * 0.6) / MiB) * MiB;
  yield* file('usr/local/bin/huge', big, elf, 0o755);
  for (let i = 0; i < (total - big) / MiB - 1; i++) {
    yield* file(`usr/share/data/${i}.bin`, MiB, block);
    peak.rss = Math.max(peak.rss, process.memoryUsage().rss);
  }
  yield tarEntry({ name: 'var/lib/dpkg/status', body: 'Package: tail\nStatus: install ok installed\nVersion: 1\n\n' });
  yield TAR_END;
}

/** Pipes a generator through a compressor CLI, yielding its output. */
async function* through(cmd: string, args: string[], src: AsyncIterable<Buffer>, peak: { rss: number }): AsyncGenerator<Buffer> {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const feed = (async () => {
    for await (const c of src) {
      if (!child.stdin.write(c)) await new Promise((r) => child.stdin.once('drain', r));
    }
    child.stdin.end();
  })();
  for await (const c of child.stdout as AsyncIterable<Buffer>) {
    peak.rss = Math.max(peak.rss, process.memoryUsage().rss);
    yield c;
  }
  await feed;
}

describe('memory while scanning a large layer', () => {
  for (const [name, cmd, args, size] of [
    ['zstd', 'zstd', ['-1', '-c', '-q'], 512 * MiB],
    // gzip -1 of random data is slow here (~10 MB/s of CPU when the machine is shared): a smaller one
    ['gzip', 'gzip', ['-1', '-c'], 128 * MiB],
  ] as const) {
    it(`streams a ${size / MiB} MiB ${name} layer with bounded memory`, async () => {
      const base = process.memoryUsage().rss;
      const peak = { rss: base };
      const inv = await scanLayer(through(cmd, [...args], bigLayer(size, peak), peak), { layerDigest: 'sha256:' + 'e'.repeat(64) });
      expect(inv.warnings).toEqual([]);
      expect(inv.bytesRead).toBeGreaterThan(size * 0.95);
      expect(inv.packages.map((p) => p.name)).toEqual(['tail']);
      console.log(`${name}: ${inv.bytesRead} bytes read, RSS grew by ${((peak.rss - base) / MiB).toFixed(1)} MiB`);
      // nothing near the layer's size is held: the growth stays under a quarter of it
      expect(peak.rss - base).toBeLessThan(Math.min(size / 4, 128 * MiB));
    }, 300_000);
  }
});

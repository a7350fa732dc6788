import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeLayer } from './layer-decoder.js';
import { scanLimits } from './scan-limits.js';

const zstd = (b: Buffer, ...args: string[]): Buffer => spawnSync('zstd', ['-c', '-q', ...args], { input: b, maxBuffer: 1 << 28 }).stdout;

async function decode(b: Buffer): Promise<Buffer> {
  const d = await decodeLayer((async function* () {
    for (let i = 0; i < b.length; i += 1000) yield b.subarray(i, i + 1000);
  })(), scanLimits());
  const out: Buffer[] = [];
  for await (const c of d.chunks) out.push(Buffer.from(c));
  return Buffer.concat(out);
}

describe('layer decoder', () => {
  it('decodes concatenated zstd frames with a skippable frame between them, with checksums', async () => {
    const a = Buffer.concat([randomBytes(100_000), Buffer.alloc(300_000, 1)]);
    const b = randomBytes(50_000);
    // RFC 8878 §3.1.2: magic 0x184D2A5?, 4-byte length, user data
    const skippable = Buffer.from([0x53, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 9, 9, 9]);
    const stream = Buffer.concat([zstd(a, '--check'), skippable, zstd(b, '-19', '--no-check')]);
    expect((await decode(stream)).equals(Buffer.concat([a, b]))).toBe(true);
  });

  it('passes uncompressed data through unchanged, even shorter than a magic number', async () => {
    expect((await decode(Buffer.from('ab'))).toString()).toBe('ab');
    expect((await decode(Buffer.alloc(0))).length).toBe(0);
  });
});

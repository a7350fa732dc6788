import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { scanLayer } from '../../src/scanner/layer-reader.js';
import type { LayerInventory } from '../../src/domain/sbom.js';
import { chunked, DIGEST, gzip, TAR_END, tarEntry, tarOf, zstd } from './tar-fixtures.js';

const MiB = 1024 * 1024;
const codes = (inv: LayerInventory): string[] => inv.warnings.map((w) => w.code);
const statusOf = (...names: string[]): string => names.map((n) => `Package: ${n}\nStatus: install ok installed\nVersion: 1.0-1\n\n`).join('');

/** A tar stream of one file of `size` zero bytes, produced lazily. */
async function* zeroFileTar(size: number): AsyncGenerator<Buffer> {
  const head = tarEntry({ name: 'zeros', body: '' , size });
  yield head.subarray(0, 512);
  const block = Buffer.alloc(MiB);
  for (let left = size; left > 0; left -= MiB) yield left >= MiB ? block : block.subarray(0, left);
  yield Buffer.alloc((512 - (size % 512)) % 512);
  yield TAR_END;
}

function gzipStream(src: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
  return Readable.from(src).pipe(createGzip({ level: 1 }));
}

describe('hostile layers', () => {
  it('stops a gzip bomb at the ratio limit', async () => {
    const inv = await scanLayer(gzipStream(zeroFileTar(256 * MiB)), { layerDigest: DIGEST, limits: { ratioGraceBytes: 8 * MiB } });
    expect(codes(inv)).toEqual(['decompression-ratio']);
    expect(inv.complete).toBe(false);
    expect(inv.bytesRead).toBeLessThan(16 * MiB);
  });

  it('stops at the decompressed size limit whatever the ratio', async () => {
    const inv = await scanLayer(gzipStream(zeroFileTar(64 * MiB)), { layerDigest: DIGEST, limits: { maxLayerBytes: 16 * MiB, maxCompressionRatio: 1e9 } });
    expect(codes(inv)).toEqual(['decompression-limit']);
    expect(inv.bytesRead).toBeLessThanOrEqual(16 * MiB + MiB);
  });

  it('stops a zstd bomb (256 MiB of zeros) at the ratio limit', async () => {
    const parts: Buffer[] = [];
    for await (const c of zeroFileTar(256 * MiB)) parts.push(Buffer.from(c));
    const tar = Buffer.concat(parts);
    const z = zstd(tar, ['-3']);
    expect(tar.length / z.length).toBeGreaterThan(1000);
    const inv = await scanLayer(chunked(z), { layerDigest: DIGEST, limits: { ratioGraceBytes: 8 * MiB } });
    expect(codes(inv)).toEqual(['decompression-ratio']);
    expect(inv.bytesRead).toBeLessThan(64 * MiB);
  });

  it('refuses a zstd frame whose window the decoder would allocate up front', async () => {
    // magic, frame header descriptor 0 (no single segment), window descriptor 0xf8: 2^41 bytes
    const frame = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0xf8, 0x01, 0x00, 0x00]);
    const inv = await scanLayer(chunked(frame), { layerDigest: DIGEST });
    expect(inv.compression).toBe('zstd');
    expect(codes(inv)).toEqual(['decompression-limit']);
  });

  it('never interprets names that climb out of the root, and reads absolute names as relative', async () => {
    const before = readdirSync(tmpdir()).filter((f) => f.startsWith('berth-')).sort();
    const inv = await scanLayer(chunked(tarOf([
      { name: '../../var/lib/dpkg/status', body: statusOf('evil') },
      { name: 'a/../../var/lib/dpkg/status', body: statusOf('evil2') },
      // the root entry itself, as umoci writes it: no warning
      { name: '/', type: 'directory' },
      { name: '/var/lib/dpkg/status', body: statusOf('abs') },
      // links are not followed: neither a symlink nor a hardlink makes /etc/passwd a status file
      { name: 'var/lib/dpkg/status.d/base', type: 'symlink', linkname: '/etc/passwd' },
      { name: 'usr/lib/os-release', type: 'symlink', linkname: '../../../../etc/os-release' },
      { name: 'var/lib/dpkg/status.d/other', type: 'hardlink', linkname: '../../../../etc/passwd' },
    ])), { layerDigest: DIGEST });
    expect(inv.packages.map((p) => `${p.name} ${p.path}`)).toEqual(['abs var/lib/dpkg/status']);
    expect(inv.warnings.map((w) => `${w.code} ${w.message}`)).toEqual([
      'unsafe-path entry skipped: path climbs out of the layer root',
      'unsafe-path entry skipped: path climbs out of the layer root',
      'unsafe-path absolute entry name read relative to the layer root',
    ]);
    expect(inv.distro).toBeUndefined();
    expect(readdirSync(tmpdir()).filter((f) => f.startsWith('berth-')).sort()).toEqual(before);
  });

  it('bounds the work on a layer of a million tiny files with the entry limit', async () => {
    // one empty file's header, a thousand times per chunk, a thousand chunks
    const batch = Buffer.concat(Array.from({ length: 1000 }, () => tarEntry({ name: 'usr/share/f', body: '' })));
    let chunks = 0;
    async function* tiny(): AsyncGenerator<Buffer> {
      for (; chunks < 1000; chunks++) yield batch;
      yield TAR_END;
    }
    const inv = await scanLayer(tiny(), { layerDigest: DIGEST, limits: { maxEntries: 100_000 } });
    expect(codes(inv)).toEqual(['entry-limit']);
    expect(inv.entries).toBe(100_000);
    // the scan stopped reading: the rest of the million was never produced
    expect(chunks).toBeLessThan(110);
  });

  it('keeps what came before a cut in gzip, zstd and tar streams, and says the layer is cut', async () => {
    const tar = tarOf([
      { name: 'var/lib/dpkg/status', body: statusOf('first') },
      { name: 'big.bin', body: Buffer.alloc(256 * 1024, 7) },
      { name: 'app/node_modules/x/package.json', body: '{"name":"x","version":"1.0.0"}' },
    ]);
    const gz = gzip(tar);
    const cutGzip = await scanLayer(chunked(gz.subarray(0, gz.length - 20)), { layerDigest: DIGEST });
    expect(codes(cutGzip)).toEqual(['truncated']);
    const cutTar = await scanLayer(chunked(tar.subarray(0, 700 + 100 * 1024)), { layerDigest: DIGEST });
    expect(codes(cutTar)).toEqual(['truncated']);
    expect(cutTar.packages.map((p) => p.name)).toEqual(['first']);
    const z = zstd(tar);
    const cutZstd = await scanLayer(chunked(z.subarray(0, Math.floor(z.length / 2))), { layerDigest: DIGEST });
    expect(codes(cutZstd)).toEqual(['truncated']);
    for (const inv of [cutGzip, cutTar, cutZstd]) expect(inv.complete).toBe(false);
  });

  it('reads a tar without end-of-archive blocks (as umoci writes layers) as whole, but not one cut after a pax header', async () => {
    const entries = [
      { name: 'var/lib/dpkg/status', body: statusOf('first') },
      { name: 'app/node_modules/x/package.json', body: '{"name":"x","version":"1.0.0"}' },
    ];
    const whole = tarOf(entries);
    // tarOf ends with the two zero blocks: without them the stream stops at an entry boundary
    const bare = whole.subarray(0, whole.length - 1024);
    expect(bare.subarray(bare.length - 512).some((b) => b !== 0)).toBe(true);
    for (const layer of [bare, gzip(bare)]) {
      const inv = await scanLayer(chunked(layer), { layerDigest: DIGEST });
      expect(codes(inv)).toEqual([]);
      expect(inv.complete).toBe(true);
      expect(inv.packages.map((p) => p.name).sort()).toEqual(['first', 'x']);
    }
    // a pax header announces an entry that never comes
    const pax = Buffer.from(whole.subarray(0, 512));
    pax.write('x', 156, 'latin1');
    pax.write('00000000000', 124, 'latin1');
    pax.write('        ', 148, 'latin1');
    let sum = 0;
    for (const b of pax) sum += b;
    pax.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    const cut = await scanLayer(chunked(Buffer.concat([bare, pax])), { layerDigest: DIGEST });
    expect(codes(cut)).toEqual(['truncated']);
  });

  it('degrades on garbage instead of a tar, corrupt gzip, and an absurd pax header', async () => {
    const notTar = await scanLayer(chunked(Buffer.alloc(4096, 0x41)), { layerDigest: DIGEST });
    expect(codes(notTar)).toEqual(['malformed']);
    const gz = gzip(tarOf([{ name: 'a', body: 'x'.repeat(10000) }]));
    gz.fill(0xff, 20, 40);
    expect(codes(await scanLayer(chunked(gz), { layerDigest: DIGEST }))).toEqual(['corrupt-stream']);
    // a pax header that claims 1 GiB: refused before any of it is buffered
    const pax = tarEntry({ name: 'PaxHeader', body: '', size: 1024 * MiB });
    pax[156] = 'x'.charCodeAt(0);
    let sum = 0;
    pax.fill(0x20, 148, 156);
    for (let i = 0; i < 512; i++) sum += pax[i]!;
    pax.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
    const inv = await scanLayer(chunked(Buffer.concat([pax.subarray(0, 512), Buffer.alloc(8192)])), { layerDigest: DIGEST });
    expect(codes(inv)).toEqual(['limit']);
  });

  it('skips package files over the size limit without reading them whole', async () => {
    const huge = statusOf('a').padEnd(4 * MiB, '#');
    const inv = await scanLayer(chunked(tarOf([
      { name: 'var/lib/dpkg/status', body: huge },
      { name: 'app/node_modules/x/package.json', body: '{"name":"x","version":"1.0.0"}' },
    ])), { layerDigest: DIGEST, limits: { maxFileBytes: 1 * MiB } });
    expect(inv.warnings.map((w) => `${w.code} ${w.path}`)).toEqual(['file-too-large var/lib/dpkg/status']);
    expect(inv.packages.map((p) => p.name)).toEqual(['x']);
  });

  it('reads what it can of malformed package databases and says what it skipped', async () => {
    const rand = Buffer.alloc(64 * 1024);
    for (let i = 0; i < rand.length; i++) rand[i] = (i * 2654435761) >>> 24;
    const inv = await scanLayer(chunked(tarOf([
      { name: 'var/lib/dpkg/status', body: 'Package: ok\nStatus: install ok installed\nVersion: 1\n\nPackage: \nVersion:\n\n' + rand.toString('latin1') },
      { name: 'etc/os-release', body: rand },
      { name: 'lib/apk/db/installed', body: rand },
      { name: 'app/node_modules/bad/package.json', body: '{"name": "bad", "version": ' },
      { name: 'app/node_modules/evil/package.json', body: '{"name": "../../etc", "version": "1.0.0"}' },
      { name: 'app/package-lock.json', body: '[1,2,3]' },
      { name: 'x/Cargo.lock', body: rand },
      { name: 'py/x-1.0.dist-info/METADATA', body: rand },
      { name: 'gems/specifications/x-1.gemspec', body: rand },
      { name: 'bin/fake-elf', body: Buffer.concat([Buffer.from('\x7fELF', 'latin1'), rand]), mode: 0o755 },
    ])), { layerDigest: DIGEST });
    expect(inv.complete).toBe(true);
    expect(inv.packages.map((p) => `${p.type}:${p.name}`)).toEqual(['deb:ok']);
    expect(inv.distro).toBeUndefined();
    expect(new Set(codes(inv))).toEqual(new Set(['malformed']));
    expect(inv.warnings.map((w) => w.path).sort()).toEqual([
      'app/node_modules/bad/package.json', 'app/node_modules/evil/package.json', 'app/package-lock.json',
      'gems/specifications/x-1.gemspec', 'lib/apk/db/installed', 'py/x-1.0.dist-info/METADATA', 'var/lib/dpkg/status', 'x/Cargo.lock',
    ]);
  });

  it('lets a failure of the byte source itself propagate', async () => {
    async function* failing(): AsyncGenerator<Buffer> {
      yield tarEntry({ name: 'a', body: 'x' });
      throw new Error('storage went away');
    }
    await expect(scanLayer(failing(), { layerDigest: DIGEST })).rejects.toThrow('storage went away');
    async function* failingGz(): AsyncGenerator<Buffer> {
      yield gzip(tarOf([{ name: 'a', body: 'x'.repeat(100000) }])).subarray(0, 100);
      throw new Error('storage went away');
    }
    await expect(scanLayer(failingGz(), { layerDigest: DIGEST })).rejects.toThrow('storage went away');
  });
});

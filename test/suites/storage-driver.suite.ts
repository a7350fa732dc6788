import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PathNotFoundError, type StorageDriver } from '../../src/ports/storage-driver.js';

const KiB = 1024;
const MiB = 1024 * KiB;

export interface DriverUnderTest {
  driver: StorageDriver;
  cleanup(): Promise<void>;
}

/**
 * The one conformance suite of the StorageDriver port (src/ports/storage-driver.ts): every driver
 * runs exactly these tests. Sizes straddle S3's 5 MiB minimum part size on purpose. A driver's
 * writer parts should be smaller than 13 MiB so that the big writes below span several parts.
 */
export function describeStorageDriver(name: string, make: () => Promise<DriverUnderTest>): void {
  describe(`storage driver: ${name}`, () => {
    let d: StorageDriver;
    let cleanup: () => Promise<void>;
    let root: string;
    const p = (...parts: string[]) => [root, ...parts].join('/');

    beforeAll(async () => {
      ({ driver: d, cleanup } = await make());
      root = `conformance-${randomUUID()}`;
    });
    afterAll(async () => {
      await d?.delete(root);
      await cleanup?.();
    });

    async function write(path: string, data: Buffer | Iterable<Buffer> | AsyncIterable<Buffer>, temporary = false): Promise<void> {
      const w = await d.writer(path, { temporary });
      try {
        await pipeline(Buffer.isBuffer(data) ? Readable.from([data]) : Readable.from(data), w.stream);
        await w.commit();
      } catch (e) {
        await w.cancel();
        throw e;
      }
    }

    async function read(path: string, opts: { offset?: number; length?: number; signal?: AbortSignal } = {}): Promise<Buffer> {
      const chunks: Buffer[] = [];
      for await (const c of await d.reader(path, opts)) chunks.push(c as Buffer);
      return Buffer.concat(chunks);
    }

    describe('stat', () => {
      it('is undefined for a missing path', async () => {
        expect(await d.stat(p('missing', 'file'))).toBeUndefined();
      });

      it('gives the size of a file and marks a prefix with children as a directory', async () => {
        await d.putContent(p('stat', 'dir', 'f'), Buffer.from('12345'));
        const f = await d.stat(p('stat', 'dir', 'f'));
        expect(f).toMatchObject({ path: p('stat', 'dir', 'f'), size: 5, isDirectory: false });
        expect(Math.abs(f!.modifiedAt.getTime() - Date.now())).toBeLessThan(10 * 60_000);
        expect(await d.stat(p('stat', 'dir'))).toMatchObject({ isDirectory: true });
      });
    });

    describe('writer', () => {
      for (const size of [10, 13 * MiB]) {
        it(`shows nothing at the path before commit, then the whole file (${size} bytes)`, async () => {
          const path = p('writer', `visible-${size}`);
          const data = randomBytes(size);
          const w = await d.writer(path);
          await pipeline(Readable.from([data.subarray(0, size >> 1), data.subarray(size >> 1)]), w.stream);
          expect(w.size).toBe(size);
          expect(await d.stat(path)).toBeUndefined();
          expect(await d.list(p('writer'))).not.toContain(path);
          await expect(d.reader(path)).rejects.toBeInstanceOf(PathNotFoundError);
          await w.commit();
          expect((await d.stat(path))?.size).toBe(size);
          expect((await d.getContent(path)).equals(data)).toBe(true);
        });
      }

      it('refuses to commit before the stream finished', async () => {
        const path = p('writer', 'unfinished');
        const w = await d.writer(path);
        w.stream.write(Buffer.from('partial'));
        await expect(w.commit()).rejects.toThrow();
        await w.cancel();
        expect(await d.stat(path)).toBeUndefined();
      });

      for (const size of [10, 13 * MiB]) {
        it(`leaves nothing after cancel (${size} bytes), even over an existing file`, async () => {
          const path = p('writer', `cancelled-${size}`);
          await d.putContent(path, Buffer.from('old'));
          const w = await d.writer(path, { temporary: true });
          await pipeline(Readable.from([randomBytes(size)]), w.stream);
          await w.cancel();
          await w.cancel();
          expect((await d.getContent(path)).toString()).toBe('old');
          const fresh = p('writer', `cancelled-fresh-${size}`);
          const w2 = await d.writer(fresh);
          await pipeline(Readable.from([randomBytes(size)]), w2.stream);
          await w2.cancel();
          expect(await d.stat(fresh)).toBeUndefined();
          expect(await d.list(p('writer'))).not.toContain(fresh);
        });
      }

      it('stops when its signal aborts and leaves nothing', async () => {
        const path = p('writer', 'aborted');
        const ac = new AbortController();
        const w = await d.writer(path, { signal: ac.signal });
        async function* body() {
          for (let i = 0; ; i++) {
            if (i === 8) ac.abort();
            yield randomBytes(MiB);
          }
        }
        await expect(pipeline(Readable.from(body()), w.stream)).rejects.toThrow();
        await w.cancel();
        expect(await d.stat(path)).toBeUndefined();
      });

      it('streams 64 MiB and reads back the same sha256', async () => {
        const path = p('writer', 'big');
        const wrote = createHash('sha256');
        async function* body() {
          for (let i = 0; i < 64; i++) {
            const c = randomBytes(MiB);
            wrote.update(c);
            yield c;
          }
        }
        await write(path, body());
        expect((await d.stat(path))?.size).toBe(64 * MiB);
        const readBack = createHash('sha256');
        for await (const c of await d.reader(path)) readBack.update(c as Buffer);
        expect(readBack.digest('hex')).toBe(wrote.digest('hex'));
        await d.delete(path);
      });

      it('writes and reads 512 MiB with memory growth far below the size', async () => {
        const path = p('writer', 'huge');
        const total = 512 * MiB;
        const block = randomBytes(MiB);
        const base = process.memoryUsage().rss;
        let peak = base;
        const sample = () => {
          peak = Math.max(peak, process.memoryUsage().rss);
        };
        const wrote = createHash('sha256');
        async function* body() {
          for (let i = 0; i < total / MiB; i++) {
            // a fresh buffer per chunk, distinct content per chunk, no 512 MiB of randomness
            const c = Buffer.from(block);
            c.writeUInt32BE(i, 0);
            wrote.update(c);
            if (i % 16 === 0) sample();
            yield c;
          }
        }
        await write(path, body());
        const readBack = createHash('sha256');
        let n = 0;
        for await (const c of await d.reader(path)) {
          readBack.update(c as Buffer);
          if (n++ % 64 === 0) sample();
        }
        sample();
        expect(readBack.digest('hex')).toBe(wrote.digest('hex'));
        await d.delete(path);
        expect(peak - base).toBeLessThan(160 * MiB);
      });
    });

    describe('reader', () => {
      const data = randomBytes(6 * MiB + 123);
      const path = () => p('reader', 'file');
      beforeAll(async () => {
        await d.putContent(path(), data);
      });

      it('reads the whole file', async () => {
        expect((await read(path())).equals(data)).toBe(true);
      });

      it.each([
        [0, 1],
        [1, 10],
        [5 * MiB - 1, 2],
        [100, undefined],
        [data.length - 1, undefined],
        [data.length - 10, 10],
        [12345, 3 * MiB],
      ])('reads from offset %d for %s bytes', async (offset, length) => {
        const got = await read(path(), length === undefined ? { offset } : { offset, length });
        expect(got.equals(data.subarray(offset, length === undefined ? undefined : offset + length))).toBe(true);
      });

      it('reads nothing for length 0 and at the end of the file', async () => {
        expect((await read(path(), { offset: 10, length: 0 })).length).toBe(0);
        expect((await read(path(), { offset: data.length })).length).toBe(0);
      });

      it('throws PathNotFoundError for a missing file, with or without a range', async () => {
        await expect(d.reader(p('reader', 'missing'))).rejects.toBeInstanceOf(PathNotFoundError);
        await expect(d.reader(p('reader', 'missing'), { offset: 5, length: 5 })).rejects.toBeInstanceOf(PathNotFoundError);
        await expect(d.reader(p('reader', 'missing'), { offset: 0, length: 0 })).rejects.toBeInstanceOf(PathNotFoundError);
      });

      it('stops with an AbortError when its signal aborts mid-stream', async () => {
        const ac = new AbortController();
        const r = await d.reader(path(), { signal: ac.signal });
        let got = 0;
        const consume = (async () => {
          for await (const c of r) {
            got += (c as Buffer).length;
            if (got > 0) ac.abort();
          }
        })();
        await expect(consume).rejects.toMatchObject({ name: 'AbortError' });
        expect(got).toBeLessThan(data.length);
      });

      it('does not start with a signal already aborted', async () => {
        const ac = new AbortController();
        ac.abort();
        await expect(read(path(), { signal: ac.signal })).rejects.toMatchObject({ name: 'AbortError' });
      });
    });

    describe('getContent and putContent', () => {
      it('round-trips bytes, replaces, and handles empty content', async () => {
        const path = p('content', 'a');
        await d.putContent(path, new TextEncoder().encode('first'));
        await d.putContent(path, Buffer.from('second'));
        expect((await d.getContent(path)).toString()).toBe('second');
        await d.putContent(p('content', 'empty'), new Uint8Array(0));
        expect((await d.getContent(p('content', 'empty'))).length).toBe(0);
        expect((await d.stat(p('content', 'empty')))?.size).toBe(0);
      });

      it('throws PathNotFoundError for a missing file', async () => {
        await expect(d.getContent(p('content', 'missing'))).rejects.toBeInstanceOf(PathNotFoundError);
      });
    });

    describe('list', () => {
      it('gives the direct children, files and directories, as full paths', async () => {
        await d.putContent(p('list', 'a'), Buffer.from('a'));
        await d.putContent(p('list', 'b', 'deep', 'c'), Buffer.from('c'));
        await d.putContent(p('list', 'b', 'd'), Buffer.from('d'));
        await d.putContent(p('list-sibling', 'x'), Buffer.from('x'));
        expect((await d.list(p('list'))).sort()).toEqual([p('list', 'a'), p('list', 'b')]);
        expect((await d.list(`${p('list')}/`)).sort()).toEqual([p('list', 'a'), p('list', 'b')]);
        expect((await d.list(p('list', 'b'))).sort()).toEqual([p('list', 'b', 'd'), p('list', 'b', 'deep')]);
        expect(await d.list('')).toContain(root);
      });

      it('is empty for a missing prefix and for a file', async () => {
        expect(await d.list(p('list-missing'))).toEqual([]);
        await d.putContent(p('list-file'), Buffer.from('f'));
        expect(await d.list(p('list-file'))).toEqual([]);
      });

      it('lists more than 1000 children', async () => {
        const names = Array.from({ length: 1005 }, (_, i) => p('list-many', String(i).padStart(4, '0')));
        for (let i = 0; i < names.length; i += 50) await Promise.all(names.slice(i, i + 50).map((n) => d.putContent(n, Buffer.from(n))));
        expect((await d.list(p('list-many'))).sort()).toEqual(names);
        await d.delete(p('list-many'));
        expect(await d.list(p('list-many'))).toEqual([]);
      });
    });

    describe('move', () => {
      it('moves a file written temporary to a new path', async () => {
        const data = randomBytes(7 * MiB);
        await write(p('move', 'src'), data, true);
        await d.move(p('move', 'src'), p('move', 'x', 'y', 'dest'));
        expect(await d.stat(p('move', 'src'))).toBeUndefined();
        expect((await d.getContent(p('move', 'x', 'y', 'dest'))).equals(data)).toBe(true);
      });

      it('replaces the destination', async () => {
        await d.putContent(p('move', 'r-src'), Buffer.from('new'));
        await d.putContent(p('move', 'r-dest'), Buffer.from('old content'));
        await d.move(p('move', 'r-src'), p('move', 'r-dest'));
        expect((await d.getContent(p('move', 'r-dest'))).toString()).toBe('new');
      });

      it('throws PathNotFoundError for a missing source and leaves the destination', async () => {
        await d.putContent(p('move', 'm-dest'), Buffer.from('kept'));
        await expect(d.move(p('move', 'm-missing'), p('move', 'm-dest'))).rejects.toBeInstanceOf(PathNotFoundError);
        expect((await d.getContent(p('move', 'm-dest'))).toString()).toBe('kept');
      });
    });

    describe('concat', () => {
      async function concatCase(label: string, sizes: number[]): Promise<void> {
        const segs = sizes.map((size) => randomBytes(size));
        const paths = segs.map((_, i) => p('concat', label, 'uploads', String(i).padStart(6, '0')));
        for (const [i, s] of segs.entries()) await write(paths[i]!, s, true);
        const dest = p('concat', label, 'blob');
        await d.concat(paths, dest);
        const want = Buffer.concat(segs);
        expect((await d.stat(dest))?.size).toBe(want.length);
        const got = await read(dest);
        expect(createHash('sha256').update(got).digest('hex')).toBe(createHash('sha256').update(want).digest('hex'));
        for (const s of paths) expect(await d.stat(s)).toBeUndefined();
        expect(await d.list(p('concat', label, 'uploads'))).toEqual([]);
      }

      it('of one segment', () => concatCase('one', [3 * KiB]));
      it('of one segment larger than 5 MiB', () => concatCase('one-big', [6 * MiB + 7]));
      it('of two small segments', () => concatCase('two-small', [100, 3 * KiB]));
      it('of two segments of at least 5 MiB', () => concatCase('two-big', [5 * MiB, 6 * MiB + 1]));
      it('of a small segment before a big one', () => concatCase('small-big', [1 * MiB, 9 * MiB]));
      it('of a small segment before a big one that is just too small to split', () => concatCase('small-bigish', [1 * MiB, 6 * MiB, 1 * MiB]));
      it('of many segments, small and big, with an empty one', () =>
        concatCase('many', [1 * MiB, 6 * MiB + 3, 0, 3 * MiB, 3 * MiB, 7 * MiB, 100, 5 * MiB, 2 * MiB + 5, 4 * MiB, 1]));
      it('of many small segments adding up to several parts', () => concatCase('many-small', Array.from({ length: 12 }, (_, i) => 3 * MiB + i)));
      it('of an empty and a small segment', () => concatCase('empty-small', [0, 10]));
      it('of empty segments only', () => concatCase('empties', [0, 0]));

      it('replaces the destination', async () => {
        await d.putContent(p('concat', 'r', 'a'), Buffer.from('new '));
        await d.putContent(p('concat', 'r', 'b'), Buffer.from('bytes'));
        await d.putContent(p('concat', 'r', 'dest'), Buffer.from('old'));
        await d.concat([p('concat', 'r', 'a'), p('concat', 'r', 'b')], p('concat', 'r', 'dest'));
        expect((await d.getContent(p('concat', 'r', 'dest'))).toString()).toBe('new bytes');
      });

      it('throws PathNotFoundError for a missing source and writes nothing', async () => {
        await d.putContent(p('concat', 'm', 'a'), Buffer.from('a'));
        await expect(d.concat([p('concat', 'm', 'a'), p('concat', 'm', 'missing')], p('concat', 'm', 'dest'))).rejects.toBeInstanceOf(
          PathNotFoundError,
        );
        expect(await d.stat(p('concat', 'm', 'dest'))).toBeUndefined();
      });

      it('rejects with an aborted signal and keeps its sources', async () => {
        const paths = [p('concat', 'ab', 'a'), p('concat', 'ab', 'b')];
        for (const s of paths) await d.putContent(s, randomBytes(KiB));
        const ac = new AbortController();
        ac.abort();
        await expect(d.concat(paths, p('concat', 'ab', 'dest'), ac.signal)).rejects.toThrow();
        for (const s of paths) expect((await d.stat(s))?.size).toBe(KiB);
        expect(await d.stat(p('concat', 'ab', 'dest'))).toBeUndefined();
      });
    });

    describe('delete', () => {
      it('deletes a file', async () => {
        await d.putContent(p('delete', 'f'), Buffer.from('f'));
        await d.putContent(p('delete', 'f2'), Buffer.from('kept'));
        await d.delete(p('delete', 'f'));
        expect(await d.stat(p('delete', 'f'))).toBeUndefined();
        expect((await d.getContent(p('delete', 'f2'))).toString()).toBe('kept');
      });

      it('deletes everything under a prefix, and nothing beside it', async () => {
        await d.putContent(p('delete', 'dir', 'a'), Buffer.from('a'));
        await d.putContent(p('delete', 'dir', 'sub', 'b'), Buffer.from('b'));
        await d.putContent(p('delete', 'dir-sibling'), Buffer.from('s'));
        await d.delete(p('delete', 'dir'));
        expect(await d.stat(p('delete', 'dir'))).toBeUndefined();
        expect(await d.stat(p('delete', 'dir', 'sub', 'b'))).toBeUndefined();
        expect(await d.list(p('delete', 'dir'))).toEqual([]);
        expect((await d.getContent(p('delete', 'dir-sibling'))).toString()).toBe('s');
      });

      it('is fine when nothing is there', async () => {
        await expect(d.delete(p('delete', 'never-was'))).resolves.toBeUndefined();
        await expect(d.delete(p('delete', 'never', 'was', 'dir'))).resolves.toBeUndefined();
      });
    });

    describe('sweepTemporary', () => {
      it('removes what a writer that never committed or cancelled left behind', async (ctx) => {
        if (!d.sweepTemporary) ctx.skip();
        const w = await d.writer(p('sweep', 'abandoned'), { temporary: true });
        await pipeline(Readable.from([randomBytes(13 * MiB)]), w.stream);
        await new Promise((r) => setTimeout(r, 20));
        expect(await d.sweepTemporary!(0)).toBeGreaterThanOrEqual(1);
        await expect(w.commit()).rejects.toThrow();
        expect(await d.stat(p('sweep', 'abandoned'))).toBeUndefined();
      });

      it('keeps what is younger than the given age', async (ctx) => {
        if (!d.sweepTemporary) ctx.skip();
        const path = p('sweep', 'young');
        const w = await d.writer(path, { temporary: true });
        await pipeline(Readable.from([randomBytes(13 * MiB)]), w.stream);
        await d.sweepTemporary!(60 * 60_000);
        await w.commit();
        expect((await d.stat(path))?.size).toBe(13 * MiB);
      });
    });

    describe('redirectUrl', () => {
      it('gives a URL that a plain fetch can GET the bytes from', async (ctx) => {
        if (!d.redirectUrl) ctx.skip();
        const data = randomBytes(2 * MiB + 1);
        await d.putContent(p('redirect', 'blob'), data);
        const url = await d.redirectUrl!(p('redirect', 'blob'), { expiresInSeconds: 300 });
        expect(url).toBeDefined();
        const res = await fetch(url!);
        expect(res.status).toBe(200);
        expect(Buffer.from(await res.arrayBuffer()).equals(data)).toBe(true);
        const ranged = await fetch(url!, { headers: { range: 'bytes=10-19' } });
        expect(ranged.status).toBe(206);
        expect(Buffer.from(await ranged.arrayBuffer()).equals(data.subarray(10, 20))).toBe(true);
      });
    });
  });
}

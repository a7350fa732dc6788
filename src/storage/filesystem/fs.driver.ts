import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, open, readdir, readFile, rename, rm, stat, statfs, type FileHandle } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { Readable, Writable } from 'node:stream';
import {
  type FileInfo,
  type FileWriter,
  PathNotFoundError,
  type ReadOptions,
  type StorageDriver,
  type WriterOptions,
} from '../../ports/storage-driver.js';

export interface FilesystemOptions {
  root: string;
  /** fsync files and directories on commit (on by default; off only for throwaway data) */
  fsync?: boolean;
}

const TMP = '_tmp';

/**
 * Files under one root. Writes go to `_tmp/` on the same file system and become visible by
 * rename after fsync, so a crash leaves either the old state or the complete new file.
 */
export class FilesystemDriver implements StorageDriver {
  readonly name = 'filesystem';
  private readonly root: string;
  private readonly fsync: boolean;
  /** directories known to exist: spares a mkdir per write on the hot paths */
  private readonly dirs = new Set<string>();
  private readonly dirHandles = new Map<string, Promise<FileHandle>>();

  constructor(opts: FilesystemOptions) {
    this.root = resolve(opts.root);
    this.fsync = opts.fsync ?? true;
  }

  private full(path: string): string {
    const p = resolve(this.root, path.replace(/^\/+/, ''));
    // paths are made by Berth, but a driver still never leaves its root
    if (p !== this.root && !p.startsWith(this.root + sep)) throw new Error(`path escapes the storage root: ${path}`);
    return p;
  }

  private async ensureDir(dir: string): Promise<void> {
    if (this.dirs.has(dir)) return;
    // the folder may be new (made again after a delete): a handle kept for the old one is stale
    this.dropDirHandle(dir);
    await mkdir(dir, { recursive: true });
    if (this.dirs.size >= 10_000) this.dirs.clear();
    this.dirs.add(dir);
  }

  /**
   * fsync of a directory through a handle kept open: blob folders are a fixed set (256 per
   * algorithm), so the open and close of each sync are spared.
   */
  private async syncDir(dir: string): Promise<void> {
    let h = this.dirHandles.get(dir);
    if (!h) {
      if (this.dirHandles.size >= 1024) this.closeDirHandles();
      h = open(dir, 'r');
      this.dirHandles.set(dir, h);
      h.catch(() => this.dirHandles.delete(dir));
    }
    await (await h).sync();
  }

  private dropDirHandle(dir: string): void {
    const h = this.dirHandles.get(dir);
    this.dirHandles.delete(dir);
    h?.then((fh) => fh.close()).catch(() => undefined);
  }

  private closeDirHandles(): void {
    for (const h of this.dirHandles.values()) h.then((fh) => fh.close()).catch(() => undefined);
    this.dirHandles.clear();
  }

  async close(): Promise<void> {
    this.closeDirHandles();
  }

  async capacity(): Promise<{ total: number; free: number }> {
    const st = await statfs(this.root);
    // bavail, not bfree: the blocks an unprivileged writer may still use
    return { total: st.blocks * st.bsize, free: st.bavail * st.bsize };
  }

  /** rename into `dest`'s directory; a directory removed since it was cached is made again */
  private async renameInto(src: string, dest: string): Promise<void> {
    const dir = dirname(dest);
    await this.ensureDir(dir);
    try {
      await rename(src, dest);
    } catch (e) {
      if (!isNotFound(e) || !this.dirs.has(dir)) throw e;
      this.dirs.delete(dir);

      await this.ensureDir(dir);
      await rename(src, dest);
    }
  }

  async stat(path: string): Promise<FileInfo | undefined> {
    try {
      const s = await stat(this.full(path));
      return { path, size: s.size, modifiedAt: s.mtime, isDirectory: s.isDirectory() };
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  async reader(path: string, opts: ReadOptions = {}): Promise<Readable> {
    const file = this.full(path);
    let fh: FileHandle;
    try {
      fh = await open(file, 'r');
    } catch (e) {
      if (isNotFound(e)) throw new PathNotFoundError(path);
      throw e;
    }
    const start = opts.offset ?? 0;
    const end = opts.length === undefined ? undefined : start + opts.length - 1;
    if (opts.length === 0) {
      await fh.close();
      return Readable.from([]);
    }
    return fh.createReadStream({ start, ...(end !== undefined ? { end } : {}), highWaterMark: 1024 * 1024, ...(opts.signal ? { signal: opts.signal } : {}) });
  }

  async writer(path: string, opts: WriterOptions = {}): Promise<FileWriter> {
    const dest = this.full(path);
    const tmpDir = this.full(TMP);
    await this.ensureDir(tmpDir);
    const tmp = join(tmpDir, randomUUID());
    const fh = await this.openTemp(tmp);
    let size = 0;
    let closed = false;
    const close = async () => {
      if (!closed) {
        closed = true;
        await fh.close();
      }
    };
    const stream = new Writable({
      highWaterMark: 1024 * 1024,
      writev(chunks, cb) {
        const bufs = chunks.map((c) => c.chunk as Buffer);
        fh.writev(bufs).then((r) => {
          size += r.bytesWritten;
          cb();
        }, cb);
      },
    });
    const fsync = this.fsync && !opts.temporary;
    const renameInto = (a: string, b: string) => this.renameInto(a, b);
    const syncDirOf = (d: string) => this.syncDir(d);
    if (opts.signal) {
      opts.signal.addEventListener('abort', () => stream.destroy(opts.signal?.reason as Error), { once: true });
    }
    return {
      stream,
      get size() {
        return size;
      },
      async commit() {
        if (!stream.writableFinished) throw new Error('commit before the stream finished');
        if (fsync) await fh.sync();
        await close();
        await renameInto(tmp, dest);
        if (fsync) await syncDirOf(dirname(dest));
      },
      async cancel() {
        stream.destroy();
        await close().catch(() => undefined);
        await rm(tmp, { force: true });
      },
    };
  }

  async getContent(path: string): Promise<Buffer> {
    try {
      return await readFile(this.full(path));
    } catch (e) {
      if (isNotFound(e)) throw new PathNotFoundError(path);
      throw e;
    }
  }

  /** Small files (manifests): one write, without the stream machinery of `writer`. */
  async putContent(path: string, content: Uint8Array, _signal?: AbortSignal, opts: { durable?: boolean } = {}): Promise<void> {
    const fsync = this.fsync && opts.durable !== false;
    const dest = this.full(path);
    const tmpDir = this.full(TMP);
    await this.ensureDir(tmpDir);
    const tmp = join(tmpDir, randomUUID());
    const fh = await this.openTemp(tmp);
    try {
      await fh.writeFile(content);
      if (fsync) await fh.sync();
    } catch (e) {
      await fh.close().catch(() => undefined);
      await rm(tmp, { force: true });
      throw e;
    }
    await fh.close();
    try {
      await this.renameInto(tmp, dest);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
    if (fsync) await this.syncDir(dirname(dest));
  }

  /** a new file; its folder is made again if something removed it meanwhile */
  private async openTemp(tmp: string): Promise<FileHandle> {
    try {
      return await open(tmp, 'wx');
    } catch (e) {
      if (!isNotFound(e)) throw e;
      this.dirs.delete(dirname(tmp));
      await this.ensureDir(dirname(tmp));
      return open(tmp, 'wx');
    }
  }

  async list(path: string): Promise<string[]> {
    try {
      const names = await readdir(this.full(path));
      const prefix = path.replace(/\/+$/, '');
      return names.filter((n) => !(prefix === '' && n === TMP)).map((n) => (prefix ? `${prefix}/${n}` : n));
    } catch (e) {
      if (isNotFound(e) || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
      throw e;
    }
  }

  async move(from: string, to: string): Promise<void> {
    const src = this.full(from);
    const dest = this.full(to);
    try {
      // the source may have been written `temporary`: make its bytes durable before its name
      if (this.fsync) await syncFile(src);
      await this.renameInto(src, dest);
    } catch (e) {
      if (isNotFound(e)) throw new PathNotFoundError(from);
      throw e;
    }
    if (this.fsync) await this.syncDir(dirname(dest));
  }

  async concat(sources: readonly string[], to: string, signal?: AbortSignal): Promise<void> {
    if (sources.length === 1) return this.move(sources[0]!, to);
    const w = await this.writer(to);
    try {
      for (const s of sources) {
        // not pipeline(..., { end: false }): each call would leave its listeners on w.stream
        for await (const chunk of await this.reader(s, signal ? { signal } : {})) {
          if (!w.stream.write(chunk)) await once(w.stream, 'drain', signal ? { signal } : {});
        }
      }
      await new Promise<void>((res, rej) => w.stream.end((err?: Error | null) => (err ? rej(err) : res())));
      await w.commit();
    } catch (e) {
      await w.cancel();
      throw e;
    }
    await Promise.all(sources.map((s) => this.delete(s)));
  }

  async delete(path: string): Promise<void> {
    await rm(this.full(path), { recursive: true, force: true });
  }

  async sweepTemporary(olderThanMs: number): Promise<number> {
    const dir = this.full(TMP);
    let removed = 0;
    const cutoff = Date.now() - olderThanMs;
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const s = await stat(join(dir, name)).catch(() => undefined);
      if (s && s.mtimeMs < cutoff) {
        await rm(join(dir, name), { force: true });
        removed++;
      }
    }
    return removed;
  }
}

async function syncFile(file: string): Promise<void> {
  const fh = await open(file, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function isNotFound(e: unknown): boolean {
  return (e as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

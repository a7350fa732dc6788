import { randomUUID, type Hash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type Digest, type DigestAlgorithm, isDigestAlgorithm, newHash, parseDigest } from '../domain/digest.js';
import {
  blobUploadInvalid,
  blobUploadUnknown,
  digestAlgorithmUnsupported,
  digestInvalid,
  payloadTooLarge,
  rangeNotSatisfiable,
  sizeInvalid,
} from '../domain/errors.js';
import type { BlobRecord, Repository, UploadSegment, UploadSession } from '../domain/records.js';
import type { RepoName } from '../domain/repo-name.js';
import type { Clock } from '../ports/clock.js';
import type { Metadata } from '../ports/metadata.js';
import { PathNotFoundError, type StorageDriver } from '../ports/storage-driver.js';
import type { RepositoryResolver } from './repositories.js';
import { blobPath, UPLOADS_ROOT, uploadDir } from './storage-paths.js';
import { TtlCache } from './ttl-cache.js';

export interface UploadConfig {
  sessionTtlMs: number;
  /** largest blob accepted; 0 for no limit */
  maxBlobBytes: number;
}

export type StartResult =
  | { kind: 'blob'; blob: BlobRecord; mounted: boolean }
  | { kind: 'session'; session: UploadSession };

export interface StartOptions {
  /** monolithic upload: the digest the body must have */
  digest?: string;
  /** `?digest-algorithm=`: the algorithm the final digest will use, so it is hashed as it streams */
  digestAlgorithm?: string;
  body?: Readable;
  contentLength?: number;
  /** cross-repository mount */
  mount?: string;
  from?: RepoName;
  /** whether the caller may pull from a repository (mount sources) */
  canPull: (name: string) => Promise<boolean>;
}

export interface ByteRange {
  start: number;
  end: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Blob uploads: POST, PATCH, PUT, GET status and DELETE of the dist-spec, plus mounts. Each
 * PATCH body becomes one storage segment, hashed while it streams; the PUT verifies the digest
 * and only then moves the bytes to their content address and records the blob, so a crash at
 * any moment leaves at most an unreferenced upload that the sweeper removes.
 */
export class BlobUploadService {
  /** running hash per session, valid for `size` bytes; other instances fall back to re-reading */
  private readonly hashes: TtlCache<string, { size: number; hash: Hash; algorithm: DigestAlgorithm }>;
  /** sessions with a request in flight in this process */
  private readonly busy = new Set<string>();

  constructor(
    private readonly deps: {
      metadata: Metadata;
      storage: StorageDriver;
      repositories: RepositoryResolver;
      clock: Clock;
      config: UploadConfig;
    },
  ) {
    this.hashes = new TtlCache(10_000, () => deps.clock.now());
  }

  async start(name: RepoName, opts: StartOptions): Promise<StartResult> {
    const digest = opts.digest === undefined ? undefined : parseDigest(opts.digest);
    const algorithm = digest?.algorithm ?? uploadAlgorithm(opts.digestAlgorithm);
    const repo = await this.deps.repositories.forPush(name);
    if (opts.mount !== undefined) {
      const mounted = await this.tryMount(repo, parseDigest(opts.mount), opts);
      if (mounted) return { kind: 'blob', blob: mounted, mounted: true };
    }
    const session = await this.createSession(repo, algorithm);
    if (digest === undefined) return { kind: 'session', session };
    // dist-spec: POST with ?digest= and a body is a whole upload in one request; the client
    // never saw this session, so it goes with a failure (a cut body, a wrong digest)
    return this.withSession(session.id, async () => {
      try {
        const s = opts.body ? await this.appendBody(session, opts.body, opts.contentLength) : session;
        return { kind: 'blob' as const, blob: await this.finalize(repo, s, digest), mounted: false };
      } catch (e) {
        await this.discard(session);
        throw e;
      }
    });
  }

  async status(name: RepoName, uuid: string): Promise<UploadSession> {
    const repo = await this.deps.repositories.find(name);
    return this.session(repo, uuid);
  }

  /** PATCH: one chunk (with Content-Range) or a stream (without). */
  async append(name: RepoName, uuid: string, body: Readable, range?: ByteRange, contentLength?: number): Promise<UploadSession> {
    const repo = await this.deps.repositories.find(name);
    return this.withSession(uuid, async () => {
      const session = await this.session(repo, uuid);
      return this.appendBody(session, body, checkRange(session, range, contentLength));
    });
  }

  /** PUT ?digest=: the last chunk, if any, then verification and commit. */
  async complete(
    name: RepoName,
    uuid: string,
    digestParam: string | undefined,
    body: Readable | undefined,
    range?: ByteRange,
    contentLength?: number,
  ): Promise<BlobRecord> {
    if (digestParam === undefined) throw digestInvalid('the digest query parameter is required to close an upload');
    const digest = parseDigest(digestParam);
    const repo = await this.deps.repositories.find(name);
    return this.withSession(uuid, async () => {
      let session = await this.session(repo, uuid);
      if (body && (contentLength === undefined || contentLength > 0)) {
        session = await this.appendBody(session, body, checkRange(session, range, contentLength));
      }
      return this.finalize(repo, session, digest);
    });
  }

  async cancel(name: RepoName, uuid: string): Promise<void> {
    const repo = await this.deps.repositories.find(name);
    await this.withSession(uuid, async () => {
      const session = await this.session(repo, uuid);
      await this.discard(session);
    });
  }

  /** Removes expired sessions, and upload folders no session refers to (a crash mid-create). */
  async sweep(): Promise<number> {
    const now = this.deps.clock.now();
    let removed = 0;
    for (;;) {
      const expired = await this.deps.metadata.uploads.listExpired(now, 100);
      for (const s of expired) {
        if (this.busy.has(s.id)) continue;
        await this.discard(s);
        removed++;
      }
      if (expired.length < 100) break;
    }
    for (const dir of await this.deps.storage.list(UPLOADS_ROOT)) {
      const uuid = dir.slice(UPLOADS_ROOT.length + 1);
      if (this.busy.has(uuid) || (await this.deps.metadata.uploads.get(uuid))) continue;
      const info = await this.deps.storage.stat(dir);
      if (info && now - info.modifiedAt.getTime() > this.deps.config.sessionTtlMs) {
        await this.deps.storage.delete(dir);
        removed++;
      }
    }
    await this.deps.storage.sweepTemporary?.(this.deps.config.sessionTtlMs);
    return removed;
  }

  private async tryMount(repo: Repository, digest: Digest, opts: StartOptions): Promise<BlobRecord | undefined> {
    const existing = await this.deps.metadata.blobs.getInRepository(repo.id, digest.value);
    if (existing) return existing;
    const candidates = opts.from ? [opts.from.value] : await this.deps.metadata.blobs.repositoriesHolding(digest.value, 50);
    for (const source of candidates) {
      if (source === repo.name || !(await opts.canPull(source))) continue;
      const sourceRepo = await this.deps.metadata.repositories.getByName(source);
      if (!sourceRepo) continue;
      const blob = await this.deps.metadata.blobs.getInRepository(sourceRepo.id, digest.value);
      if (!blob) continue;
      await this.deps.metadata.blobs.link(repo.id, digest.value, this.deps.clock.now());
      return blob;
    }
    // dist-spec: when the mount cannot be done the registry falls back to a normal upload
    return undefined;
  }

  private async createSession(repo: Repository, algorithm: DigestAlgorithm): Promise<UploadSession> {
    const now = this.deps.clock.now();
    const session = await this.deps.metadata.uploads.create({
      id: randomUUID(),
      repositoryId: repo.id,
      now,
      expiresAt: now + this.deps.config.sessionTtlMs,
    });
    this.hashes.set(session.id, { size: 0, hash: newHash(algorithm), algorithm }, this.deps.config.sessionTtlMs);
    return session;
  }

  private async session(repo: Repository, uuid: string): Promise<UploadSession> {
    if (!UUID.test(uuid)) throw blobUploadUnknown(uuid.slice(0, 100));
    const s = await this.deps.metadata.uploads.get(uuid);
    if (!s || s.repositoryId !== repo.id) throw blobUploadUnknown(uuid);
    if (s.expiresAt <= this.deps.clock.now()) throw blobUploadUnknown(uuid);
    return s;
  }

  private async withSession<T>(uuid: string, fn: () => Promise<T>): Promise<T> {
    if (this.busy.has(uuid)) {
      throw rangeNotSatisfiable('another request is writing to this upload', { uuid });
    }
    this.busy.add(uuid);
    try {
      return await fn();
    } finally {
      this.busy.delete(uuid);
    }
  }

  /** Streams a body into a new segment; the session grows only if every byte arrived. */
  private async appendBody(session: UploadSession, body: Readable, expected?: number): Promise<UploadSession> {
    const { storage, metadata, clock, config } = this.deps;
    const cached = this.hashes.get(session.id);
    const algorithm = cached?.algorithm ?? 'sha256';
    const hash = cached && cached.size === session.size ? cached.hash.copy() : session.size === 0 ? newHash(algorithm) : undefined;
    const path = `${uploadDir(session.id)}/${String(session.segments.length).padStart(6, '0')}-${randomUUID().slice(0, 8)}`;
    const writer = await storage.writer(path, { temporary: true });
    let n = 0;
    const limit = config.maxBlobBytes;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        n += chunk.length;
        if (limit > 0 && session.size + n > limit) return cb(payloadTooLarge(limit));
        if (expected !== undefined && n > expected) return cb(sizeInvalid('body is longer than Content-Length', { expected }));
        hash?.update(chunk);
        cb(null, chunk);
      },
    });
    try {
      await pipeline(body, meter, writer.stream);
      if (expected !== undefined && n !== expected) {
        throw sizeInvalid(`received ${n} bytes, Content-Length said ${expected}`, { expected, received: n });
      }
    } catch (e) {
      await writer.cancel();
      if (isClientAbort(e)) throw blobUploadInvalid('the client closed the connection before the body was complete', { received: n });
      throw e;
    }
    if (n === 0) {
      await writer.cancel();
      return session;
    }
    await writer.commit();
    const segment: UploadSegment = { path, size: n };
    const now = clock.now();
    const ok = await metadata.uploads.append(session.id, session.size, segment, now, now + config.sessionTtlMs);
    if (!ok) {
      await storage.delete(path);
      throw rangeNotSatisfiable('the upload changed while this chunk was written', { uuid: session.id });
    }
    if (hash) this.hashes.set(session.id, { size: session.size + n, hash, algorithm }, config.sessionTtlMs);
    else this.hashes.delete(session.id);
    return { ...session, size: session.size + n, segments: [...session.segments, segment], updatedAt: now };
  }

  private async finalize(repo: Repository, session: UploadSession, digest: Digest): Promise<BlobRecord> {
    const { storage, metadata, clock } = this.deps;
    const actual = await this.computeDigest(session, digest);
    if (actual !== digest.value) {
      await this.discard(session);
      throw digestInvalid(`content has digest ${actual}`, { expected: digest.value, actual });
    }
    const path = blobPath(digest);
    const existing = await storage.stat(path);
    const sources = session.segments.map((s) => s.path);
    try {
      if (existing && !existing.isDirectory && existing.size === session.size) {
        // content addressed: the bytes are already there
      } else if (sources.length === 0) {
        await storage.putContent(path, new Uint8Array(0));
      } else {
        await storage.concat(sources, path);
      }
    } catch (e) {
      if (e instanceof PathNotFoundError && !(await metadata.uploads.get(session.id))) throw blobUploadUnknown(session.id);
      throw e;
    }
    const now = clock.now();
    await metadata.transaction(async (tx) => {
      await tx.blobs.put(digest.value, session.size, now);
      await tx.blobs.link(repo.id, digest.value, now);
      await tx.uploads.delete(session.id);
    });
    this.hashes.delete(session.id);
    await storage.delete(uploadDir(session.id));
    return { digest: digest.value, size: session.size, createdAt: now };
  }

  private async computeDigest(session: UploadSession, want: Digest): Promise<string> {
    const cached = this.hashes.get(session.id);
    if (cached && cached.algorithm === want.algorithm && cached.size === session.size) {
      return `${want.algorithm}:${cached.hash.copy().digest('hex')}`;
    }
    if (session.size === 0) return `${want.algorithm}:${newHash(want.algorithm).digest('hex')}`;
    // another instance wrote the chunks, the process restarted, or the algorithm differs:
    // read the segments back
    const h = newHash(want.algorithm);
    try {
      for (const seg of session.segments) {
        const r = await this.deps.storage.reader(seg.path);
        for await (const chunk of r) h.update(chunk as Buffer);
      }
    } catch (e) {
      if (!(e instanceof PathNotFoundError)) throw e;
      return this.recoverMoved(session, want);
    }
    return `${want.algorithm}:${h.digest('hex')}`;
  }

  /**
   * Segments are gone when a crash fell between their concat/move to the content address
   * (which consumes them) and the blob's record. That leaves an unrecorded file of the
   * session's size there, and it is the upload's bytes: its hash is checked like theirs. A
   * recorded blob is no such leftover (and must not be linked on a client's say-so); any other
   * session with missing segments is lost, and the client has to start over.
   */
  private async recoverMoved(session: UploadSession, want: Digest): Promise<string> {
    const { storage, metadata } = this.deps;
    const path = blobPath(want);
    const info = await storage.stat(path);
    if (info && !info.isDirectory && info.size === session.size && !(await metadata.blobs.get(want.value))) {
      const h = newHash(want.algorithm);
      for await (const chunk of await storage.reader(path)) h.update(chunk as Buffer);
      return `${want.algorithm}:${h.digest('hex')}`;
    }
    await this.discard(session);
    throw blobUploadUnknown(session.id);
  }

  private async discard(session: UploadSession): Promise<void> {
    await this.deps.metadata.uploads.delete(session.id);
    this.hashes.delete(session.id);
    await this.deps.storage.delete(uploadDir(session.id));
  }
}

/** A request body that ended early: the socket closed (Node's `aborted`) or the stream was cut. */
function isClientAbort(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || (e as Error | undefined)?.message === 'aborted';
}

/** dist-spec `?digest-algorithm=`: a hint for a non-sha256 upload; an unsupported one is a 400. */
function uploadAlgorithm(param: string | undefined): DigestAlgorithm {
  if (param === undefined || param === '') return 'sha256';
  if (!isDigestAlgorithm(param)) throw digestAlgorithmUnsupported(param);
  return param;
}

/** dist-spec: a chunk must start where the upload ends (416 otherwise) and match its length. */
function checkRange(session: UploadSession, range: ByteRange | undefined, contentLength: number | undefined): number | undefined {
  if (!range) return contentLength;
  if (range.start !== session.size) {
    throw rangeNotSatisfiable(`chunk starts at ${range.start}, the upload has ${session.size} bytes`, {
      start: range.start,
      size: session.size,
    });
  }
  const len = range.end - range.start + 1;
  if (len < 0) throw blobUploadInvalid('Content-Range end is before its start');
  if (contentLength !== undefined && contentLength !== len) {
    throw blobUploadInvalid(`Content-Range covers ${len} bytes, Content-Length says ${contentLength}`);
  }
  return len;
}

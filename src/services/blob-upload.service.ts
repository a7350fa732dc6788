import { randomUUID, type Hash } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
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
import { blobPath, segmentPath, sessionOfSegment, UPLOADS_ROOT } from './storage-paths.js';
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

/**
 * A chunk of known length up to this size is kept in the database with its session rather than
 * as a storage file of its own (while the whole session stays under INLINE_SESSION_MAX): small
 * blobs such as image configs then cost no file creation until their final, verified write.
 */
export const INLINE_CHUNK_MAX = 256 * 1024;
export const INLINE_SESSION_MAX = 1024 * 1024;

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
    if (digest === undefined) return { kind: 'session', session: await this.createSession(repo, algorithm) };
    // dist-spec: POST with ?digest= and a body is a whole upload in one request; it needs no
    // session: the body streams to its content address and is committed there once verified
    const size = await this.writeVerified(digest, opts.body, opts.contentLength);
    return { kind: 'blob', blob: await this.record(repo, digest, size), mounted: false };
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
      const hasBody = body && (contentLength === undefined || contentLength > 0);
      if (hasBody && session.size === 0) {
        // POST then PUT with the whole body: nothing to concatenate, write it in place
        const size = await this.writeVerified(digest, body, checkRange(session, range, contentLength));
        return this.record(repo, digest, size, session);
      }
      if (hasBody) session = await this.appendBody(session, body!, checkRange(session, range, contentLength));
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
    // segments of no session: a crash between a segment's write and its record
    for (const path of await this.deps.storage.list(UPLOADS_ROOT)) {
      const uuid = sessionOfSegment(path);
      if (uuid && (this.busy.has(uuid) || (await this.deps.metadata.uploads.get(uuid)))) continue;
      const info = await this.deps.storage.stat(path);
      if (info && now - info.modifiedAt.getTime() > this.deps.config.sessionTtlMs) {
        await this.deps.storage.delete(path);
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
    if (
      expected !== undefined &&
      expected > 0 &&
      expected <= INLINE_CHUNK_MAX &&
      session.size + expected <= INLINE_SESSION_MAX &&
      session.segments.every((s) => s.inline)
    ) {
      return this.appendInline(session, body, expected, hash, algorithm);
    }
    const path = segmentPath(session.id, session.segments.length);
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

  /** A small chunk of known length: read whole (it is bounded) and kept with the session. */
  private async appendInline(
    session: UploadSession,
    body: Readable,
    expected: number,
    hash: Hash | undefined,
    algorithm: DigestAlgorithm,
  ): Promise<UploadSession> {
    const { metadata, clock, config } = this.deps;
    const limit = config.maxBlobBytes;
    const chunks: Buffer[] = [];
    let n = 0;
    try {
      for await (const c of body) {
        const chunk = c as Buffer;
        n += chunk.length;
        if (n > expected) throw sizeInvalid('body is longer than Content-Length', { expected });
        if (limit > 0 && session.size + n > limit) throw payloadTooLarge(limit);
        chunks.push(chunk);
      }
    } catch (e) {
      if (isClientAbort(e)) throw blobUploadInvalid('the client closed the connection before the body was complete', { received: n });
      throw e;
    }
    if (n !== expected) throw sizeInvalid(`received ${n} bytes, Content-Length said ${expected}`, { expected, received: n });
    const data = Buffer.concat(chunks, n);
    const now = clock.now();
    const ok = await metadata.transaction((tx) => tx.uploads.appendInline(session.id, session.size, data, now, now + config.sessionTtlMs));
    if (!ok) throw rangeNotSatisfiable('the upload changed while this chunk was written', { uuid: session.id });
    if (hash) this.hashes.set(session.id, { size: session.size + n, hash: hash.update(data), algorithm }, config.sessionTtlMs);
    else this.hashes.delete(session.id);
    const segment: UploadSegment = { path: '', size: n, inline: true };
    return { ...session, size: session.size + n, segments: [...session.segments, segment], updatedAt: now };
  }

  /** The bytes of a session's segments in order: inline ones from the database, the rest from storage. */
  private async *segmentBytes(session: UploadSession): AsyncGenerator<Buffer> {
    const inline = session.segments.some((s) => s.inline) ? await this.deps.metadata.uploads.inlineData(session.id) : new Map<number, Buffer>();
    for (const [i, seg] of session.segments.entries()) {
      if (seg.inline) {
        const data = inline.get(i);
        if (!data) throw blobUploadUnknown(session.id);
        yield data;
      } else {
        for await (const chunk of await this.deps.storage.reader(seg.path)) yield chunk as Buffer;
      }
    }
  }

  /**
   * Streams a whole blob to its content address; the writer commits (atomically, durably) only
   * once the bytes are known to have the digest, and a bad or cut body leaves nothing.
   */
  private async writeVerified(digest: Digest, body: Readable | undefined, expected: number | undefined): Promise<number> {
    const { storage, config } = this.deps;
    const hash = newHash(digest.algorithm);
    const writer = await storage.writer(blobPath(digest));
    let n = 0;
    const limit = config.maxBlobBytes;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        n += chunk.length;
        if (limit > 0 && n > limit) return cb(payloadTooLarge(limit));
        if (expected !== undefined && n > expected) return cb(sizeInvalid('body is longer than Content-Length', { expected }));
        hash.update(chunk);
        cb(null, chunk);
      },
    });
    try {
      await pipeline(body ?? Readable.from([]), meter, writer.stream);
      if (expected !== undefined && n !== expected) {
        throw sizeInvalid(`received ${n} bytes, Content-Length said ${expected}`, { expected, received: n });
      }
      const actual = `${digest.algorithm}:${hash.digest('hex')}`;
      if (actual !== digest.value) throw digestInvalid(`content has digest ${actual}`, { expected: digest.value, actual });
    } catch (e) {
      await writer.cancel();
      if (isClientAbort(e)) throw blobUploadInvalid('the client closed the connection before the body was complete', { received: n });
      throw e;
    }
    await writer.commit();
    return n;
  }

  /** The blob is in place: record it, link it, and close the session it came through. */
  private async record(repo: Repository, digest: Digest, size: number, session?: UploadSession): Promise<BlobRecord> {
    const now = this.deps.clock.now();
    await this.deps.metadata.transaction(async (tx) => {
      await tx.blobs.put(digest.value, size, now);
      await tx.blobs.link(repo.id, digest.value, now);
      if (session) await tx.uploads.delete(session.id);
    });
    if (session) {
      this.hashes.delete(session.id);
    }
    return { digest: digest.value, size, createdAt: now };
  }

  private async finalize(repo: Repository, session: UploadSession, digest: Digest): Promise<BlobRecord> {
    const { storage, metadata } = this.deps;
    const { value: actual, inPlace } = await this.computeDigest(session, digest);
    if (actual !== digest.value) {
      await this.discard(session);
      throw digestInvalid(`content has digest ${actual}`, { expected: digest.value, actual });
    }
    const path = blobPath(digest);
    if (session.segments.some((s) => s.inline) && !(await metadata.blobs.get(digest.value))) {
      // inline chunks (all, or a small first part): the bytes go to their content address in one
      // verified write; the segments are read in order, whatever holds them
      const size = await this.writeVerified(digest, Readable.from(this.segmentBytes(session)), session.size);
      const blob = await this.record(repo, digest, size, session);
      await Promise.all(session.segments.filter((seg) => !seg.inline).map((seg) => storage.delete(seg.path)));
      return blob;
    }
    const sources = session.segments.filter((s) => !s.inline).map((s) => s.path);
    try {
      if (inPlace || (await metadata.blobs.get(digest.value))) {
        // content addressed: a recorded blob's bytes are in place already
        await Promise.all(sources.map((p) => storage.delete(p)));
      } else if (sources.length === 0) {
        await storage.putContent(path, new Uint8Array(0));
      } else {
        await storage.concat(sources, path);
      }
    } catch (e) {
      if (e instanceof PathNotFoundError && !(await metadata.uploads.get(session.id))) throw blobUploadUnknown(session.id);
      throw e;
    }
    return this.record(repo, digest, session.size, session);
  }

  /** The session's digest; `inPlace` when its bytes already sit at the content address (recoverMoved). */
  private async computeDigest(session: UploadSession, want: Digest): Promise<{ value: string; inPlace: boolean }> {
    const cached = this.hashes.get(session.id);
    if (cached && cached.algorithm === want.algorithm && cached.size === session.size) {
      return { value: `${want.algorithm}:${cached.hash.copy().digest('hex')}`, inPlace: false };
    }
    if (session.size === 0) return { value: `${want.algorithm}:${newHash(want.algorithm).digest('hex')}`, inPlace: false };
    // another instance wrote the chunks, the process restarted, or the algorithm differs:
    // read the segments back
    const h = newHash(want.algorithm);
    try {
      for await (const chunk of this.segmentBytes(session)) h.update(chunk);
    } catch (e) {
      if (!(e instanceof PathNotFoundError)) throw e;
      return { value: await this.recoverMoved(session, want), inPlace: true };
    }
    return { value: `${want.algorithm}:${h.digest('hex')}`, inPlace: false };
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
    await Promise.all(session.segments.filter((seg) => !seg.inline).map((seg) => this.deps.storage.delete(seg.path)));
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
